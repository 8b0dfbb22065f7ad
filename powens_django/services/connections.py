"""Connections: look them up for their owner, refresh, sync, repair, toggle, delete."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .. import sync
from ..client import NotFoundError, PowensError, parse_datetime
from ..models import BankAccount, Connection, ConnectionSource, PowensUser
from ..states import StateInfo, describe_state
from .catalogue import relevant_fields
from .errors import (
    NotFound,
    PowensRefused,
    ServiceError,
    SyncInProgress,
    from_powens,
    powens_failures,
)
from .outcomes import (
    DECOUPLED,
    DELETED,
    NEEDS_FIELDS,
    REAUTHENTICATE,
    VALIDATING,
    WRONG_CREDENTIALS,
    Outcome,
    outcome_for,
)
from .users import AnyUser, client_for, linked_powens_user

logger = logging.getLogger("powens_django.services")

CONNECTION_EXPAND = ("connector", "sources", "all_accounts")


# -- lookups --------------------------------------------------------------------------


def user_connections(user: AnyUser) -> QuerySet[Connection]:
    """The user's mirrored connections, with connector, sources and bank accounts
    loaded in a fixed number of queries (for pages and the API)."""
    return (
        Connection.objects.filter(powens_user__user=user)
        .select_related("connector", "powens_user")
        .prefetch_related(
            "sources", Prefetch("accounts", BankAccount.objects.order_by("powens_id"))
        )
    )


def get_user_connection(user: AnyUser, powens_id: Any) -> Connection:
    """The user's connection ``powens_id``, or :class:`NotFound` (another user's
    connection, and a malformed id, are simply not found)."""
    try:
        key = int(powens_id)
    except (TypeError, ValueError):
        raise NotFound(f"Malformed connection id {powens_id!r}") from None
    connection = (
        Connection.objects.select_related("connector", "powens_user")
        .filter(powens_id=key, powens_user__user=user)
        .first()
    )
    if connection is None:
        raise NotFound(f"User pk={getattr(user, 'pk', None)} has no connection {key}")
    return connection


def get_connection_source(connection: Connection, source_id: Any) -> ConnectionSource:
    """The source ``source_id`` of ``connection``, or :class:`NotFound`."""
    try:
        key = int(source_id)
    except (TypeError, ValueError):
        raise NotFound(f"Malformed source id {source_id!r}") from None
    source = ConnectionSource.objects.filter(connection=connection, powens_id=key).first()
    if source is None:
        raise NotFound(
            f"Connection {connection.powens_id} has no source {key}",
            message=_("This source does not exist."),
        )
    source.connection = connection
    return source


# -- reading from Powens --------------------------------------------------------------


def mirror(
    powens_user: PowensUser, payload: Mapping[str, Any], *, sources_complete: bool
) -> Connection:
    """Write one Connection payload (its id checked by the client) and return the row."""
    sync.sync_connections(powens_user, [payload], sources_complete=sources_complete)
    connection = (
        Connection.objects.select_related("connector", "powens_user")
        .filter(powens_id=payload["id"], powens_user=powens_user)
        .first()
    )
    if connection is None:
        # The mirror refused it: another local user holds this connection id.
        raise PowensRefused(
            f"Powens answered with connection {payload['id']}, which another local user holds"
        )
    return connection


def _fetch(powens_user: PowensUser, powens_id: int) -> Connection:
    client = client_for(powens_user)
    payload = client.get_connection(powens_id, expand=CONNECTION_EXPAND)
    # expand=sources leaves disabled sources out; ask for all of them so that a
    # disabled source stays visible (and can be enabled again).
    payload = {**payload, "sources": client.list_connection_sources(powens_id, all=True)}
    return mirror(powens_user, payload, sources_complete=True)


def fetch_connection(user: AnyUser, powens_id: int) -> Outcome:
    """Refresh one of the user's connections from Powens (GETs only).

    The outcome follows the connection's state; it is ``DELETED`` (without a
    connection) when Powens says the connection does not exist for this user, and any
    local copy is then removed. Another user's id is simply not found: Powens answers
    404 to a token that does not own the connection. A user without a Powens account
    has no connections: nothing is asked.
    """
    powens_user = linked_powens_user(user)
    if powens_user is None:
        return Outcome(kind=DELETED, connection_ids=(powens_id,))
    try:
        return outcome_for(_fetch(powens_user, powens_id))
    except NotFoundError:
        stale = Connection.objects.filter(powens_user=powens_user, powens_id=powens_id).first()
        if stale is not None:
            sync.forget_connection(stale)
        return Outcome(kind=DELETED, connection_ids=(powens_id,))
    except PowensError as error:
        raise from_powens(error) from None


def refresh_connection(connection: Connection) -> Outcome:
    """Refresh ``connection`` from Powens (GETs only); ``DELETED`` when it is gone."""
    return fetch_connection(connection.powens_user.user, connection.powens_id)


def fetch_connections(user: AnyUser) -> sync.SyncResult:
    """Refresh all of the user's connections from Powens with one GET; connections
    Powens no longer lists are removed locally (nothing is asked for a user without a
    Powens account)."""
    powens_user = linked_powens_user(user)
    if powens_user is None:
        return sync.SyncResult()
    return refresh_powens_user(powens_user)


def refresh_powens_user(powens_user: PowensUser) -> sync.SyncResult:
    """Refresh every connection of ``powens_user`` with one GET (see
    :func:`fetch_connections`)."""
    with powens_failures():
        payloads = client_for(powens_user).list_connections(expand=CONNECTION_EXPAND)
    return sync.sync_connections(powens_user, payloads, complete=True)


# -- asking Powens to act -------------------------------------------------------------


def sync_connection(
    connection: Connection, *, psu_requested: bool, background: bool = False
) -> Outcome:
    """Ask Powens for fresh data now (``PUT``).

    ``psu_requested`` must say whether the person (the account holder) asked for it
    right now: true only then. Staff, workers and schedules pass false (Powens' fair
    use; such a sync cannot trigger an SCA). A running sync raises
    :class:`~.errors.SyncInProgress`. With ``background`` Powens answers at once with
    the connection as it is and syncs afterwards (see :func:`start_background_sync`).
    """
    powens_user = connection.powens_user
    with powens_failures():
        payload = client_for(powens_user).sync_connection(
            connection.powens_id,
            psu_requested=psu_requested,
            background=background,
            expand=CONNECTION_EXPAND,
        )
    return outcome_for(mirror(powens_user, payload, sources_complete=False))


def sync_now(connection: Connection, *, background: bool = False) -> Outcome:
    """The sync a person asks for themselves (pages, the API on their behalf).

    ``SCARequired`` is cleared with the user-initiated empty ``POST`` Powens asks for
    (:func:`reauthenticate`); any other state gets a ``PUT`` with
    ``psu_requested=true``. ``background`` asks Powens to answer at once and work
    afterwards (both calls take it).
    """
    if connection.state == "SCARequired":
        return reauthenticate(connection, background=background)
    return sync_connection(connection, psu_requested=True, background=background)


def reauthenticate(connection: Connection, *, background: bool = False) -> Outcome:
    """Clear ``SCARequired`` with a user-initiated empty update (``POST``), as Powens
    asks; if the bank wants a browser flow instead, the outcome says ``REAUTHENTICATE``
    and the caller starts :func:`~.webauth.start_webauth` with the connection.
    ``background`` makes Powens answer at once and sync afterwards."""
    from .credentials import update_connection_refusable

    return update_connection_refusable(connection, background=background)


def resume_decoupled(connection: Connection, *, background: bool = False) -> Outcome:
    """Resume a ``decoupled`` connection once the person confirmed in their bank's app.

    Blocking by default (Powens answers when the bank does); with ``background`` Powens
    answers at once with ``validating`` and the caller polls :func:`fetch_connection`.
    """
    from .credentials import update_connection_refusable

    return update_connection_refusable(connection, resume=True, background=background)


def set_connection_active(connection: Connection, active: bool) -> Outcome:
    """Turn Powens' automatic syncs of the connection on or off."""
    powens_user = connection.powens_user
    with powens_failures():
        payload = client_for(powens_user).update_connection(
            connection.powens_id, active=active, expand=CONNECTION_EXPAND
        )
    return outcome_for(mirror(powens_user, payload, sources_complete=False))


