"""Browser flows: send the person to their bank (webauth) and take them back.

Every flow carries a ``state`` that is random, single-use, bound to the user (and to
the browser session for pages), and short-lived. Only its SHA-256 is stored. A
callback without a valid one changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .. import signals
from ..conf import powens_settings
from ..logsafe import printable
from ..models import Connection, Connector, LinkState, PowensUser
from .catalogue import check_connectable
from .connections import fetch_connection, fetch_connections
from .errors import (
    InvalidCallback,
    NotAllowed,
    NotFound,
    NothingToRepair,
    ServiceError,
    powens_failures,
)
from .outcomes import CANCELLED, CONNECTED, DELETED, FAILED, Outcome, outcome_for
from .users import AnyUser, client_for, ensure_powens_user

logger = logging.getLogger("powens_django.services")


def check_may_link(user: AnyUser, *, request: HttpRequest | None = None) -> None:
    """Raise :class:`NotAllowed` unless the host's adapter lets ``user`` link banks."""
    from ..adapter import get_adapter

    if not get_adapter(request).can_link(user):
        raise NotAllowed(f"The adapter does not let user pk={getattr(user, 'pk', None)} link")


def get_redirect_uri(request: HttpRequest | None = None) -> str:
    """The ``redirect_uri`` sent to Powens for browser flows (the adapter's
    :meth:`~powens_django.adapter.DefaultPowensAdapter.get_redirect_uri`)."""
    from ..adapter import get_adapter

    return get_adapter(request).get_redirect_uri()


@dataclass(frozen=True)
class WebauthStart:
    """Where to send the browser (``url``) and the state that will come back."""

    url: str
    state: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def start_webauth(
    user: AnyUser,
    *,
    redirect_uri: str | None = None,
    connector: Connector | None = None,
    connection: Connection | None = None,
    source: str | None = None,
    session_key: str | None = None,
    next_url: str = "",
    request: HttpRequest | None = None,
) -> WebauthStart:
    """Start a bank's web authorization: a new connection (``connector``) or the
    repair of one (``connection``: SCA, consent renewal, reconnect).

    Records a random single-use ``state`` bound to the user (and to ``session_key``
    when given: pages pass the session; an app client that cannot share the browser
    session does not) and returns the Powens URL to send the browser to.
    ``redirect_uri`` defaults to the adapter's. Raises :class:`NothingToRepair` when
    Powens says the connection needs nothing (its 409), and records nothing then.
    """
    if (connector is None) == (connection is None):
        raise ValueError("Give exactly one of connector and connection")
    powens_user, redirect_uri = prepare_flow(
        user, connector=connector, connection=connection, redirect_uri=redirect_uri, request=request
    )
    record, state = new_state(
        user,
        session_key=session_key,
        connector=connector,
        connection=connection,
        source=source,
        next_url=next_url,
    )
    target: dict[str, Any]
    if connection is not None:
        target = {"id_connection": connection.powens_id}
    elif connector is not None and connector.powens_id:
        target = {"id_connector": connector.powens_id}
    else:
        target = {"connector_uuid": connector.uuid if connector else None}
    # The state is committed before the call (no transaction held across HTTP) and
    # removed again if Powens refuses, so a failed start leaves nothing behind.
    try:
        with powens_failures(conflict=NothingToRepair):
            url = client_for(powens_user).webauth_url(
                redirect_uri, source=source or None, state=state, **target
            )
    except BaseException:
        record.delete()
        raise
    # Only a start Powens accepted may push out the user's older pending flows.
    prune_states(user, record)
    return WebauthStart(url=url, state=state)


def prepare_flow(
    user: AnyUser,
    *,
    connector: Connector | None,
    connection: Connection | None,
    redirect_uri: str | None,
    request: HttpRequest | None,
) -> tuple[PowensUser, str]:
    """What every browser flow checks before it starts: the adapter lets ``user``
    link, ``connector`` may be linked, ``connection`` is the user's. Returns the user's
    Powens account (made on first use) and the ``redirect_uri`` (the adapter's by
    default)."""
    check_may_link(user, request=request)
    if connector is not None:
        check_connectable(connector, request=request)
    if connection is not None and connection.powens_user.user_id != user.pk:
        raise NotFound("This connection belongs to another user")
    if redirect_uri is None:
        redirect_uri = get_redirect_uri(request)
    return ensure_powens_user(user, request=request), redirect_uri


