"""Sync now runs in the background: the person waits on a page that reloads itself
(with or without JavaScript) while the sync runs, then lands on the connection's page;
a page without a sync to watch, another person's connection, and Powens failing while
the page looks again are no dead ends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from powens_django import services
from powens_django.models import Connection, PowensUser
from powens_django.sandbox import models as bank
from powens_django.sync import sync_connections
from tests.factories import account_payload, connection_payload

from .conftest import connect_test_bank, only_connection

pytestmark = pytest.mark.django_db

MY_BANKS = reverse("powens:connections")


def linked_bank(browser, login: str = "alice") -> Connection:
    """Link the test bank, its last update an hour ago at Powens and here (Powens'
    dates have whole seconds: a sync in the same second would not be seen to move)."""
    connect_test_bank(browser, login=login)
    browser.get(MY_BANKS)  # read the success message away
    earlier = timezone.now() - dt.timedelta(hours=1)
    bank.Connection.objects.update(last_update=earlier)
    Connection.objects.update(last_update=earlier)
    return only_connection()


def syncing_url(connection: Connection) -> str:
    return reverse("powens:connection_syncing", args=[connection.powens_id])


def sync(browser, connection: Connection, **data: str):
    return browser.post(reverse("powens:connection_sync", args=[connection.powens_id]), data)


def the_bank_finishes() -> None:
    bank.Connection.objects.update(pending_until=timezone.now())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def slow_bank(sandbox_settings):
    sandbox_settings(BACKGROUND_DELAY=600)


def test_sync_now_starts_a_background_sync_and_goes_to_the_syncing_page(
    sandbox, browser, slow_bank
):
    connection = linked_bank(browser)
    before = bank.Connection.objects.get().sync_count

    response = sync(browser, connection)

    assert (response.status_code, response["Location"]) == (302, syncing_url(connection))
    assert bank.Connection.objects.get().pending_action == "sync"
    assert bank.Connection.objects.get().sync_count == before  # still running


def test_the_syncing_page_shows_a_spinner_and_reloads_itself_while_the_sync_runs(
    sandbox, browser, slow_bank
):
    connection = linked_bank(browser)
    sync(browser, connection)

    response = browser.get(syncing_url(connection))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="powens-spinner" aria-hidden="true"' in html
    assert 'role="status"' in html
    assert "Fetching your latest data from Connecteur de test." in html
    assert 'data-powens-refresh="5"' in html
    assert '<noscript><meta http-equiv="refresh" content="7"></noscript>' in html
    assert f'href="{reverse("powens:connection", args=[connection.powens_id])}"' in html
    assert f'href="{MY_BANKS}"' in html


def test_once_the_sync_ends_the_page_lands_on_the_connection_saying_synchronized(
    sandbox, browser, slow_bank
):
    connection = linked_bank(browser)
    sync(browser, connection)
    browser.get(syncing_url(connection))
    the_bank_finishes()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert messages_of(browser.get(response["Location"])) == ["Synchronized."]
    assert only_connection().last_update > timezone.now() - dt.timedelta(minutes=1)
    # The sync was watched to its end: the page has nothing more to show.
    again = browser.get(syncing_url(connection))
    assert again["Location"] == reverse("powens:connection", args=[connection.powens_id])


def test_the_sync_lands_where_it_was_asked_from(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    sync(browser, connection, next=MY_BANKS)
    the_bank_finishes()

    assert browser.get(syncing_url(connection))["Location"] == MY_BANKS


def test_a_foreign_next_is_never_followed(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    sync(browser, connection, next="https://evil.example/")
    the_bank_finishes()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])


def test_a_sync_that_ends_in_an_error_routes_like_the_state(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    bank.Connection.objects.update(scenario="action")  # the bank now wants new terms accepted
    sync(browser, connection)
    the_bank_finishes()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert messages_of(browser.get(response["Location"])) == [
        "Connecteur de test is linked, but needs attention."
    ]
    assert only_connection().state == "actionNeeded"


def test_a_retry_that_fails_the_same_way_is_seen_to_end(sandbox, browser, slow_bank):
    # Same state, no new successful update: only Powens' sync log shows the end.
    connect_test_bank(browser, login="action")
    connection = only_connection()
    assert connection.state == "actionNeeded"
    # The first sync's log is an hour old (Powens' dates have whole seconds).
    bank.ConnectionLog.objects.update(timestamp=timezone.now() - dt.timedelta(hours=1))
    sync(browser, connection)
    assert browser.get(syncing_url(connection)).status_code == 200
    the_bank_finishes()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])


def test_a_sync_the_bank_cannot_run_without_the_person_goes_where_they_act(sandbox, browser):
    connect_test_bank(browser, login="otp")
    connection = only_connection()

    response = sync(browser, connection)

    assert response["Location"] == reverse("powens:connection_fields", args=[connection.powens_id])
    assert f"powens_sync_{connection.powens_id}" not in browser.session


def test_sca_is_cleared_in_the_background_too(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    bank.Connection.objects.update(state="SCARequired")
    Connection.objects.update(state="SCARequired")

    response = sync(browser, connection)

    assert response["Location"] == syncing_url(connection)
    assert bank.Connection.objects.get().pending_action == "user_sync"
    the_bank_finishes()
    done = browser.get(syncing_url(connection))
    assert done["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert only_connection().state is None


def test_a_sync_already_running_is_watched_not_refused(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    sync(browser, connection)

    again = sync(browser, connection)  # Powens answers 409: a sync is running

    assert again["Location"] == syncing_url(connection)
    assert browser.get(syncing_url(connection)).status_code == 200
    the_bank_finishes()
    assert browser.get(syncing_url(connection))["Location"] == reverse(
        "powens:connection", args=[connection.powens_id]
    )


def test_without_a_sync_to_watch_the_page_leads_to_the_connection(sandbox, browser):
    connection = linked_bank(browser)

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])


@pytest.mark.parametrize(
    "record",
    [
        "garbage",
        {"connection": "1"},
        {
            "connection": 1,
            "started": "yesterday",
            "state": None,
            "last_update": None,
            "next": "",
            "joined": False,
        },
    ],
)
def test_a_garbled_record_leads_to_the_connection(sandbox, browser, record):
    connection = linked_bank(browser)
    session = browser.session
    session[f"powens_sync_{connection.powens_id}"] = record
    session.save()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert f"powens_sync_{connection.powens_id}" not in browser.session


def test_a_record_of_another_connection_is_not_followed(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    session = browser.session
    session[f"powens_sync_{connection.powens_id}"] = services.BackgroundSync(
        connection_id=connection.powens_id + 1, started=timezone.now()
    ).to_dict()
    session.save()

    response = browser.get(syncing_url(connection))

    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])


def test_powens_failing_while_the_page_looks_again_keeps_the_page(
    sandbox, browser, slow_bank, sandbox_settings
):
    connection = linked_bank(browser)
    sync(browser, connection)
    sandbox_settings(FAULTS="503:1")

    response = browser.get(syncing_url(connection))

    assert response.status_code == 200
    html = response.content.decode()
    assert "We could not check on it just now." in html
    assert 'data-powens-refresh="5"' in html  # still looking
    sandbox_settings(FAULTS="")
    the_bank_finishes()
    assert browser.get(syncing_url(connection))["Location"] == reverse(
        "powens:connection", args=[connection.powens_id]
    )


def test_after_the_patience_limit_the_page_stops_and_says_the_data_will_come(
    sandbox, browser, slow_bank
):
    connection = linked_bank(browser)
    sync(browser, connection)
    key = f"powens_sync_{connection.powens_id}"
    session = browser.session
    record = dict(session[key])
    long_ago = timezone.now() - dt.timedelta(seconds=services.SYNC_PATIENCE_SECONDS + 1)
    session[key] = {**record, "started": long_ago.isoformat()}
    session.save()

    response = browser.get(syncing_url(connection))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Connecteur de test is taking longer than usual." in html
    assert "data-powens-refresh" not in html
    assert "http-equiv" not in html
    assert "powens-spinner" not in html
    assert f'href="{reverse("powens:connection", args=[connection.powens_id])}"' in html
    assert f'href="{MY_BANKS}"' in html
    assert key not in browser.session


def test_another_persons_connection_is_not_found_even_with_a_record(
    sandbox, browser, someone_else, client
):
    connect_test_bank(browser)
    theirs = only_connection()
    Connection.objects.filter(pk=theirs.pk).update(
        powens_user=PowensUser.objects.create(user=someone_else, powens_id=999, token="t")
    )
    session = browser.session
    session[f"powens_sync_{theirs.powens_id}"] = services.BackgroundSync(
        connection_id=theirs.powens_id, started=timezone.now()
    ).to_dict()
    session.save()

    assert sync(browser, theirs).status_code == 404
    assert browser.get(syncing_url(theirs)).status_code == 404


def test_the_syncing_page_costs_the_same_with_1_and_50_accounts(browser, person, powens_api):
    powens_user = PowensUser.objects.create(user=person, powens_id=1, token="tok")

    def queries(powens_id: int, accounts: int) -> int:
        listed = [account_payload(powens_id * 100 + a, powens_id) for a in range(accounts)]
        payload = connection_payload(
            powens_id, last_update="2026-11-20 10:00:00", all_accounts=listed
        )
        sync_connections(powens_user, [payload])
        session = browser.session
        session[f"powens_sync_{powens_id}"] = services.BackgroundSync(
            connection_id=powens_id,
            started=timezone.now(),
            last_update=Connection.objects.get(powens_id=powens_id).last_update,
        ).to_dict()
        session.save()
        powens_api.add_connection_fetch(payload)  # nothing moved: still running
        with CaptureQueriesContext(db) as captured:
            response = browser.get(reverse("powens:connection_syncing", args=[powens_id]))
        assert response.status_code == 200
        return len(captured)

    assert queries(7, 1) == queries(8, 50)


def test_a_mirror_behind_powens_does_not_make_a_running_sync_look_finished(
    sandbox, browser, slow_bank
):
    """Powens synced by itself and no webhook reached us: the mirror is two hours
    behind. Powens' answer to the sync is the starting point, not the mirror."""
    connection = linked_bank(browser)
    Connection.objects.update(last_update=timezone.now() - dt.timedelta(hours=2))
    connection = only_connection()

    response = sync(browser, connection)
    assert response["Location"] == syncing_url(connection)
    assert bank.Connection.objects.get().pending_action == "sync"  # still running

    page = browser.get(syncing_url(connection))

    assert bank.Connection.objects.get().pending_action == "sync"  # still running
    assert page.status_code == 200, (page.status_code, page.get("Location"))