def set_source_enabled(source: ConnectionSource, enabled: bool) -> Outcome:
    """Enable or disable one source of a connection; the outcome carries the
    refreshed connection."""
    connection = source.connection
    powens_user = connection.powens_user
    with powens_failures():
        client_for(powens_user).update_connection_source(
            connection.powens_id, source.powens_id, disabled=not enabled
        )
        return outcome_for(_fetch(powens_user, connection.powens_id))


def delete_connection(connection: Connection) -> Outcome:
    """Delete the connection at Powens (permanent, erases its history), then locally.

    Powens' 404 means it is already gone there; any other failure keeps the local
    row and raises. Returns a ``DELETED`` outcome.
    """
    try:
        client_for(connection.powens_user).delete_connection(connection.powens_id)
    except NotFoundError:
        logger.info("Connection %s was already deleted at Powens", connection.powens_id)
    except PowensError as error:
        raise from_powens(error) from None
    sync.forget_connection(connection)
    return Outcome(kind=DELETED, connection_ids=(connection.powens_id,))


# -- a sync the person watches ----------------------------------------------------------

#: How long (seconds) a person's background sync is watched before the waiting page
#: stops polling and says the bank is taking longer than usual. Powens' wire format has
#: no "sync in progress" flag, so a sync that ends exactly where it started (same
#: state, no new successful update, no new log) is only seen to end by this limit.
SYNC_PATIENCE_SECONDS = 180

