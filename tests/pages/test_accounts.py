"""The accounts a person linked: listed with their balances on the connection's page,
totalled per currency on My banks; numbers masked; disabled ones marked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import PowensUser
from powens_django.sync import sync_connections
from tests.factories import account_payload, connection_payload

pytestmark = pytest.mark.django_db

IBAN = "FR7630004000031234567890143"


@pytest.fixture
def linked(person):
    powens_user = PowensUser.objects.create(user=person, powens_id=1, token="offline-token")
    accounts = [
        account_payload(70, 7, balance=1234.5, iban=IBAN, name="Compte courant"),
        account_payload(71, 7, balance=-20.25, name="Livret A"),
        account_payload(72, 7, balance=99, currency="USD", name="Dollar account"),
        account_payload(73, 7, balance=500, name="Old account", disabled="2026-10-01 10:00:00"),
    ]
    sync_connections(powens_user, [connection_payload(7, all_accounts=accounts)])
    return powens_user


def page(browser, name, *args):
    response = browser.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_the_connection_page_lists_the_accounts_with_their_balances(browser, linked):
    html = page(browser, "powens:connection", 7)

    assert "Compte courant" in html and "Livret A" in html
    assert "1,234.50 EUR" in html and "-20.25 EUR" in html and "99.00 USD" in html


def test_account_numbers_and_ibans_are_masked(browser, linked):
    html = page(browser, "powens:connection", 7)

    assert IBAN not in html and "3123456789" not in html
    assert "FR" + "•" * 21 + "0143" in html


def test_a_disabled_account_is_marked(browser, linked):
    html = page(browser, "powens:connection", 7)

    row = html[html.index("Old account") - 200 : html.index("Old account") + 200]
    assert "powens-account--disabled" in row and "Disabled" in row


def test_my_banks_totals_each_bank_per_currency_leaving_disabled_accounts_out(browser, linked):
    html = page(browser, "powens:connections")

    assert "1,214.25 EUR" in html  # 1234.50 - 20.25; the disabled 500 left out
    assert "99.00 USD" in html


def test_amounts_follow_the_language(browser, linked):
    html = browser.get(
        reverse("powens:connection", args=[7]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert "234,50 EUR" in html and "1,234.50" not in html


def test_another_persons_accounts_are_never_shown(browser, linked, someone_else, client):
    client.force_login(someone_else)

    assert client.get(reverse("powens:connection", args=[7])).status_code == 404
    assert "Compte courant" not in client.get(reverse("powens:connections")).content.decode()
