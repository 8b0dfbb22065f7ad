"""The connections screen: who linked which bank, in what state and why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import Connection

from ..factories import connection_payload
from .conftest import BANK_UUID, change, changelist, connection, mirror

pytestmark = pytest.mark.django_db


def logs_url(pk) -> str:
    return reverse("admin:powens_django_connection_logs", args=[pk])


def rows(response) -> list[int]:
    return [c.powens_id for c in response.context["cl"].result_list]


def test_the_list_shows_user_bank_and_state_with_its_explanation(admin_client, alice_connections):
    response = admin_client.get(changelist("connection"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "alice" in html
    assert "Banque Numéro 1" in html
    assert "background:#0b57d0" in html  # the bank's colour
    assert "powens-admin-state--ok" in html and "Up to date" in html
    assert "powens-admin-state--attention" in html and "Wrong credentials" in html
    assert "Your bank refused the credentials. Enter them again." in html


def test_a_connection_whose_bank_is_not_in_the_catalogue_still_lists(admin_client, alice, bank):
    mirror(alice, connection_payload(13, connector_uuid="unknown-uuid", state="someNewState"))

    response = admin_client.get(changelist("connection"))

    assert response.status_code == 200
    assert "Needs attention" in response.content.decode()


@pytest.mark.parametrize(
    ("state", "expected"),
    [("ok", [11]), ("needs_user", [12, 13]), ("wrongpass", [12]), ("waiting", [14])],
)
def test_the_state_filter(admin_client, alice, alice_connections, state, expected):
    mirror(
        alice,
        connection_payload(13, connector_uuid=BANK_UUID, state="brandNewState"),
        connection_payload(14, connector_uuid=BANK_UUID, state="websiteUnavailable"),
    )

    response = admin_client.get(changelist("connection"), {"state": state})

    assert sorted(rows(response)) == expected


def test_an_unknown_filter_value_matches_nothing(admin_client, alice_connections):
    response = admin_client.get(changelist("connection"), {"state": "<script>"})

    assert response.status_code == 200
    assert rows(response) == []


def test_filters_by_connector_and_active(admin_client, alice, alice_connections):
    mirror(alice, connection_payload(15, connector_uuid="other-uuid", active=False))

    by_bank = admin_client.get(changelist("connection"), {"connector__uuid__exact": BANK_UUID})
    inactive = admin_client.get(changelist("connection"), {"active__exact": "0"})

    assert sorted(rows(by_bank)) == [11, 12]
    assert rows(inactive) == [15]


@pytest.mark.parametrize("term", ["alice", "alice@example.com", "12", "501"])
def test_search_by_username_email_connection_and_powens_user_id(
    admin_client, alice, bob, alice_connections, term
):
    alice.email = "alice@example.com"
    alice.save()
    mirror(bob, connection_payload(21, connector_uuid=BANK_UUID))

    response = admin_client.get(changelist("connection"), {"q": term})

    expected = [12] if term == "12" else [11, 12]
    assert sorted(rows(response)) == expected


def test_the_list_has_a_date_hierarchy_on_the_last_update(admin_client, alice_connections):
    response = admin_client.get(changelist("connection"), {"last_update__year": "2026"})

    assert sorted(rows(response)) == [11, 12]


def test_the_detail_shows_every_field_sources_masked_accounts_and_the_payload(
    admin_client, alice_connections
):
    response = admin_client.get(change("connection", connection(11).pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert "openapi" in html and "directaccess" in html  # the sources
    assert "Compte chèques" in html
    assert "FR•••••••••••••••••••••0143" in html
    assert "•••••••8901" in html
    assert "FR7630004000031234567890143" not in html
    assert "12345678901" not in html
    assert "&quot;connector_uuid&quot;" in html  # the raw payload, pretty-printed
    assert "Fetch them from Powens" in html
    assert f'href="/admin/auth/user/{connection(11).powens_user.user_id}/change/">alice</a>' in html
    assert "Powens user #501" in html
    # Read-only: no form field, no save button, no delete link.
    assert 'name="_save"' not in html
    assert "deletelink" not in html


def test_the_payload_masks_account_numbers_wherever_they_are(admin_client, alice, bank):
    payload = connection_payload(16, connector_uuid=BANK_UUID)
    payload["accounts"] = [{"id": 1, "iban": "FR7630004000031234567890143", "number": "987654321"}]
    mirror(alice, payload)

    html = admin_client.get(change("connection", connection(16).pk)).content.decode()

    assert "FR7630004000031234567890143" not in html
    assert "987654321" not in html


def test_nobody_adds_edits_or_deletes_a_connection_by_hand(admin_client, alice_connections):
    row = connection(11)
    url = change("connection", row.pk)

    add = admin_client.get(changelist("connection") + "add/")
    edit = admin_client.post(url, {"state": "bug", "active": ""})
    delete = admin_client.post(url + "delete/", {"post": "yes"}, follow=True)

    assert add.status_code == 403
    assert edit.status_code == 403
    assert Connection.objects.filter(pk=row.pk, state=None, active=True).exists()
    assert "deleted at Powens first" in delete.content.decode()


def test_the_logs_are_fetched_from_powens_on_demand(admin_client, alice_connections, powens_api):
    powens_api.add(
        "GET",
        "users/me/connections/11/logs",
        json={
            "connectionlogs": [
                {
                    "timestamp": "2026-11-20 10:00:00",
                    "state": "wrongpass",
                    "nb_accounts": 2,
                    "error_message": "Mot de passe incorrect",
                },
                {"timestamp": "2026-11-19 10:00:00", "state": None, "nb_accounts": 2},
            ]
        },
    )

    response = admin_client.get(logs_url(connection(11).pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Mot de passe incorrect" in html
    assert "Wrong credentials" in html and "Up to date" in html


def test_logs_during_a_powens_outage_give_a_message(admin_client, alice_connections, powens_api):
    powens_api.add("GET", "users/me/connections/11/logs", status=503, json={"code": "bug"})

    response = admin_client.get(logs_url(connection(11).pk))

    assert response.status_code == 200
    assert "We could not reach the bank connection service" in response.content.decode()


@pytest.mark.parametrize("pk", ["999999", "not-a-number"])
def test_the_logs_of_a_connection_that_does_not_exist(admin_client, alice_connections, pk):
    response = admin_client.get(logs_url(pk), follow=True)

    assert response.status_code == 200
    assert "Perhaps it was deleted?" in response.content.decode()


@pytest.mark.parametrize("column", range(1, 9))
def test_every_column_that_sorts_answers(admin_client, alice_connections, column):
    response = admin_client.get(changelist("connection"), {"o": str(column)})

    assert response.status_code == 200
    assert sorted(rows(response)) == [11, 12]