#: A sync joined after Powens' 409 (another one was running, or had just run) counts
#: as done when the connection's last successful update is this recent (seconds).
SYNC_FRESH_SECONDS = 60

_MAX_NEXT_URL = 2048
_MAX_STATE = 64

#: Kinds an answer to a sync can carry that mean the sync cannot run: the bank needs
#: the person first (an answer, new credentials, an app confirmation, a web login).
_NEEDS_PERSON_FIRST = frozenset(
    {NEEDS_FIELDS, WRONG_CREDENTIALS, DECOUPLED, VALIDATING, REAUTHENTICATE, DELETED}
)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(f"{name} is not a date")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not a date") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} is not an aware date")
    return moment


@dataclass(frozen=True)
class BackgroundSync:
    """A background sync a person started and watches (a waiting page keeps it in
    the session): the connection's ``connection_id``, when it was ``started`` (aware),
    the connection's ``state`` and ``last_update`` read before starting, the (already
    checked) ``next_url`` to land on, and whether it ``joined`` a sync Powens was
    already running (a 409 at start). :meth:`to_dict` and :meth:`from_dict` make it
    JSON-serializable; :func:`sync_progress` tells whether it has ended."""

    connection_id: int
    started: dt.datetime
    state: str | None = None
    last_update: dt.datetime | None = None
    next_url: str = ""
    joined: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON types only) for a session."""
        return {
            "connection": self.connection_id,
            "started": _iso(self.started),
            "state": self.state,
            "last_update": _iso(self.last_update),
            "next": self.next_url,
            "joined": self.joined,
        }

    @classmethod
    def from_dict(cls, data: Any) -> BackgroundSync:
        """The record :meth:`to_dict` made; anything else (a missing or extra key, a
        wrong type, a naive date) raises ``ValueError``."""
        keys = {"connection", "started", "state", "last_update", "next", "joined"}
        if not isinstance(data, Mapping) or set(data) != keys:
            raise ValueError("This is not a background sync record")
        connection_id = data["connection"]
        if (
            not isinstance(connection_id, int)
            or isinstance(connection_id, bool)
            or not 0 < connection_id < 2**63
        ):
            raise ValueError("connection is not a connection id")
        state = data["state"]
        if state is not None and (not isinstance(state, str) or len(state) > _MAX_STATE):
            raise ValueError("state is not a state")
        next_url = data["next"]
        if not isinstance(next_url, str) or len(next_url) > _MAX_NEXT_URL:
            raise ValueError("next is not a URL")
        if not isinstance(data["joined"], bool):
            raise ValueError("joined is not a boolean")
        last_update = data["last_update"]
        return cls(
            connection_id=connection_id,
            started=_aware(data["started"], "started"),
            state=state,
            last_update=None if last_update is None else _aware(last_update, "last_update"),
            next_url=next_url,
            joined=data["joined"],
        )

    def overdue(self, at: dt.datetime | None = None) -> bool:
        """Whether the sync has been watched longer than :data:`SYNC_PATIENCE_SECONDS`."""
        moment = at or timezone.now()
        return (moment - self.started).total_seconds() > SYNC_PATIENCE_SECONDS


@dataclass(frozen=True)
class SyncStart:
    """What :func:`start_background_sync` did: either a ``ticket`` (the sync runs;
    watch it with :func:`sync_progress`), or an ``outcome`` saying why it cannot run
    (the bank needs the person first: route on it)."""

    ticket: BackgroundSync | None = None
    outcome: Outcome | None = None


def start_background_sync(connection: Connection, *, next_url: str = "") -> SyncStart:
    """Start the sync the person asked for (:func:`sync_now`) in the background.

    Powens answers at once; the answer says whether the sync can run at all. When the
    bank needs the person first (an OTP, new credentials, an app confirmation, a login
    on its website, or a refusal), the outcome is returned for the caller to route on.
    Otherwise a :class:`BackgroundSync` records the connection as it was, so that
    :func:`sync_progress` sees the sync end. Powens' 409 (a sync is already running,
    or has just run) is a sync under way too: the ticket is ``joined``. ``next_url``
    is stored as given: check it first (and again when using it).
    """
    before = BackgroundSync(
        connection_id=connection.powens_id,
        started=timezone.now(),
        state=connection.state,
        last_update=connection.last_update,
        next_url=next_url,
    )
    try:
        outcome = sync_now(connection, background=True)
    except SyncInProgress:
        # Where Powens stands now is the starting point (the mirror may be behind:
        # a lost webhook, Powens' own daily sync), as best it can be read.
        try:
            current = refresh_connection(connection).connection
        except ServiceError:
            current = None
        return SyncStart(ticket=replace(_as_of(before, current), joined=True))
    if outcome.error is not None:
        return SyncStart(outcome=outcome)  # refused: the person's business
    sca_cleared = connection.state == "SCARequired" and outcome.state == "SCARequired"
    if outcome.kind in _NEEDS_PERSON_FIRST and not sca_cleared:
        return SyncStart(outcome=outcome)
    # Powens' answer is the connection as the sync starts: the mirror may have been
    # behind it, and its catching up must not look like the sync's end.
    return SyncStart(ticket=_as_of(before, outcome.connection))


def _as_of(ticket: BackgroundSync, connection: Connection | None) -> BackgroundSync:
    if connection is None:
        return ticket
    return replace(ticket, state=connection.state, last_update=connection.last_update)


def sync_progress(connection: Connection, ticket: BackgroundSync) -> Outcome | None:
    """Whether the background sync of ``ticket`` has ended: ``None`` while it runs,
    else the connection's outcome (``DELETED`` when the connection is gone).

    The connection is read from Powens (:func:`refresh_connection`: its failures
    raise, a transient one is worth another try). The sync has ended when the
    connection's last successful update moved past the recorded one, when its state
    changed, when a sync log appeared since the start (asked only for a connection
    that was in an error state: a failed retry changes nothing else), or, for a
    ``joined`` sync, when the last successful update is :data:`SYNC_FRESH_SECONDS`
    recent. The caller stops watching after :data:`SYNC_PATIENCE_SECONDS`
    (:meth:`BackgroundSync.overdue`).
    """
    outcome = refresh_connection(connection)
    current = outcome.connection
    if outcome.kind == DELETED or current is None:
        return outcome
    if current.state != ticket.state:
        return outcome
    last = current.last_update
    if last is not None and (ticket.last_update is None or last > ticket.last_update):
        return outcome
    joined_fresh = (
        ticket.joined
        and last is not None
        and (ticket.started - last).total_seconds() <= SYNC_FRESH_SECONDS
    )
    if joined_fresh:
        return outcome
    if ticket.state is not None and _logged_since(current, ticket.started):
        return outcome
    return None


def _logged_since(connection: Connection, moment: dt.datetime) -> bool:
    """Whether Powens logged a sync of ``connection`` since ``moment`` (best effort:
    a failure to read the logs says no)."""
    try:
        logs = connection_logs(connection, limit=5)
    except ServiceError as error:
        logger.info("Reading the logs of connection %s failed: %s", connection.powens_id, error)
        return False
    for log in logs:
        if not isinstance(log, Mapping):
            continue
        when = parse_datetime(log.get("timestamp") or log.get("date"))
        # Powens' dates have whole seconds: a log of this second may be the sync's.
        if when is not None and when >= moment.replace(microsecond=0):
            return True
    return False


# -- what to ask, what happened -------------------------------------------------------


@dataclass(frozen=True)
class FieldsRequest:
    """What to ask a person about a connection: ``fields`` (ConnectorField
    definitions), a ``title`` and an ``explanation`` in plain words, and whether the
    bank asked for them (``asked_by_bank``: an OTP...) or they are the connector's
    credentials typed again."""

    fields: list[dict[str, Any]]
    title: str | Promise
    explanation: str | Promise
    asked_by_bank: bool


def fields_request(connection: Connection) -> FieldsRequest:
    """What to ask the person for ``connection``.

    The fields the connection carries (an OTP, new credentials after ``wrongpass``);
    otherwise the connector's credentials fields, so a person can update their
    credentials at any time (Powens accepts them on an existing connection); no fields
    when the connector is unknown or takes no credentials.
    """
    info = describe_state(connection.state)
    if connection.fields:
        return FieldsRequest(
            fields=[dict(f) for f in relevant_fields(connection.fields)],
            title=_("Your bank needs more information")
            if connection.state == "additionalInformationNeeded"
            else _("Enter your credentials again"),
            explanation=info.explanation,
            asked_by_bank=True,
        )
    connector = connection.connector_or_none
    definitions = (
        relevant_fields(connector.fields, auth_mechanism="credentials") if connector else []
    )
    return FieldsRequest(
        fields=[dict(f) for f in definitions],
        title=_("Enter your credentials again"),
        explanation=info.explanation
        if not info.ok
        else _("Update the details you use to log in to your bank."),
        asked_by_bank=False,
    )


def fields_to_ask(connection: Connection) -> list[dict[str, Any]]:
    """The ConnectorField definitions to ask for ``connection`` (see
    :func:`fields_request`)."""
    return fields_request(connection).fields


def connection_logs(
    connection: Connection,
    *,
    limit: int | None = 50,
    offset: int | None = None,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
    source: ConnectionSource | None = None,
) -> list[dict[str, Any]]:
    """The connection's synchronization logs as Powens sends them (newest first)."""
    with powens_failures():
        return client_for(connection.powens_user).list_connection_logs(
            connection.powens_id,
            limit=limit,
            offset=offset,
            min_date=min_date,
            max_date=max_date,
            id_source=source.powens_id if source else None,
        )


@dataclass(frozen=True)
class LogRow:
    """One synchronization, ready to display: ``when`` (aware datetime or None),
    ``info`` (the state table's entry for its result), the bank's ``message``, the
    number of ``accounts`` seen, and the raw ``log`` Powens sent."""

    when: dt.datetime | None
    info: StateInfo
    message: str | None
    accounts: int | None
    log: Mapping[str, Any]


def connection_history(connection: Connection, *, limit: int = 50) -> list[LogRow]:
    """The connection's last ``limit`` synchronizations, newest first, as
    :class:`LogRow` (Powens' log rows read once, here)."""
    rows = []
    for log in connection_logs(connection, limit=limit):
        if not isinstance(log, Mapping):
            continue
        state = log.get("state", log.get("error"))
        accounts = log.get("nb_accounts")
        message = log.get("error_message")
        rows.append(
            LogRow(
                when=parse_datetime(log.get("timestamp") or log.get("date")),
                info=describe_state(
                    state if state is None or isinstance(state, str) else str(state)
                ),
                message=str(message) if message else None,
                accounts=accounts
                if isinstance(accounts, int) and not isinstance(accounts, bool)
                else None,
                log=log,
            )
        )
    return rows