def test_a_state_behind_powens_does_not_make_a_running_sync_look_finished(
    sandbox, browser, slow_bank
):
    """The mirror still says 'bug'; at Powens the connection is fine already."""
    connection = linked_bank(browser)
    Connection.objects.update(state="bug")
    connection = only_connection()

    sync(browser, connection)
    page = browser.get(syncing_url(connection))

    assert bank.Connection.objects.get().pending_action == "sync"
    assert page.status_code == 200, (page.status_code, page.get("Location"))


def test_a_connection_deleted_here_while_watched_leads_to_my_banks(sandbox, browser, slow_bank):
    connection = linked_bank(browser)
    sync(browser, connection)
    Connection.objects.all().delete()  # e.g. a CONNECTION_DELETED webhook meanwhile
    page = browser.get(syncing_url(connection), follow=True)
    assert page.redirect_chain[0][0] == reverse("powens:connections")
    assert "This bank connection no longer exists." in page.content.decode()
    assert f"powens_sync_{connection.powens_id}" not in browser.session
    # Without a record, a connection that is not there is a plain 404.
    assert browser.get(syncing_url(connection)).status_code == 404


def test_a_connection_deleted_at_powens_while_watched_leads_to_my_banks(
    sandbox, browser, slow_bank
):
    connection = linked_bank(browser)
    sync(browser, connection)
    bank.Connection.objects.all().delete()
    page = browser.get(syncing_url(connection))
    assert page["Location"] == reverse("powens:connections")


