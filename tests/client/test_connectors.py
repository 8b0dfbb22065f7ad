"""The Connectors reference page: public catalogue calls carry no credential, updates
carry the config token and never a user token."""

from __future__ import annotations

import datetime as dt

import pytest

from powens_django.client import MalformedResponseError, parse_datetime

from .wire import CONFIG_AUTH, CONNECTOR, CONNECTOR_UUID, sent, url

CONNECTOR_SOURCE = {"id": 12, "id_connector": 59, "name": "openapi", "disabled": None}

# -- the public catalogue --------------------------------------------------------------


def test_list_connectors_sends_the_filters_and_no_credential(powens, user_client):
    powens.get(url("connectors"), json={"connectors": [CONNECTOR]})

    listed = user_client.list_connectors(
        country_codes=["fr", "es"], expand=["fields", "sources"], all=True
    )

    assert listed == [CONNECTOR]
    assert sent(powens) == {
        "method": "GET",
        "url": url("connectors?country_codes=FR,ES&expand=fields,sources&all"),
        "authorization": None,
        "json": None,
    }


def test_list_connectors_without_filters_has_no_query(powens, client):
    powens.get(url("connectors"), json={"connectors": []})

    assert client.list_connectors() == []
    assert sent(powens)["url"] == url("connectors")


def test_list_connectors_upper_cases_a_single_country_and_filters_on_a_payment(powens, client):
    powens.get(url("connectors"), json={"connectors": []})

    client.list_connectors(country_codes="fr", id_payment="pay-123")

    assert sent(powens)["url"] == url("connectors?country_codes=FR&id_payment=pay-123")


def test_list_connectors_accepts_the_deprecated_banks_key(powens, client):
    powens.get(url("connectors"), json={"banks": [CONNECTOR]})

    assert client.list_connectors() == [CONNECTOR]


def test_list_connectors_answer_without_a_list_is_malformed(powens, client):
    powens.get(url("connectors"), json={"total": 0})

    with pytest.raises(MalformedResponseError):
        client.list_connectors()


def test_list_banks_uses_the_deprecated_banks_route(powens, user_client):
    powens.get(url("banks"), json={"banks": [CONNECTOR]})

    assert user_client.list_banks(country_codes=["fr"], expand="fields") == [CONNECTOR]
    assert sent(powens) == {
        "method": "GET",
        "url": url("banks?country_codes=FR&expand=fields"),
        "authorization": None,
        "json": None,
    }


def test_list_providers_uses_the_deprecated_providers_route(powens, user_client):
    powens.get(url("providers"), json={"providers": [CONNECTOR]})

    assert user_client.list_providers(country_codes="fr") == [CONNECTOR]
    assert sent(powens) == {
        "method": "GET",
        "url": url("providers?country_codes=FR"),
        "authorization": None,
        "json": None,
    }


def test_get_connector_by_uuid(powens, user_client):
    powens.get(url(f"connectors/{CONNECTOR_UUID}"), json=CONNECTOR)

    assert user_client.get_connector(CONNECTOR_UUID, expand=["fields", "sources"]) == CONNECTOR
    assert sent(powens) == {
        "method": "GET",
        "url": url(f"connectors/{CONNECTOR_UUID}?expand=fields,sources"),
        "authorization": None,
        "json": None,
    }


def test_get_connector_by_deprecated_integer_id(powens, client):
    powens.get(url("connectors/59"), json=CONNECTOR)

    client.get_connector(59)

    assert sent(powens)["url"] == url("connectors/59")


@pytest.mark.parametrize("reference", [None, "", ".", "..", "../users/me", "a/b", "a?all", "a#b"])
def test_connector_reference_that_would_leave_its_path_segment_is_refused(
    powens, client, reference
):
    with pytest.raises(ValueError, match="connector"):
        client.get_connector(reference)
    assert not powens.calls


@pytest.mark.parametrize(
    ("reference", "path"),
    [("%2e%2e", "connectors/%252e%252e"), ("a%2Fb", "connectors/a%252Fb")],
)
def test_percent_signs_in_a_connector_reference_are_sent_as_data(powens, client, reference, path):
    powens.get(url(path), json=CONNECTOR)

    client.get_connector(reference)

    assert sent(powens)["url"] == url(path)


def test_list_connector_sources_unwraps_the_sources(powens, user_client):
    powens.get(url(f"connectors/{CONNECTOR_UUID}/sources"), json={"sources": [CONNECTOR_SOURCE]})

    assert user_client.list_connector_sources(CONNECTOR_UUID, country_codes=["fr"]) == [
        CONNECTOR_SOURCE
    ]
    assert sent(powens) == {
        "method": "GET",
        "url": url(f"connectors/{CONNECTOR_UUID}/sources?country_codes=FR"),
        "authorization": None,
        "json": None,
    }


def test_get_connector_source_gets_one_source(powens, user_client):
    powens.get(url(f"connectors/{CONNECTOR_UUID}/sources/12"), json=CONNECTOR_SOURCE)

    assert user_client.get_connector_source(CONNECTOR_UUID, 12) == CONNECTOR_SOURCE
    assert sent(powens) == {
        "method": "GET",
        "url": url(f"connectors/{CONNECTOR_UUID}/sources/12"),
        "authorization": None,
        "json": None,
    }


