"""The admin's lists make as many queries for 1,000 rows as for 10."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from powens_django import sync
from powens_django.models import BankAccount, Connection, PowensUser

from ..factories import connection_payload, connector_payload
from .conftest import changelist

pytestmark = pytest.mark.django_db


def queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(db) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def add_connections(users, count: int) -> None:
    """``count`` connections spread over ``users``, on ten banks (one not in the
    catalogue), each with a bank account."""
    start = Connection.objects.count() + 1000
    for index, user in enumerate(users):
        payloads = [
            connection_payload(
                start + i,
                connector_uuid=connector_payload(i % 10)["uuid"] if i % 10 else "gone",
                state=[None, "wrongpass", "bug"][i % 3],
            )
            for i in range(index, count, len(users))
        ]
        sync.sync_connections(PowensUser.objects.get(user=user), payloads)
    BankAccount.objects.bulk_create(
        BankAccount(connection=c, powens_id=c.powens_id, name="Compte", iban="FR76123456789")
        for c in Connection.objects.filter(accounts__isnull=True)
    )


@pytest.fixture
def catalogue(db):
    sync.sync_connectors([connector_payload(i) for i in range(1, 10)])


@pytest.mark.parametrize(
    "params", [{}, {"state": "needs_user"}, {"q": "alice"}, {"_facets": "True"}]
)
def test_the_connections_list(admin_client, alice, bob, catalogue, params):
    add_connections([alice, bob], 10)
    few = queries(admin_client, changelist("connection"), **params)
    add_connections([alice, bob], 990)
    many = queries(admin_client, changelist("connection"), **params)

    assert Connection.objects.count() == 1000
    assert many == few


@pytest.mark.parametrize("params", [{}, {"country": "ES"}, {"_facets": "True"}])
def test_the_connectors_list(admin_client, params):
    sync.sync_connectors([connector_payload(i) for i in range(1, 11)])
    few = queries(admin_client, changelist("connector"), **params)
    sync.sync_connectors([connector_payload(i) for i in range(1, 1001)])
    many = queries(admin_client, changelist("connector"), **params)

    assert many == few


def test_the_powens_users_and_bank_accounts_lists(
    admin_client, alice, bob, catalogue, user_factory
):
    add_connections([alice, bob], 10)
    few = [queries(admin_client, changelist(m)) for m in ("powensuser", "bankaccount")]
    for i in range(50):
        user_factory(f"person{i}", powens_id=600 + i)
    add_connections([alice, bob], 300)
    many = [queries(admin_client, changelist(m)) for m in ("powensuser", "bankaccount")]

    assert many == few
