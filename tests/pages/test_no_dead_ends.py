"""Nothing is lost and nobody is stranded: a failed action returns to the page the
person was on with honest words, My banks always offers a Refresh that adopts what
Powens holds, and a second submit while a link is being made is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from powens_django import services
from powens_django.models import Connection, Connector, PowensUser
from powens_django.sandbox import faults
from powens_django.sandbox import models as bank

from .conftest import connect_test_bank, connect_url, credentials, only_connection

MY_BANKS = reverse("powens:connections")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def linked_bank(browser) -> Connection:
    """Link the sandbox's test bank and read the success message away."""
    connect_test_bank(browser)
    browser.get(MY_BANKS)
    return only_connection()


@pytest.fixture
def outage(settings):
    def start(spec: str = "503:1") -> None:
        settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "FAULTS": spec}
        faults.reset()

    return start


def test_a_failed_sync_returns_to_the_page_it_came_from_with_a_message(sandbox, browser, outage):
    connection = linked_bank(browser)
    outage()

    response = browser.post(
        reverse("powens:connection_sync", args=[connection.powens_id]), {"next": MY_BANKS}
    )

    assert (response.status_code, response["Location"]) == (302, MY_BANKS)
    page = browser.get(MY_BANKS)
    assert messages_of(page) == [
        "We could not reach the bank connection service. Please try again shortly."
    ]
    assert only_connection().state == connection.state


def test_a_failed_sync_never_follows_a_foreign_next(sandbox, browser, outage):
    connection = linked_bank(browser)
    outage()

    response = browser.post(
        reverse("powens:connection_sync", args=[connection.powens_id]),
        {"next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])


def test_a_failed_refresh_stays_on_my_banks_with_a_message(sandbox, browser, outage):
    linked_bank(browser)
    outage()

    response = browser.post(reverse("powens:refresh"))

    assert response["Location"] == MY_BANKS
    assert "We could not reach" in messages_of(browser.get(MY_BANKS))[0]


def test_a_failed_deletion_keeps_the_bank_and_says_why(sandbox, browser, outage):
    connection = linked_bank(browser)
    outage()

    response = browser.post(reverse("powens:connection_delete", args=[connection.powens_id]))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_my_banks_offers_a_refresh_even_when_it_shows_no_bank(browser):
    html = browser.get(MY_BANKS).content.decode()

    assert "You have not connected a bank yet." in html
    assert f'action="{reverse("powens:refresh")}"' in html


def test_refresh_adopts_a_connection_powens_holds_but_the_site_missed(sandbox, browser, person):
    # A connection made at Powens whose answer never reached the site (a timeout, a
    # crash): the site knows nothing of it.
    powens_user = services.ensure_powens_user(person)
    bank_uuid = Connector.objects.get(name="Connecteur de test").uuid
    services.client_for(powens_user).create_connection(credentials(), connector_uuid=bank_uuid)
    assert not Connection.objects.exists()
    assert "You have not connected a bank yet." in browser.get(MY_BANKS).content.decode()

    browser.post(reverse("powens:refresh"))

    assert only_connection().connector_id == bank_uuid
    assert "Connecteur de test" in browser.get(MY_BANKS).content.decode()


def test_a_second_submit_while_a_link_is_being_made_creates_nothing(sandbox, browser, person):
    services.ensure_powens_user(person)
    PowensUser.objects.filter(user=person).update(link_claimed_at=timezone.now())

    response = browser.post(connect_url("Connecteur de test"), credentials())

    assert response.status_code == 200
    html = response.content.decode()
    assert "A connection to your bank is already being made." in html
    assert "Message from your bank" not in html
    assert not Connection.objects.exists()


def test_an_outage_while_connecting_is_not_called_a_message_from_the_bank(sandbox, browser, outage):
    outage()

    html = browser.post(connect_url("Connecteur de test"), credentials()).content.decode()

    assert "We could not reach the bank connection service" in html
    assert "Message from your bank" not in html
    assert 'value="secret"' not in html


def test_forms_that_reach_the_bank_are_marked_to_be_sent_once(sandbox, browser):
    html = browser.get(connect_url("Connecteur de test")).content.decode()

    assert 'data-powens-busy="Contacting your bank, this can take a minute…"' in html


def test_pages_give_powens_a_time_budget_and_say_so_when_it_runs_out(sandbox, browser, settings):
    connection = linked_bank(browser)
    before = bank.Connection.objects.get().sync_count
    settings.POWENS = {**settings.POWENS, "REQUEST_TIME_BUDGET": 1e-6}

    response = browser.post(reverse("powens:connection_sync", args=[connection.powens_id]))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert "We could not reach" in messages_of(browser.get(response["Location"]))[0]
    assert bank.Connection.objects.get().sync_count == before  # nothing was sent


def test_a_wrong_encryption_key_shows_my_banks_and_a_clear_error_never_a_500(
    sandbox, browser, settings, caplog
):
    from cryptography.fernet import Fernet

    connection = linked_bank(browser)
    settings.POWENS = {
        **settings.POWENS,
        "TOKEN_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],  # the old key is gone
    }

    my_banks = browser.get(MY_BANKS)
    detail = browser.get(reverse("powens:connection", args=[connection.powens_id]))
    sync = browser.post(reverse("powens:connection_sync", args=[connection.powens_id]))
    refresh = browser.post(reverse("powens:refresh"))
    logs = browser.get(reverse("powens:connection_logs", args=[connection.powens_id]))

    assert (my_banks.status_code, detail.status_code) == (200, 200)
    assert (sync.status_code, refresh.status_code) == (302, 302)
    assert logs.status_code == 503
    assert "Our team has been alerted" in logs.content.decode()
    assert any(
        r.levelname == "ERROR" and "token_unreadable" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    "view",
    [
        "connect",
        "callback",
        "refresh_all",
        "connection_sync",
        "connection_reconnect",
        "connection_fields",
        "connection_wait",
        "connection_syncing",
        "source_toggle",
        "connection_delete",
        "connection_logs",
    ],
)
def test_pages_that_call_powens_never_run_inside_atomic_requests(view):
    from django.db import connections

    from powens_django import views

    # ATOMIC_REQUESTS would hold row locks across the calls to Powens.
    assert set(getattr(getattr(views, view), "_non_atomic_requests", ())) == set(connections)