# -- configuration (config token) ------------------------------------------------------


def test_update_connector_puts_with_the_config_token(powens, user_client):
    powens.put(url(f"connectors/{CONNECTOR_UUID}"), json={**CONNECTOR, "hidden": True})

    updated = user_client.update_connector(CONNECTOR_UUID, hidden=True)

    assert updated == {**CONNECTOR, "hidden": True}
    assert sent(powens) == {
        "method": "PUT",
        "url": url(f"connectors/{CONNECTOR_UUID}"),
        "authorization": CONFIG_AUTH,
        "json": {"hidden": True},
    }


def test_update_connector_sends_the_deprecated_sync_periodicity(powens, client):
    powens.put(url("connectors/59"), json=CONNECTOR)

    client.update_connector(59, hidden=False, sync_periodicity=2.5)

    assert sent(powens)["json"] == {"hidden": False, "sync_periodicity": 2.5}


def test_update_connector_with_nothing_to_update_is_refused(powens, client):
    with pytest.raises(ValueError, match="Nothing to update"):
        client.update_connector(CONNECTOR_UUID)
    assert not powens.calls


def test_update_connectors_patches_a_batch_keyed_by_uuid(powens, user_client):
    other = "8f3c2b1a-0000-4000-8000-000000000001"
    powens.patch(url("connectors"), json={"connectors": []})

    user_client.update_connectors({CONNECTOR_UUID: {"hidden": True}, other: {"hidden": False}})

    assert sent(powens) == {
        "method": "PATCH",
        "url": url("connectors"),
        "authorization": CONFIG_AUTH,
        "json": {CONNECTOR_UUID: {"hidden": True}, other: {"hidden": False}},
    }


def test_update_connectors_with_an_empty_batch_is_refused(powens, client):
    with pytest.raises(ValueError, match="empty"):
        client.update_connectors({})
    assert not powens.calls


def test_update_connectors_returns_nothing_for_an_empty_answer(powens, client):
    powens.patch(url("connectors"), status=200, body="")

    assert client.update_connectors({CONNECTOR_UUID: {"hidden": True}}) is None


def test_update_connectors_by_ids_puts_a_comma_list_of_ids(powens, user_client):
    powens.put(url("connectors/1,2,3"), json={"connectors": []})

    assert user_client.update_connectors_by_ids([1, 2, 3], hidden=True) == {"connectors": []}
    assert sent(powens) == {
        "method": "PUT",
        "url": url("connectors/1,2,3"),
        "authorization": CONFIG_AUTH,
        "json": {"hidden": True},
    }


@pytest.mark.parametrize("ids", [[], [1, 0], [1, "2/../3"]], ids=["empty", "zero", "injection"])
def test_update_connectors_by_ids_refuses_bad_ids(powens, client, ids):
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
        client.update_connectors_by_ids(ids, hidden=True)
    assert not powens.calls


def test_update_connector_source_sets_the_auth_mechanism_with_the_config_token(powens, user_client):
    powens.put(url(f"connectors/{CONNECTOR_UUID}/sources/12"), json=CONNECTOR_SOURCE)

    updated = user_client.update_connector_source(CONNECTOR_UUID, 12, auth_mechanism="webauth")

    assert updated == CONNECTOR_SOURCE
    assert sent(powens) == {
        "method": "PUT",
        "url": url(f"connectors/{CONNECTOR_UUID}/sources/12"),
        "authorization": CONFIG_AUTH,
        "json": {"auth_mechanism": "webauth"},
    }


def test_update_connector_source_disables_from_a_date_in_paris_time(powens, client):
    powens.put(url(f"connectors/{CONNECTOR_UUID}/sources/12"), json=CONNECTOR_SOURCE)

    client.update_connector_source(
        CONNECTOR_UUID, 12, disabled=dt.datetime(2025, 7, 1, 22, 0, tzinfo=dt.UTC)
    )

    assert sent(powens)["json"] == {"disabled": "2025-07-02 00:00:00"}


def test_update_connector_source_disabled_true_disables_now(powens, client):
    powens.put(url(f"connectors/{CONNECTOR_UUID}/sources/12"), json=CONNECTOR_SOURCE)

    client.update_connector_source(CONNECTOR_UUID, 12, disabled=True)

    disabled = parse_datetime(sent(powens)["json"]["disabled"])
    assert abs(disabled - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_update_connector_source_disabled_none_enables_it(powens, client):
    powens.put(url(f"connectors/{CONNECTOR_UUID}/sources/12"), json=CONNECTOR_SOURCE)

    client.update_connector_source(CONNECTOR_UUID, 12, disabled=None)

    assert sent(powens)["json"] == {"disabled": None}


def test_update_connector_source_with_nothing_to_update_is_refused(powens, client):
    with pytest.raises(ValueError, match="Nothing to update"):
        client.update_connector_source(CONNECTOR_UUID, 12)
    assert not powens.calls
