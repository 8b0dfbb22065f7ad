"""The connection actions: each goes through the service layer, each object gets its
message, one failure leaves its object as it was and stops nothing."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.urls import reverse

from powens_django.models import BankAccount, Connection, ConnectionSource

from ..factories import connection_payload
from .conftest import BANK_UUID, action, change, connection, messages_of

pytestmark = pytest.mark.django_db


def test_refresh_reads_each_connection_from_powens(admin_client, alice_connections, powens_api):
    powens_api.add_connection_fetch(
        connection_payload(11, connector_uuid=BANK_UUID, state="SCARequired")
    )

    response = action(admin_client, "connection", "refresh_from_powens", [connection(11)])

    assert [r.method for r in powens_api.requests] == ["GET", "GET"]
    assert connection(11).state == "SCARequired"
    assert messages_of(response) == ["Banque Numéro 1 #11: now “Authentication needed”."]


def test_refresh_of_a_connection_gone_at_powens_removes_it(
    admin_client, alice_connections, powens_api
):
    powens_api.add("GET", "users/me/connections/12", status=404, json={"code": "notFound"})

    response = action(admin_client, "connection", "refresh_from_powens", [connection(12)])

    assert not Connection.objects.filter(powens_id=12).exists()
    assert messages_of(response) == ["Banque Numéro 1 #12: gone at Powens; removed here."]


def test_sync_now_first_explains_the_fair_use_rule(admin_client, alice_connections, powens_api):
    response = action(admin_client, "connection", "sync_now", alice_connections)

    html = response.content.decode()
    assert response.status_code == 200
    assert "fair-use" in html
    assert "psu_requested=false" in html
    assert "Banque Numéro 1 #11" in html and "Banque Numéro 1 #12" in html
    assert powens_api.requests == []


def test_sync_now_once_confirmed_says_nobody_asked(admin_client, alice_connections, powens_api):
    powens_api.add(
        "PUT", "users/me/connections/11", json=connection_payload(11, connector_uuid=BANK_UUID)
    )

    response = action(admin_client, "connection", "sync_now", [connection(11)], post="yes")

    assert powens_api.query(0)["psu_requested"] == "false"
    assert messages_of(response) == ["Banque Numéro 1 #11: now “Up to date”."]
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag) == (str(connection(11).pk), CHANGE)
    assert entry.change_message == "now “Up to date”."


def test_one_failure_stops_nothing_and_leaves_its_connection_as_it_was(
    admin_client, alice_connections, powens_api
):
    powens_api.add("PUT", "users/me/connections/11", status=503, json={"code": "bug"})
    powens_api.add(
        "PUT", "users/me/connections/12", json=connection_payload(12, connector_uuid=BANK_UUID)
    )
    before = Connection.objects.filter(powens_id=11).values().get()

    response = action(admin_client, "connection", "sync_now", alice_connections, post="yes")

    assert response.status_code == 200
    assert Connection.objects.filter(powens_id=11).values().get() == before
    assert connection(12).state is None
    assert sorted(messages_of(response)) == [
        "Banque Numéro 1 #11: not done. We could not reach the bank connection service. "
        "Please try again shortly.",
        "Banque Numéro 1 #12: now “Up to date”.",
    ]


def test_a_powens_conflict_is_a_message(admin_client, alice_connections, powens_api):
    powens_api.add("PUT", "users/me/connections/11", status=409, json={"code": "tooManySync"})

    response = action(admin_client, "connection", "sync_now", [connection(11)], post="yes")

    assert response.status_code == 200
    assert "not done" in messages_of(response)[0]


@pytest.mark.parametrize(("name", "active"), [("deactivate", False), ("activate", True)])
def test_turning_automatic_syncs_on_or_off(
    admin_client, alice_connections, powens_api, name, active
):
    powens_api.add(
        "POST",
        "users/me/connections/11",
        json=connection_payload(11, connector_uuid=BANK_UUID, active=active),
    )

    response = action(admin_client, "connection", name, [connection(11)])

    assert powens_api.body(0) == {"active": active}
    assert connection(11).active is active
    assert len(messages_of(response)) == 1


def test_delete_lists_exactly_what_will_be_erased(admin_client, alice_connections, powens_api):
    response = action(admin_client, "connection", "delete_at_powens", [connection(11)])

    html = response.content.decode()
    assert "Banque Numéro 1 #11, linked by alice" in html
    assert "openapi, directaccess" in html
    assert "Compte chèques (FR•••••••••••••••••••••0143)" in html
    assert "FR7630004000031234567890143" not in html
    assert "Erased for good at Powens" in html
    assert "Banque Numéro 1 #12" not in html
    assert Connection.objects.count() == 2


def test_delete_once_confirmed_deletes_at_powens_then_here(
    admin_client, alice_connections, powens_api
):
    powens_api.add("DELETE", "users/me/connections/11", status=204)

    response = action(admin_client, "connection", "delete_at_powens", [connection(11)], post="yes")

    assert powens_api.sent() == ["DELETE users/me/connections/11"]
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [12]
    assert not BankAccount.objects.exists()
    assert messages_of(response) == ["Banque Numéro 1 #11: deleted at Powens, then here."]
    entry = LogEntry.objects.get()
    assert (entry.object_repr, entry.action_flag) == ("Banque Numéro 1 #11", DELETION)


def test_a_deletion_powens_refuses_keeps_everything(admin_client, alice_connections, powens_api):
    powens_api.add("DELETE", "users/me/connections/11", status=500, json={"code": "bug"})

    response = action(admin_client, "connection", "delete_at_powens", [connection(11)], post="yes")

    assert Connection.objects.count() == 2
    assert BankAccount.objects.count() == 1
    assert "not done" in messages_of(response)[0]
    assert not LogEntry.objects.exists()


def source_url(row: Connection, source_id) -> str:
    return reverse("admin:powens_django_connection_source", args=[row.pk, source_id])


def test_a_source_is_disabled_at_powens_from_the_detail(
    admin_client, alice_connections, powens_api
):
    row = connection(11)
    payload = connection_payload(11, connector_uuid=BANK_UUID, sources=2)
    payload["sources"][1]["disabled"] = "2026-11-30 10:00:00"
    powens_api.add("POST", "users/me/connections/11/sources/111", json=payload["sources"][1])
    powens_api.add_connection_fetch(payload)

    response = admin_client.post(source_url(row, 111), {"enabled": "0"}, follow=True)

    assert powens_api.body(0) == {"disabled": True}
    assert not ConnectionSource.objects.get(powens_id=111).enabled
    assert messages_of(response) == ["Source “directaccess” disabled."]
    assert response.redirect_chain[-1][0] == change("connection", row.pk)


def test_the_detail_has_a_button_per_source(admin_client, alice_connections):
    html = admin_client.get(change("connection", connection(11).pk)).content.decode()

    assert html.count('name="enabled" value="0"') == 2


@pytest.mark.parametrize(
    ("source_id", "data", "message"),
    [
        (111, {"enabled": "maybe"}, "Say whether to enable or disable the source."),
        (111, {}, "Say whether to enable or disable the source."),
        (999, {"enabled": "1"}, "This source does not exist."),
        ("x1", {"enabled": "1"}, "This source does not exist."),
    ],
)
def test_a_bad_source_request_changes_nothing(
    admin_client, alice_connections, powens_api, source_id, data, message
):
    before = list(ConnectionSource.objects.values())

    response = admin_client.post(source_url(connection(11), source_id), data, follow=True)

    assert messages_of(response) == [message]
    assert list(ConnectionSource.objects.values()) == before
    assert powens_api.requests == []


def test_the_source_view_takes_no_get(admin_client, alice_connections):
    assert admin_client.get(source_url(connection(11), 111)).status_code == 405
