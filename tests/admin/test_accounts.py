"""The bank accounts screen: read-only, numbers and IBANs masked."""

from __future__ import annotations

import pytest

from powens_django.models import BankAccount

from .conftest import change, changelist

pytestmark = pytest.mark.django_db


def test_the_list_masks_numbers_and_shows_the_balance_with_its_currency(
    admin_client, alice_connections
):
    html = admin_client.get(changelist("bankaccount")).content.decode()

    assert "Compte chèques" in html
    assert "Banque Numéro 1 #11" in html
    assert "FR•••••••••••••••••••••0143" in html
    assert "1,234.50 EUR" in html
    assert "FR7630004000031234567890143" not in html
    assert "12345678901" not in html


def test_the_detail_masks_numbers_in_the_payload_too(admin_client, alice_connections):
    account = BankAccount.objects.get()
    account.raw = {"id": 111, "iban": account.iban, "number": account.number}
    account.save()

    html = admin_client.get(change("bankaccount", account.pk)).content.decode()

    assert "FR7630004000031234567890143" not in html
    assert "12345678901" not in html
    assert 'name="_save"' not in html


def test_the_bank_filter(admin_client, alice_connections):
    bank = alice_connections[0].connector
    kept = admin_client.get(
        changelist("bankaccount"), {"connection__connector__uuid__exact": bank.uuid}
    )
    other = admin_client.get(changelist("bankaccount"), {"connection__connector__uuid__exact": "x"})

    assert [str(a) for a in kept.context["cl"].result_list] == ["Compte chèques"]
    assert list(other.context["cl"].result_list) == []


@pytest.mark.parametrize(("value", "expected"), [("yes", ["Compte chèques"]), ("disabled", [])])
def test_the_in_use_filter(admin_client, alice_connections, value, expected):
    response = admin_client.get(changelist("bankaccount"), {"in_use": value})

    assert [str(a) for a in response.context["cl"].result_list] == expected
