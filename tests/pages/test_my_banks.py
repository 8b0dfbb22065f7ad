"""My banks: the person's connections, their state in plain words, and what they can
do about each (sync, toggle a source, delete, read the history)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from powens_django.models import Connection, ConnectionSource, PowensUser
from powens_django.sandbox import models as bank
from powens_django.states import describe_state

from .conftest import connect_test_bank, only_connection

MY_BANKS = reverse("powens:connections")

KNOWN_STATES = [
    None,
    "SCARequired",
    "webauthRequired",
    "additionalInformationNeeded",
    "decoupled",
    "validating",
    "wrongpass",
    "passwordExpired",
    "actionNeeded",
    "rateLimiting",
    "websiteUnavailable",
    "bug",
    "notSupported",
]


@pytest.fixture
def linked(person):
    return PowensUser.objects.create(user=person, powens_id=1, token="offline-token")


def test_my_banks_without_connection_invites_to_add_one(browser):
    html = browser.get(MY_BANKS).content.decode()
    assert "You have not connected a bank yet." in html
    assert reverse("powens:picker") in html


@pytest.mark.parametrize("state", KNOWN_STATES)
def test_my_banks_explains_every_known_state(browser, linked, state):
    Connection.objects.create(powens_user=linked, powens_id=7, state=state)
    info = describe_state(state)
    assert info.known
    html = browser.get(MY_BANKS).content.decode()
    assert str(info.label) in html
    assert str(info.explanation).replace("'", "&#x27;") in html


def test_my_banks_says_needs_attention_for_an_unknown_state(browser, linked):
    Connection.objects.create(powens_user=linked, powens_id=7, state="sandboxFutureState")
    html = browser.get(MY_BANKS).content.decode()
    assert "Needs attention" in html
    assert "sandboxFutureState" not in html


def test_my_banks_shows_only_the_persons_connections(browser, linked, user_factory):
    other = PowensUser.objects.get(user=user_factory("bob", powens_id=2, token="t2"))
    Connection.objects.create(powens_user=linked, powens_id=7, raw={"connector": {"name": "Mine"}})
    Connection.objects.create(powens_user=other, powens_id=8, raw={"connector": {"name": "Theirs"}})
    html = browser.get(MY_BANKS).content.decode()
    assert "Mine" in html
    assert "Theirs" not in html


def test_my_banks_lists_a_connection_with_its_bank_and_sources(sandbox, browser):
    connect_test_bank(browser)
    html = browser.get(MY_BANKS).content.decode()
    assert "Connecteur de test" in html
    assert "Up to date" in html
    assert "With your login details" in html  # the source, in the person's words
    assert "directaccess" not in html


def test_sync_now_asks_the_bank_and_says_so(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    before = bank.Connection.objects.get().sync_count
    earlier = timezone.now() - dt.timedelta(hours=1)  # the new update is then seen to move
    bank.Connection.objects.update(last_update=earlier)
    Connection.objects.update(last_update=earlier)
    response = browser.post(reverse("powens:connection_sync", args=[connection.powens_id]))
    assert response["Location"] == reverse("powens:connection_syncing", args=[connection.powens_id])
    done = browser.get(response["Location"])  # the sandbox settles on this read
    assert done["Location"] == reverse("powens:connection", args=[connection.powens_id])
    page = browser.get(done["Location"])
    assert "Synchronized." in [str(m) for m in page.context["messages"]]
    assert bank.Connection.objects.get().sync_count == before + 1


def test_refresh_all_mirrors_what_powens_has(sandbox, browser):
    connect_test_bank(browser)
    only_connection().delete()
    response = browser.post(reverse("powens:refresh"))
    assert response["Location"] == MY_BANKS
    assert Connection.objects.count() == 1


def test_disabling_a_source_disables_it_at_powens_and_shows_it(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    source = ConnectionSource.objects.get(connection=connection)
    url = reverse("powens:source_toggle", args=[connection.powens_id, source.powens_id])
    response = browser.post(url, {"enable": "0"})
    page = browser.get(response["Location"])
    html = page.content.decode()
    assert "“With your login details” is turned off." in [str(m) for m in page.context["messages"]]
    assert "Turn on" in html and "With your login details" in html
    assert "directaccess" not in html  # the technical name is for the admin
    assert bank.ConnectionSource.objects.get().disabled is not None


def test_enabling_a_source_enables_it_again(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    source = ConnectionSource.objects.get(connection=connection)
    url = reverse("powens:source_toggle", args=[connection.powens_id, source.powens_id])
    browser.post(url, {"enable": "0"})
    browser.post(url, {"enable": "1"})
    assert bank.ConnectionSource.objects.get().disabled is None
    assert ConnectionSource.objects.get().disabled is None


def test_delete_page_warns_that_deletion_is_permanent(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    html = browser.get(reverse("powens:connection_delete", args=[connection.powens_id])).content
    html = html.decode()
    assert "permanently deletes" in html
    assert "full history" in html
    assert "cannot be undone" in html
    assert Connection.objects.count() == bank.Connection.objects.count() == 1


def test_delete_post_deletes_at_powens_and_here(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    response = browser.post(reverse("powens:connection_delete", args=[connection.powens_id]))
    assert response["Location"] == MY_BANKS
    assert not Connection.objects.exists()
    assert not bank.Connection.objects.exists()
    page = browser.get(MY_BANKS)
    assert "Connecteur de test was disconnected and its data deleted." in [
        str(m) for m in page.context["messages"]
    ]


def test_logs_page_shows_the_synchronization_history(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    browser.post(reverse("powens:connection_sync", args=[connection.powens_id]))
    response = browser.get(reverse("powens:connection_logs", args=[connection.powens_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Synchronization history" in html
    assert html.count("Up to date") == bank.ConnectionLog.objects.count() == 2


def test_detail_page_shows_state_bank_message_and_actions(browser, linked):
    Connection.objects.create(
        powens_user=linked, powens_id=7, state="wrongpass", error_message="Mot de passe faux"
    )
    html = browser.get(reverse("powens:connection", args=[7])).content.decode()
    assert "Wrong credentials" in html
    assert "Mot de passe faux" in html
    assert reverse("powens:connection_fields", args=[7]) in html
    assert reverse("powens:connection_delete", args=[7]) in html
