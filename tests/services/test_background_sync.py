"""A sync the person watches: ``start_background_sync`` asks Powens to sync in the
background and records the connection as it was (``BackgroundSync``);
``sync_progress`` reads the connection until the sync is seen to end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from powens_django import services

from ..factories import connection_payload
from .helpers import EXPAND, connection, mirror

pytestmark = pytest.mark.django_db

LOCKED = {"code": "connectionLocked", "description": "A sync is running"}


def ticket_for(powens_id: int, **changes) -> services.BackgroundSync:
    row = connection(powens_id)
    values = {
        "connection_id": powens_id,
        "started": timezone.now(),
        "state": row.state,
        "last_update": row.last_update,
        **changes,
    }
    return services.BackgroundSync(**values)


# -- starting -------------------------------------------------------------------------


def test_a_background_sync_is_a_put_asking_for_the_background(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7), status=202)

    started = services.start_background_sync(connection(7), next_url="/banks/")

    assert powens_api.sent() == [
        f"PUT users/me/connections/7?psu_requested=true&background=true&{EXPAND}"
    ]
    assert started.outcome is None
    ticket = started.ticket
    assert (ticket.connection_id, ticket.state, ticket.next_url, ticket.joined) == (
        7,
        None,
        "/banks/",
        False,
    )
    assert ticket.last_update == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert timezone.now() - ticket.started < dt.timedelta(seconds=5)


def test_sca_is_cleared_with_a_background_post(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add(
        "POST", "users/me/connections/7", json=connection_payload(7, state="SCARequired")
    )

    started = services.start_background_sync(connection(7))

    assert powens_api.sent() == [f"POST users/me/connections/7?background=true&{EXPAND}"]
    assert started.ticket is not None and started.ticket.state == "SCARequired"


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("additionalInformationNeeded", services.NEEDS_FIELDS),
        ("wrongpass", services.WRONG_CREDENTIALS),
        ("decoupled", services.DECOUPLED),
        ("webauthRequired", services.REAUTHENTICATE),
    ],
)
def test_a_sync_the_bank_cannot_run_without_the_person_is_an_outcome(
    powens_api, alice, state, kind
):
    mirror(alice, connection_payload(7, state=state))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7, state=state))

    started = services.start_background_sync(connection(7))

    assert started.ticket is None
    assert started.outcome.kind == kind


def test_a_refused_sca_post_is_an_outcome(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "webauthRequired", "description": "Use webauth", "message": None},
    )

    started = services.start_background_sync(connection(7))

    assert started.ticket is None
    assert started.outcome.kind == services.REAUTHENTICATE


def test_a_409_at_start_joins_the_running_sync(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", status=409, json=LOCKED)

    started = services.start_background_sync(connection(7))

    assert started.outcome is None
    assert started.ticket.joined is True
    assert started.ticket.last_update == connection(7).last_update


# -- watching -------------------------------------------------------------------------


def test_nothing_moved_means_still_running(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add_connection_fetch(connection_payload(7))

    assert services.sync_progress(connection(7), ticket_for(7)) is None


def test_a_new_successful_update_means_done(powens_api, alice):
    mirror(alice, connection_payload(7))
    ticket = ticket_for(7)
    powens_api.add_connection_fetch(connection_payload(7, last_update="2026-11-22 18:30:00"))

    outcome = services.sync_progress(connection(7), ticket)

    assert outcome is not None and outcome.kind == services.CONNECTED
    assert connection(7).last_update == dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.UTC)


def test_a_state_change_means_done(powens_api, alice):
    mirror(alice, connection_payload(7))
    ticket = ticket_for(7)
    powens_api.add_connection_fetch(connection_payload(7, state="passwordExpired"))

    outcome = services.sync_progress(connection(7), ticket)

    assert outcome is not None and outcome.kind == services.ACTION_NEEDED


def test_a_connection_gone_means_done_and_deleted(powens_api, alice):
    mirror(alice, connection_payload(7))
    ticket = ticket_for(7)
    powens_api.add(
        "GET", "users/me/connections/7", status=404, json={"code": "notFound", "message": None}
    )

    outcome = services.sync_progress(connection(7), ticket)

    assert outcome is not None and outcome.kind == services.DELETED


def test_a_failed_retry_in_the_same_state_is_seen_in_the_logs(powens_api, alice):
    mirror(alice, connection_payload(7, state="actionNeeded"))
    ticket = ticket_for(7)
    powens_api.add_connection_fetch(connection_payload(7, state="actionNeeded"))
    powens_api.add(
        "GET",
        "users/me/connections/7/logs",
        json={"connectionlogs": [{"timestamp": "2020-01-01 10:00:00", "state": "actionNeeded"}]},
    )
    assert services.sync_progress(connection(7), ticket) is None  # an old log

    now = timezone.localtime(timezone.now(), dt.timezone(dt.timedelta(hours=1)))
    powens_api.add_connection_fetch(connection_payload(7, state="actionNeeded"))
    powens_api.add(
        "GET",
        "users/me/connections/7/logs",
        json={"connectionlogs": [{"timestamp": now.isoformat(), "state": "actionNeeded"}]},
    )
    outcome = services.sync_progress(connection(7), ticket)
    assert outcome is not None and outcome.kind == services.ACTION_NEEDED


def test_a_joined_sync_is_done_when_the_last_update_is_fresh(powens_api, alice):
    mirror(alice, connection_payload(7))
    row = connection(7)
    fresh = ticket_for(7, joined=True, started=row.last_update + dt.timedelta(seconds=5))
    stale = ticket_for(7, joined=True, started=row.last_update + dt.timedelta(hours=1))
    powens_api.add_connection_fetch(connection_payload(7))
    powens_api.add_connection_fetch(connection_payload(7))

    assert services.sync_progress(row, stale) is None
    assert services.sync_progress(row, fresh).kind == services.CONNECTED


def test_a_powens_failure_while_watching_raises_a_transient_error(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7", status=503, json={"code": "bug"})

    with pytest.raises(services.ServiceError) as raised:
        services.sync_progress(connection(7), ticket_for(7))

    assert raised.value.transient


def test_patience_runs_out_after_the_limit():
    started = timezone.now()
    ticket = services.BackgroundSync(connection_id=7, started=started)
    limit = dt.timedelta(seconds=services.SYNC_PATIENCE_SECONDS)

    assert not ticket.overdue(started + limit)
    assert ticket.overdue(started + limit + dt.timedelta(seconds=1))
    assert services.SYNC_PATIENCE_SECONDS == 180


# -- the record -----------------------------------------------------------------------


def test_the_record_goes_through_json_unchanged():
    import json

    ticket = services.BackgroundSync(
        connection_id=7,
        started=timezone.now(),
        state="actionNeeded",
        last_update=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC),
        next_url="/banks/",
        joined=True,
    )

    assert services.BackgroundSync.from_dict(json.loads(json.dumps(ticket.to_dict()))) == ticket


GOOD = {
    "connection": 7,
    "started": "2026-11-20T09:00:00+00:00",
    "state": None,
    "last_update": None,
    "next": "",
    "joined": False,
}


@pytest.mark.parametrize(
    "tampered",
    [
        None,
        "7",
        [],
        {},
        {**GOOD, "extra": 1},
        {k: v for k, v in GOOD.items() if k != "joined"},
        {**GOOD, "connection": "7"},
        {**GOOD, "connection": True},
        {**GOOD, "connection": -7},
        {**GOOD, "connection": 2**64},
        {**GOOD, "started": "2026-11-20T09:00:00"},  # naive
        {**GOOD, "started": "yesterday"},
        {**GOOD, "started": 1700000000},
        {**GOOD, "last_update": "not a date"},
        {**GOOD, "state": 3},
        {**GOOD, "state": "x" * 500},
        {**GOOD, "next": None},
        {**GOOD, "next": "/" * 5000},
        {**GOOD, "joined": "yes"},
    ],
)
def test_a_tampered_record_is_refused_cleanly(tampered):
    with pytest.raises(ValueError, match="is not"):
        services.BackgroundSync.from_dict(tampered)


def test_the_good_record_is_accepted():
    assert services.BackgroundSync.from_dict(GOOD).connection_id == 7


# -- against the sandbox ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_against_the_sandbox_the_sync_runs_then_ends(powens_sandbox, django_user_model, settings):
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "BACKGROUND_DELAY": 600}
    from powens_django.models import Connection, Connector
    from powens_django.sandbox import models as bank

    person = django_user_model.objects.create_user("carol", password="unused")
    test_bank = Connector.objects.get(name="Connecteur de test")
    values = {"website": "par", "login": "carol", "password": "Live-Secret-Pass-42!"}
    services.add_credentials_connection(person, test_bank, values)
    earlier = timezone.now() - dt.timedelta(hours=1)  # Powens' dates have whole seconds
    bank.Connection.objects.update(last_update=earlier)
    Connection.objects.update(last_update=earlier)
    row = Connection.objects.get()

    started = services.start_background_sync(row)
    running = services.sync_progress(row, started.ticket)
    again = services.start_background_sync(row)  # the sandbox answers 409: joined
    bank.Connection.objects.update(pending_until=timezone.now())  # the bank is done
    done = services.sync_progress(row, started.ticket)

    assert started.ticket is not None and running is None
    assert again.ticket is not None and again.ticket.joined
    assert done is not None and done.kind == services.CONNECTED
    assert Connection.objects.get().last_update > earlier