def new_state(
    user: AnyUser,
    *,
    session_key: str | None,
    connector: Connector | None = None,
    connection: Connection | None = None,
    source: str | None = None,
    next_url: str = "",
) -> tuple[LinkState, str]:
    """Record a browser flow's random, single-use ``state`` (only its hash is kept),
    bound to ``user`` and, when given, the browser session. Returns the record and
    the state to send. Delete the record if the flow cannot start."""
    state = secrets.token_urlsafe(32)
    record = LinkState.objects.create(
        state_hash=_digest(state),
        user=user,
        session_hash=_digest(session_key) if session_key else "",
        connector_uuid=connector.uuid if connector else "",
        connection_powens_id=connection.powens_id if connection else None,
        source=source or "",
        next_url=next_url[:2000],
    )
    return record, state


def prune_states(user: AnyUser, record: LinkState) -> None:
    """Once a flow started, drop expired states and the user's oldest pending ones
    beyond ``MAX_PENDING_STATES``."""
    _prune_states(user, timezone.now(), keep_pk=record.pk)


def _prune_states(user: AnyUser, now: dt.datetime, *, keep_pk: int) -> None:
    expired = now - dt.timedelta(seconds=int(powens_settings.STATE_MAX_AGE))
    LinkState.objects.filter(created_at__lt=expired).exclude(pk=keep_pk).delete()
    keep = max(1, int(powens_settings.MAX_PENDING_STATES)) - 1
    pending = (
        LinkState.objects.filter(user=user, used_at__isnull=True)
        .exclude(pk=keep_pk)
        .order_by("-created_at", "-pk")
    )
    stale = list(pending.values_list("pk", flat=True)[keep:])
    if stale:
        LinkState.objects.filter(pk__in=stale).delete()


def consume_state(user: AnyUser, state: str | None, *, session_key: str | None = None) -> LinkState:
    """Check and use up a flow's ``state``; raise :class:`InvalidCallback` unless it
    is known, unused, unexpired, this user's and (when it was bound) this session's."""
    if not state or len(state) > 200:
        raise InvalidCallback("The callback carries no state.")
    now = timezone.now()
    oldest = now - dt.timedelta(seconds=int(powens_settings.STATE_MAX_AGE))
    record = LinkState.objects.filter(state_hash=_digest(state)).first()
    reason = None
    if record is None:
        reason = "unknown"
    elif record.user_id != user.pk:
        reason = "another user's"
    elif record.session_hash and record.session_hash != _digest(session_key or ""):
        reason = "another session's"
    elif record.used_at is not None:
        reason = "already used"
    elif record.created_at < oldest:
        reason = "expired"
    # The update is the single-use guarantee: of two concurrent callbacks with the
    # same state, only one changes the row.
    elif not LinkState.objects.filter(pk=record.pk, used_at__isnull=True).update(used_at=now):
        reason = "already used"
    if reason or record is None:
        logger.warning("Refused a Powens callback: %s state (user pk=%s)", reason, user.pk)
        error = InvalidCallback(f"The callback's state is {reason}.")
        error.reason = reason
        raise error
    return record


def _callback_ids(params: Mapping[str, str]) -> list[int]:
    raw = [params.get("id_connection"), params.get("connection_id")]
    raw += (params.get("connection_ids") or "").split(",")
    ids: list[int] = []
    for value in raw:
        if value is None or not value.strip():
            continue
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 0 < int(text) < 2**63:
            raise InvalidCallback("The callback names a malformed connection id.")
        if int(text) not in ids:
            ids.append(int(text))
    return ids


