"""Bank accounts mirrored by ``sync_connections`` from ``accounts`` / ``all_accounts``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from powens_django.models import BankAccount, Connection, PowensUser, mask
from powens_django.sync import forget_connection, forget_powens_user, sync_connections
from tests.factories import account_payload, connection_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_powens_user():
    def make(username="alice", powens_id=1):
        user = get_user_model().objects.create_user(username)
        return PowensUser.objects.create(user=user, powens_id=powens_id, token=f"token-{username}")

    return make


@pytest.fixture
def powens_user(make_powens_user):
    return make_powens_user()


def linked(connection_id, accounts, key="all_accounts", **extra):
    return connection_payload(connection_id, **{key: accounts}, **extra)


def balances():
    return dict(BankAccount.objects.values_list("powens_id", "balance"))


def test_accounts_are_mirrored_with_exact_balances_and_their_currency(powens_user):
    payload = linked(7, [account_payload(70, 7, balance=0.1), account_payload(71, 7, balance=-3)])

    result = sync_connections(powens_user, [payload])

    account = BankAccount.objects.get(powens_id=70)
    assert result.accounts == 2
    assert account.connection == Connection.objects.get(powens_id=7)
    assert account.balance == Decimal("0.1")  # not 0.1000000000000000055...
    assert balances()[71] == Decimal("-3")
    assert (account.currency, account.currency_precision) == ("EUR", 2)
    assert account.name == "Account 70" and account.original_name == "Compte 70"
    assert account.type == "checking" and account.usage == "PRIV"
    assert account.enabled


def test_the_connection_row_keeps_no_accounts_and_accounts_keep_no_transactions(powens_user):
    payload = linked(7, [account_payload(70, 7, transactions=3)], key="accounts")

    sync_connections(powens_user, [payload])

    assert "accounts" not in Connection.objects.get().raw
    raw = BankAccount.objects.get().raw
    assert "transactions" not in raw and raw["iban"].startswith("FR76")


def test_accounts_are_updated_even_when_the_connection_did_not_change(powens_user):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7, balance=10)])])

    result = sync_connections(powens_user, [linked(7, [account_payload(70, 7, balance=25.5)])])

    assert (result.unchanged, result.accounts) == (1, 1)
    assert balances() == {70: Decimal("25.5")}


def test_unchanged_accounts_write_nothing(powens_user):
    payload = linked(7, [account_payload(70, 7), account_payload(71, 7)])
    sync_connections(powens_user, [payload])

    with CaptureQueriesContext(db_connection) as queries:
        result = sync_connections(powens_user, [payload])

    assert result.accounts == 0
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]


def test_a_complete_list_removes_the_accounts_it_no_longer_holds(powens_user):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7), account_payload(71, 7)])])

    sync_connections(powens_user, [linked(7, [account_payload(70, 7)])])

    assert set(balances()) == {70}


def test_a_list_of_enabled_accounts_removes_nothing(powens_user):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7), account_payload(71, 7)])])

    sync_connections(powens_user, [linked(7, [account_payload(70, 7)], key="accounts")])

    assert set(balances()) == {70, 71}


def test_a_payload_without_accounts_leaves_them_as_they_were(powens_user):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7)])])

    sync_connections(powens_user, [connection_payload(7, state="SCARequired")])

    assert set(balances()) == {70}


def test_an_account_id_held_by_another_user_is_never_moved(make_powens_user):
    alice, bob = make_powens_user("alice", 1), make_powens_user("bob", 2)
    sync_connections(alice, [linked(7, [account_payload(70, 7, balance=5)])])

    result = sync_connections(bob, [linked(8, [account_payload(70, 8, balance=999)])])

    account = BankAccount.objects.get(powens_id=70)
    assert account.connection.powens_user == alice and account.balance == Decimal("5")
    assert result.skipped == 1


@pytest.mark.parametrize("balance", ["abc", None, True, 1e30, float("nan"), [1]])
def test_odd_balances_are_stored_as_null(powens_user, balance):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7, balance=balance)])])

    assert balances() == {70: None}


def test_a_disabled_or_deleted_account_is_kept_and_marked(powens_user):
    accounts = [
        account_payload(70, 7, disabled="2026-11-02 10:00:00"),
        account_payload(71, 7, deleted="2026-11-03 10:00:00"),
    ]

    sync_connections(powens_user, [linked(7, accounts)])

    assert [a.enabled for a in BankAccount.objects.order_by("powens_id")] == [False, False]


def test_accounts_cost_the_same_queries_for_1_and_40_accounts(make_powens_user):
    def run(powens_user, connection_id, count):
        accounts = [account_payload(connection_id * 100 + i, connection_id) for i in range(count)]
        with CaptureQueriesContext(db_connection) as queries:
            sync_connections(powens_user, [linked(connection_id, accounts)])
        return len(queries)

    assert run(make_powens_user("a", 1), 7, 1) == run(make_powens_user("b", 2), 8, 40)


def test_forgetting_a_connection_or_a_user_removes_their_accounts(make_powens_user):
    alice = make_powens_user()
    sync_connections(
        alice, [linked(7, [account_payload(70, 7)]), linked(8, [account_payload(80, 8)])]
    )

    forget_connection(Connection.objects.get(powens_id=7))
    assert set(balances()) == {80}
    forget_powens_user(alice)
    assert not BankAccount.objects.exists()


def test_a_connection_gone_from_a_complete_list_takes_its_accounts(powens_user):
    sync_connections(powens_user, [linked(7, [account_payload(70, 7)]), linked(8, [])])

    sync_connections(powens_user, [linked(8, [])], complete=True)

    assert not BankAccount.objects.exists()


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("FR7630004000031234567890143", "FR" + "•" * 21 + "0143"),
        ("FR76 3000 4000 0312 3456 7890 143", "FR" + "•" * 21 + "0143"),
        ("123", "•••"),
        ("", ""),
    ],
)
def test_numbers_and_ibans_are_masked(value, masked):
    assert mask(value, keep_start=2) == masked


def test_a_payload_holding_nan_is_stored_with_null_in_its_place(powens_user):
    payload = linked(7, [account_payload(70, 7, balance=float("inf"))], extra_score=float("nan"))

    sync_connections(powens_user, [payload])

    assert Connection.objects.get().raw["extra_score"] is None
    assert BankAccount.objects.get().raw["balance"] is None
