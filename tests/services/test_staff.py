"""Staff operations (services/staff.py): connector updates with the configuration
token, mirrored again afterwards; batches that go on after a failure."""

from __future__ import annotations

import pytest

from powens_django import services
from powens_django.models import Connector, ConnectorSource, PowensUser

from ..factories import connection_payload, connector_payload
from .helpers import ALICE_TOKEN, connection, mirror, uuid

pytestmark = pytest.mark.django_db


def source(powens_id: int) -> ConnectorSource:
    return ConnectorSource.objects.select_related("connector").get(powens_id=powens_id)


def test_hiding_a_connector_mirrors_what_powens_answers(powens_api, bank):
    powens_api.add("PUT", f"connectors/{uuid(1)}", json=connector_payload(1, hidden=True))
    powens_api.add("GET", f"connectors/{uuid(1)}", json=connector_payload(1, hidden=True))

    refreshed = services.set_connector_hidden(bank, True)

    assert refreshed.hidden is True
    assert powens_api.requests[0].headers["Authorization"] == "Bearer test-config-token"
    assert powens_api.query(1) == {"expand": "fields,sources,countries"}


def test_a_refusal_changes_nothing(powens_api, bank):
    powens_api.add("PUT", f"connectors/{uuid(1)}", status=403, json={"code": "forbidden"})

    with pytest.raises(services.ServiceError):
        services.set_connector_hidden(bank, True)

    assert Connector.objects.get(powens_id=1).hidden is False


def test_a_change_powens_made_but_could_not_be_read_back_says_so(powens_api, bank):
    powens_api.add("PUT", f"connectors/{uuid(1)}", json=connector_payload(1, hidden=True))
    powens_api.add("GET", f"connectors/{uuid(1)}", status=503, json={"code": "bug"})

    with pytest.raises(services.ChangedNotMirrored) as caught:
        services.set_connector_hidden(bank, True)

    assert "refresh the catalogue" in str(caught.value.message)
    assert caught.value.powens_error is not None and caught.value.powens_error.status == 503


def test_without_the_config_token_nothing_is_sent(powens_api, bank, settings):
    settings.POWENS = {**settings.POWENS, "CONFIG_TOKEN": ""}

    with pytest.raises(services.ConfigTokenMissing) as caught:
        services.set_connector_source_enabled(source(10), False)

    assert caught.value.code == "config_token_missing"
    assert powens_api.requests == []


def test_enabling_a_source_sends_a_null_date(powens_api, bank):
    powens_api.add("PUT", f"connectors/{uuid(1)}/sources/11", json={"id": 11})
    powens_api.add("GET", f"connectors/{uuid(1)}", json=connector_payload(1))

    services.set_connector_source_enabled(source(11), True)

    assert powens_api.body(0) == {"disabled": None}


def test_a_login_method_the_source_does_not_offer_is_refused_before_sending(powens_api, bank):
    with pytest.raises(services.InvalidAuthMechanism):
        services.set_connector_source_auth_mechanism(source(10), "credentials")

    assert powens_api.requests == []
    assert source(10).auth_mechanism == "webauth"


def test_the_login_methods_offered(bank):
    row = source(10)
    row.available_auth_mechanisms = ["credentials", None, "webauth", 3, "credentials"]

    assert services.auth_mechanism_choices(row) == ["webauth", "credentials"]


def test_turning_syncs_off_goes_on_after_a_failure(powens_api, alice, bank):
    mirror(alice, connection_payload(1), connection_payload(2))
    powens_api.add("POST", "users/me/connections/1", status=503, json={"code": "bug"})
    powens_api.add("POST", "users/me/connections/2", json=connection_payload(2, active=False))

    result = services.set_connections_active([connection(1), connection(2)], False)

    assert [item.ok for item in result] == [False, True]
    assert connection(1).active is True
    assert connection(2).active is False


def test_deleting_users_at_powens_one_by_one(powens_api, alice, user_factory):
    never_linked = PowensUser.objects.create(user=user_factory("carol"))
    powens_api.add("DELETE", "users/me", status=204, token=ALICE_TOKEN)

    result = services.delete_powens_users(PowensUser.objects.select_related("user").order_by("pk"))

    assert [item.key for item in result] == [501, f"pk={never_linked.pk}"]
    assert all(item.ok for item in result)
    assert not PowensUser.objects.filter(powens_id=501).exists()