def finish_callback(
    user: AnyUser, params: Mapping[str, str], *, session_key: str | None = None
) -> Outcome:
    """Handle the browser's return from the bank (the ``redirect_uri`` request).

    Accepts ``id_connection`` (webauth) and ``connection_id``/``connection_ids``
    (Powens' hosted Webview). Without a valid state, or with malformed ids, nothing
    changes and :class:`InvalidCallback` is raised. ``error=access_denied`` gives a
    ``CANCELLED`` outcome, any other error ``FAILED`` (``link_cancelled`` /
    ``link_failed`` are sent); ``error_description`` is logged, never returned. On
    success every connection named is fetched into the mirror; the outcome is the
    last one's, with ``connection_ids`` naming them all. A Powens failure while
    fetching gives the state back, so reloading the page can finish the link.
    """
    error = params.get("error")
    # Malformed input is refused before the state is used up, so it changes nothing.
    ids = [] if error else _callback_ids(params)
    try:
        record = consume_state(user, params.get("state"), session_key=session_key)
    except InvalidCallback as invalid:
        if not error and getattr(invalid, "reason", None) == "expired":
            # The person took too long at the bank, but the bank may have linked the
            # account: adopt what Powens holds, so it shows on My banks.
            _reconcile_quietly(user)
        raise
    if error:
        return _failed_link(
            user, record, error[:100], (params.get("error_description") or "")[:500]
        )
    if not ids:
        # Back from a visit that linked nothing new (the Webview's "manage", where
        # banks may have been deleted or repaired): read what Powens holds now.
        try:
            fetch_connections(user)
        except Exception:
            LinkState.objects.filter(pk=record.pk).update(used_at=None)
            raise
        return Outcome(kind=CONNECTED, next_url=record.next_url)
    if record.connection_powens_id and record.connection_powens_id not in ids:
        logger.warning(
            "Callback for connection %s came back with %s", record.connection_powens_id, ids
        )
    try:
        outcome = _mirror_linked(user, ids)
    except Exception:
        # Given back, so reloading the page can finish the link.
        LinkState.objects.filter(pk=record.pk).update(used_at=None)
        raise
    return dataclasses.replace(outcome, next_url=record.next_url, connection_ids=tuple(ids))


def _mirror_linked(user: AnyUser, ids: list[int]) -> Outcome:
    # One connection: read it (and all its sources). Several (the Webview links many
    # banks in one visit): one list call mirrors them all, never one call per bank.
    if len(ids) == 1:
        outcome = fetch_connection(user, ids[0])
        if outcome.kind == DELETED:
            raise InvalidCallback("The callback names a connection this user does not have.")
        return outcome
    fetch_connections(user)
    found = {
        c.powens_id: c
        for c in Connection.objects.select_related("connector").filter(
            powens_user__user=user, powens_id__in=ids
        )
    }
    missing = [powens_id for powens_id in ids if powens_id not in found]
    if missing:
        raise InvalidCallback(f"The callback names connections this user does not have: {missing}")
    return outcome_for(found[ids[-1]])


#: What the person is told for the errors a bank flow (webauth or the Webview) can come
#: back with; any other error gets the generic failure text.
FAILURE_MESSAGES: dict[str, Promise] = {
    "tos_declined": _(
        "You did not accept the terms of use of the secure connection page, so no bank "
        "was connected."
    ),
    "session_expired": _(
        "The secure connection page expired before the connection was finished. Please start again."
    ),
    "server_error": _(
        "The secure connection page could not complete the connection. This is usually "
        "temporary: please try again in a few minutes."
    ),
}


def _failure_text(error: str) -> str | None:
    text = FAILURE_MESSAGES.get(error)
    return str(text) if text is not None else None


def _reconcile_quietly(user: AnyUser) -> None:
    try:
        fetch_connections(user)
    except ServiceError as error:
        logger.info(
            "Could not reconcile user pk=%s after an expired callback: %s", user.pk, error.code
        )


def _failed_link(user: AnyUser, record: LinkState, error: str, description: str) -> Outcome:
    cancelled = error == "access_denied"
    if cancelled:
        logger.info("Bank link cancelled by user pk=%s", user.pk)
    else:
        logger.warning(
            "Bank link failed for user pk=%s: %s (%s)",
            user.pk,
            printable(error, limit=100),
            printable(description, limit=200),
        )
    signal = signals.link_cancelled if cancelled else signals.link_failed
    transaction.on_commit(
        lambda: signal.send(
            LinkState,
            user=user,
            connector_uuid=record.connector_uuid or None,
            connection_powens_id=record.connection_powens_id,
            error=error,
        )
    )
    return Outcome(
        kind=CANCELLED if cancelled else FAILED,
        error=error,
        message=None if cancelled else _failure_text(error),
        next_url=record.next_url,
        connection_ids=(record.connection_powens_id,) if record.connection_powens_id else (),
    )
