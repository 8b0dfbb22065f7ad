"""The picker and My banks run a fixed number of queries, however large the catalogue
or however many banks a person linked."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from powens_django.models import BankAccount, Connection, Connector, PowensUser
from powens_django.sync import sync_connections, sync_connectors
from tests.factories import account_payload, connection_payload, connector_payload


def queries(client, url: str, params=None) -> int:
    with CaptureQueriesContext(db) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def catalogue(size: int) -> None:
    sync_connectors([connector_payload(i, sources=2, fields=3) for i in range(1, size + 1)])


@pytest.mark.slow
@pytest.mark.parametrize("params", [{}, {"q": "numero"}, {"country": "ES"}, {"page": "3"}])
def test_picker_queries_do_not_grow_with_the_catalogue(browser, params):
    catalogue(50)
    small = queries(browser, reverse("powens:picker"), params)
    catalogue(5000)
    assert Connector.objects.count() == 5000
    assert queries(browser, reverse("powens:picker"), params) == small


def test_picker_page_stays_small_with_a_large_catalogue(browser):
    catalogue(2000)
    response = browser.get(reverse("powens:picker"))
    assert response.content.decode().count('class="powens-bank"') == 24
    assert "2000 banks" in response.content.decode()


def my_banks(person, count: int) -> None:
    powens_user, _ = PowensUser.objects.get_or_create(
        user=person, defaults={"powens_id": 1, "token": "tok"}
    )
    catalogue(3)
    payloads = [
        connection_payload(
            100 + i,
            connector_uuid=connector_payload(i % 4 + 1)["uuid"],  # one bank is unknown here
            state=[None, "wrongpass", "SCARequired", "decoupled", "whatever"][i % 5],
            sources=2,
            all_accounts=[account_payload((100 + i) * 10 + a, 100 + i) for a in range(3)],
        )
        for i in range(count)
    ]
    sync_connections(powens_user, payloads, complete=True)


def test_my_banks_queries_do_not_grow_with_the_connections(browser, person):
    my_banks(person, 1)
    one = queries(browser, reverse("powens:connections"))
    my_banks(person, 100)
    assert Connection.objects.count() == 100
    assert BankAccount.objects.count() == 300
    assert queries(browser, reverse("powens:connections")) == one


def test_a_connection_page_costs_the_same_with_1_and_50_accounts(browser, person):
    def page(powens_id, accounts):
        powens_user, _ = PowensUser.objects.get_or_create(
            user=person, defaults={"powens_id": 1, "token": "tok"}
        )
        listed = [account_payload(powens_id * 100 + a, powens_id) for a in range(accounts)]
        sync_connections(powens_user, [connection_payload(powens_id, all_accounts=listed)])
        return queries(browser, reverse("powens:connection", args=[powens_id]))

    assert page(7, 1) == page(8, 50)
