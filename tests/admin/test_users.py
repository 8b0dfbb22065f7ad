"""The Powens users screen, and the erasure of a person's data at Powens (GDPR)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from powens_django.models import BankAccount, Connection, PowensUser

from ..powens_api import ALICE_TOKEN, BOB_TOKEN
from .conftest import action, change, changelist, messages_of

pytestmark = pytest.mark.django_db


def test_the_list_shows_user_powens_id_and_number_of_connections(
    admin_client, alice_connections, bob
):
    response = admin_client.get(changelist("powensuser"))

    rows = {u.powens_id: u.connection_total for u in response.context["cl"].result_list}
    assert rows == {501: 2, 502: 0}
    assert ALICE_TOKEN not in response.content.decode()


def test_the_detail_never_shows_the_token(admin_client, alice_connections):
    powens_user = PowensUser.objects.get(powens_id=501)

    html = admin_client.get(change("powensuser", powens_user.pk)).content.decode()

    assert "Banque Numéro 1 #11" in html
    assert ALICE_TOKEN not in html
    assert "Powens token" not in html  # not even the field's label


def test_search_by_username_and_powens_id(admin_client, alice, bob):
    by_name = admin_client.get(changelist("powensuser"), {"q": "bob"})
    by_id = admin_client.get(changelist("powensuser"), {"q": "501"})

    assert [u.powens_id for u in by_name.context["cl"].result_list] == [502]
    assert [u.powens_id for u in by_id.context["cl"].result_list] == [501]


def test_deleting_at_powens_lists_what_will_be_erased(admin_client, alice_connections, powens_api):
    powens_user = PowensUser.objects.get(powens_id=501)

    response = action(admin_client, "powensuser", "delete_at_powens", [powens_user])

    html = response.content.decode()
    assert "alice (Powens #501)" in html
    assert "Banque Numéro 1 #11 — 1 bank account" in html
    assert "Banque Numéro 1 #12 — 0 bank accounts" in html
    assert "GDPR" in html
    assert powens_api.requests == []


def test_deleting_at_powens_once_confirmed(admin_client, alice_connections, bob, powens_api):
    powens_api.add("DELETE", "users/me", status=204, token=ALICE_TOKEN)
    powens_api.add("DELETE", "users/me", status=503, json={"code": "bug"}, token=BOB_TOKEN)
    users = list(PowensUser.objects.order_by("powens_id"))

    response = action(admin_client, "powensuser", "delete_at_powens", users, post="yes")

    assert not Connection.objects.exists()
    assert not BankAccount.objects.exists()
    assert list(PowensUser.objects.values_list("powens_id", flat=True)) == [502]
    assert sorted(messages_of(response)) == [
        "alice (Powens #501): data deleted at Powens, then here.",
        "bob (Powens #502): not done. We could not reach the bank connection service. "
        "Please try again shortly.",
    ]
    assert [(e.object_repr, e.action_flag, e.user.username) for e in LogEntry.objects.all()] == [
        ("alice (Powens #501)", DELETION, "admin")
    ]
