"""Connections: look them up for their owner, refresh, sync, repair, toggle, delete."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .. import sync
from ..client import NotFoundError, PowensError, parse_datetime
from ..models import BankAccount, Connection, ConnectionSource, PowensUser
from ..states import StateInfo, describe_state
from .catalogue import relevant_fields
from .errors import NotFound, PowensRefused, from_powens, powens_failures
from .outcomes import DELETED, Outcome, outcome_for
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


def sync_connection(connection: Connection, *, psu_requested: bool) -> Outcome:
    """Ask Powens for fresh data now (``PUT``).

    ``psu_requested`` must say whether the person (the account holder) asked for it
    right now: true only then. Staff, workers and schedules pass false (Powens' fair
    use; such a sync cannot trigger an SCA). A running sync raises
    :class:`~.errors.SyncInProgress`.
    """
    powens_user = connection.powens_user
    with powens_failures():
        payload = client_for(powens_user).sync_connection(
            connection.powens_id, psu_requested=psu_requested, expand=CONNECTION_EXPAND
        )
    return outcome_for(mirror(powens_user, payload, sources_complete=False))


def sync_now(connection: Connection) -> Outcome:
    """The sync a person asks for themselves (pages, the API on their behalf).

    ``SCARequired`` is cleared with the user-initiated empty ``POST`` Powens asks for
    (:func:`reauthenticate`); any other state gets a ``PUT`` with
    ``psu_requested=true``.
    """
    if connection.state == "SCARequired":
        return reauthenticate(connection)
    return sync_connection(connection, psu_requested=True)


def reauthenticate(connection: Connection) -> Outcome:
    """Clear ``SCARequired`` with a user-initiated empty update (``POST``), as Powens
    asks; if the bank wants a browser flow instead, the outcome says ``REAUTHENTICATE``
    and the caller starts :func:`~.webauth.start_webauth` with the connection."""
    from .credentials import update_connection_refusable

    return update_connection_refusable(connection)


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