@pytest.mark.parametrize(
    "patch",
    [
        {"connection": 2**70},
        {"connection": -1},
        {"connection": 1.0},
        {"started": "2026-01-01T00:00:00"},
        {"started": "0001-01-01T00:00:00+23:59"},
        {"started": "9999-12-31T23:59:59-23:59"},
        {"last_update": "0001-01-01T00:00:00+23:59"},
        {"last_update": "9999-12-31T23:59:59-23:59"},
        {"last_update": 12},
        {"state": 5},
        {"state": "x" * 10000},
        {"next": None},
        {"next": "//evil.example/"},
        {"next": "https://evil.example/"},
        {"next": "javascript:alert(1)"},
        {"next": "/\\evil.example"},
        {"joined": "yes"},
        {"started": ["x"]},
        {"started": "\uff12\uff10\uff12\uff16-01-01T00:00:00+00:00"},
    ],
)
def test_a_malformed_record_is_never_a_server_error(sandbox, browser, slow_bank, patch):
    connection = linked_bank(browser)
    sync(browser, connection)
    key = f"powens_sync_{connection.powens_id}"
    session = browser.session
    record = dict(session[key])
    if "connection" in patch:
        record["connection"] = patch["connection"]
    else:
        record.update(patch)
    session[key] = record
    session.save()
    bank.Connection.objects.update(pending_until=timezone.now())
    page = browser.get(syncing_url(connection))
    assert page.status_code in (200, 302), page.status_code
    if page.status_code == 302:
        assert page["Location"].startswith("/"), page["Location"]
        assert not page["Location"].startswith("//")
        assert "evil" not in page["Location"]
