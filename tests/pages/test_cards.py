"""My banks' cards are computed in Python (powens_django.cards): the same URLs as
reverse(), the same totals as the model's rule, the same controls as the state table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse, set_script_prefix
from django.utils import translation

from powens_django.cards import bank_cards, connection_url, controls_for
from powens_django.models import Connection, PowensUser, account_totals_of
from powens_django.states import actions_for
from powens_django.sync import sync_connections
from tests.factories import account_payload, connection_payload

pytestmark = pytest.mark.django_db

NAMES = [
    "powens:connection",
    "powens:connection_sync",
    "powens:connection_reconnect",
    "powens:connection_fields",
    "powens:connection_wait",
    "powens:connection_delete",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("powens_id", [1, 7, 98765, 2**62])
def test_connection_urls_are_those_reverse_gives(name, powens_id):
    assert connection_url(name, powens_id) == reverse(name, args=[powens_id])


def test_connection_urls_follow_the_script_prefix():
    try:
        set_script_prefix("/mounted/")
        assert connection_url("powens:connection", 7) == reverse("powens:connection", args=[7])
        assert connection_url("powens:connection", 7).startswith("/mounted/")
    finally:
        set_script_prefix("/")
    assert connection_url("powens:connection", 7) == reverse("powens:connection", args=[7])


@override_settings(ROOT_URLCONF="tests.urls_elsewhere")
def test_connection_urls_follow_a_new_urlconf():
    assert connection_url("powens:connection", 7) == reverse("powens:connection", args=[7])
    assert connection_url("powens:connection", 7).startswith("/elsewhere/")


@override_settings(ROOT_URLCONF="tests.urls_i18n")
def test_connection_urls_follow_the_language_prefix():
    for language in ("en", "fr", "en"):
        with translation.override(language):
            url = connection_url("powens:connection", 7)
            assert url == reverse("powens:connection", args=[7])
            assert url.startswith(f"/{language}/")


@pytest.fixture
def linked(person):
    powens_user = PowensUser.objects.create(user=person, powens_id=1, token="offline-token")
    payloads = [
        connection_payload(
            7,
            all_accounts=[
                account_payload(70, 7, balance=1234.5),
                account_payload(71, 7, balance="-20.25"),
                account_payload(72, 7, balance="0.10"),
                account_payload(73, 7, balance="0.20"),
                account_payload(74, 7, balance=99, currency="USD"),
                account_payload(75, 7, balance=500, disabled="2026-10-01 10:00:00"),
                account_payload(76, 7, balance=None),
                account_payload(77, 7, balance=700, deleted="2026-10-02 10:00:00"),
            ],
        ),
        connection_payload(8, all_accounts=[account_payload(80, 8, balance=3)]),
        connection_payload(9),
    ]
    sync_connections(powens_user, payloads)
    return powens_user


def test_totals_summed_by_the_database_are_those_of_the_models_rule(linked):
    expected = {c.powens_id: c.account_totals for c in Connection.objects.all()}
    connections = list(Connection.objects.all())

    account_totals_of(connections)

    got = {c.powens_id: c.account_totals for c in connections}
    assert got == expected
    assert [(t.currency, t.amount, t.accounts) for t in got[7]] == [
        ("EUR", Decimal("1214.55"), 4),
        ("USD", Decimal("99"), 1),
    ]
    assert got[9] == []


def test_totals_of_any_number_of_connections_take_one_query(linked, django_assert_num_queries):
    connections = list(Connection.objects.all())
    with django_assert_num_queries(1):
        account_totals_of(connections)
        assert all(c.account_totals is not None for c in connections)


@pytest.mark.parametrize("state", [None, "wrongpass", "SCARequired", "decoupled", "bug", "new!"])
def test_each_card_has_the_controls_of_its_state(linked, state):
    Connection.objects.filter(powens_id=7).update(state=state)
    connection = Connection.objects.get(powens_id=7)
    account_totals_of([connection])

    [card] = bank_cards([connection])

    mechanism = (
        connection.connector_or_none.auth_mechanism if connection.connector_or_none else None
    )
    assert [c["action"] for c in card["controls"]] == [
        str(a) for a in actions_for(state, auth_mechanism=mechanism)
    ]
    assert card["controls"] == controls_for(connection)
    assert card["url"] == reverse("powens:connection", args=[7])


EVIL = '<script>alert(1)</script>" onmouseover="x'


def _acc(aid, cid, balance, currency="EUR", precision=2, **kw):
    p = account_payload(aid, cid, balance=balance, currency=currency, **kw)
    p["currency"]["precision"] = precision
    return p


@pytest.fixture
def hostile(person):
    pu = PowensUser.objects.create(user=person, powens_id=1, token="offline-token")
    payloads = [
        connection_payload(
            7,
            connector_uuid="99999999-0000-4000-8000-000000000009",
            connector={"name": EVIL, "color": "red;background:url(x)"},
            all_accounts=[
                _acc(70, 7, "10.005"),
                _acc(71, 7, "0.01"),
                _acc(72, 7, 5, currency="<script>", precision=0),
                _acc(73, 7, "99999999999.99999999"),
                _acc(74, 7, "0.00000001"),
            ],
        ),
        connection_payload(
            8,
            connector_uuid="99999999-0000-4000-8000-000000000009",
            connector={"name": EVIL},
            all_accounts=[
                _acc(80, 8, "100", currency="JPY", precision=None),
                _acc(81, 8, "1", currency="JPY", precision=0),
            ],
        ),
    ]
    sync_connections(pu, payloads)
    return pu


def test_my_banks_escapes_hostile_names_colours_and_currencies(browser, hostile):
    html = browser.get(reverse("powens:connections")).content.decode()
    assert "<script>alert" not in html
    assert 'onmouseover="x' not in html
    assert "<script> " not in html and "5 <script>" not in html
    assert "url(x)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_totals_are_exact_and_those_of_the_models_rule_at_extreme_values(hostile):
    expected = {
        c.powens_id: [(t.currency, t.amount, t.accounts, t.precision) for t in c.account_totals]
        for c in Connection.objects.all()
    }
    conns = list(Connection.objects.all())
    account_totals_of(conns)
    got = {
        c.powens_id: [(t.currency, t.amount, t.accounts, t.precision) for t in c.account_totals]
        for c in conns
    }
    assert got == expected
    assert {t[0]: t[2:] for t in got[7]} == {"<script>": (1, 0), "EUR": (4, 2)}
    assert got[8] == [("JPY", Decimal("101"), 2, None)]
