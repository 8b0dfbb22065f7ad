"""Every admin action against the sandbox over real HTTP, as `make demo` runs them:
the connections a person linked, the catalogue, the person's data at Powens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django import services
from powens_django.models import Connection, Connector, ConnectorSource, PowensUser
from powens_django.sandbox import models as powens

from .conftest import action, messages_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def linked(powens_sandbox, django_user_model) -> Connection:
    """A person who linked the sandbox's test bank (credentials)."""
    person = django_user_model.objects.create_user("demo", password="unused-password")
    outcome = services.add_credentials_connection(
        person,
        Connector.objects.get(name="Connecteur de test"),
        {"website": "par", "login": "alice", "password": "secret"},
    )
    assert outcome.connection is not None
    return outcome.connection


def test_connection_actions(admin_client, linked):
    pk = linked.pk
    refreshed = action(admin_client, "connection", "refresh_from_powens", [linked])
    synced = action(admin_client, "connection", "sync_now", [linked], post="yes")
    off = action(admin_client, "connection", "deactivate", [linked])
    logs = admin_client.get(reverse("admin:powens_django_connection_logs", args=[pk]))

    assert messages_of(refreshed) == [f"Connecteur de test #{linked.powens_id}: now “Up to date”."]
    assert messages_of(synced) == [f"Connecteur de test #{linked.powens_id}: now “Up to date”."]
    assert powens.ConnectionLog.objects.filter(psu_requested=False).exists()
    assert "automatic syncs off" in messages_of(off)[0]
    assert Connection.objects.get(pk=pk).active is False
    assert logs.status_code == 200 and "Up to date" in logs.content.decode()


def test_a_source_is_disabled_then_enabled(admin_client, linked):
    source = linked.sources.get()
    url = reverse("admin:powens_django_connection_source", args=[linked.pk, source.powens_id])

    disabled = admin_client.post(url, {"enabled": "0"}, follow=True)
    state_after_disable = linked.sources.get().enabled
    enabled = admin_client.post(url, {"enabled": "1"}, follow=True)

    assert messages_of(disabled) == ["Source “directaccess” disabled."]
    assert state_after_disable is False
    assert messages_of(enabled) == ["Source “directaccess” enabled."]
    assert linked.sources.get().enabled is True


def test_deleting_a_connection_at_powens(admin_client, linked):
    response = action(admin_client, "connection", "delete_at_powens", [linked], post="yes")

    assert "deleted at Powens, then here" in messages_of(response)[0]
    assert not Connection.objects.exists()
    assert not powens.Connection.objects.exists()


def test_deleting_the_person_data_at_powens(admin_client, linked):
    powens_user = PowensUser.objects.get()

    response = action(admin_client, "powensuser", "delete_at_powens", [powens_user], post="yes")

    assert "data deleted at Powens" in messages_of(response)[0]
    assert not PowensUser.objects.exists()
    assert not powens.User.objects.exists()


def test_connector_actions(admin_client, powens_sandbox):
    bank = Connector.objects.get(name="Banque Hybride")
    source = ConnectorSource.objects.get(connector=bank, name="directaccess")
    source_url = reverse("admin:powens_django_connector_source", args=[bank.pk, source.powens_id])

    hidden = action(admin_client, "connector", "hide_at_powens", [bank])
    hidden_here = Connector.objects.get(pk=bank.pk).hidden
    shown = action(admin_client, "connector", "unhide_at_powens", [bank])
    disabled = admin_client.post(source_url, {"enabled": "0"}, follow=True)
    switched = admin_client.post(
        source_url,
        {"change": "auth_mechanism", f"auth_mechanism_{source.powens_id}": "webauth"},
        follow=True,
    )
    refreshed = admin_client.post(reverse("admin:powens_django_connector_refresh"), follow=True)

    assert messages_of(hidden) == ["Banque Hybride: hidden at Powens."]
    assert hidden_here is True
    assert messages_of(shown) == ["Banque Hybride: shown again at Powens."]
    assert messages_of(disabled) == ["Source “directaccess” disabled."]
    assert "now uses" in messages_of(switched)[0]
    source.refresh_from_db()
    assert source.disabled is not None and source.auth_mechanism == "webauth"
    assert powens.ConnectorSource.objects.get(pk=source.powens_id).auth_mechanism == "webauth"
    assert messages_of(refreshed)[0].startswith("Catalogue refreshed:")
