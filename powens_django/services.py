"""The service layer: one function per user-level operation.

Pages, admin actions, the REST API, commands, tasks and webhook handlers all call
these functions and nothing below them. Each one talks to Powens through the client,
writes the mirror through :mod:`powens_django.sync`, and either returns a result or
raises: a :class:`~powens_django.client.PowensError` when Powens failed (nothing local
is changed then), or one of this module's errors for bad input.

Link operations (adding, repairing and completing connections) return a
:class:`LinkOutcome` naming where the person stands, so a caller can route them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import sync
from .client import (
    ActionNeededError,
    MalformedResponseError,
    NotFoundError,
    PowensClient,
    PowensError,
    WebsiteUnavailableError,
    WrongPassError,
)
from .conf import get_client, powens_settings
from .models import Connection, ConnectionSource, Connector, LinkState, PowensUser

logger = logging.getLogger("powens_django.services")

#: A Django user (settings.AUTH_USER_MODEL); typed loosely for custom user models.
AnyUser = Any

#: What the connection calls for after a link operation (``LinkOutcome.kind``).
CONNECTED = "connected"
NEEDS_FIELDS = "needs_fields"  # additionalInformationNeeded: ask `fields` (an OTP...)
WRONG_CREDENTIALS = "wrong_credentials"
DECOUPLED = "decoupled"  # confirm in the bank's app, then resume
VALIDATING = "validating"  # transient: poll
REAUTHENTICATE = "reauthenticate"  # SCARequired / webauthRequired
ACTION_NEEDED = "action_needed"  # passwordExpired / actionNeeded: act at the bank
TEMPORARY_ERROR = "temporary_error"  # rateLimiting / websiteUnavailable / bug
NOT_SUPPORTED = "not_supported"
UNKNOWN_STATE = "unknown_state"  # a state this version does not know
CANCELLED = "cancelled"  # the person cancelled at the bank (access_denied)
FAILED = "failed"  # the bank flow failed

_KIND_BY_STATE: dict[str | None, str] = {
    None: CONNECTED,
    "additionalInformationNeeded": NEEDS_FIELDS,
    "wrongpass": WRONG_CREDENTIALS,
    "decoupled": DECOUPLED,
    "validating": VALIDATING,
    "SCARequired": REAUTHENTICATE,
    "webauthRequired": REAUTHENTICATE,
    "passwordExpired": ACTION_NEEDED,
    "actionNeeded": ACTION_NEEDED,
    "rateLimiting": TEMPORARY_ERROR,
    "websiteUnavailable": TEMPORARY_ERROR,
    "bug": TEMPORARY_ERROR,
    "notSupported": NOT_SUPPORTED,
}


@dataclass(frozen=True)
class LinkOutcome:
    """Where a link operation left the person.

    ``kind`` is one of this module's constants; ``connection`` is the mirrored
    connection when there is one; ``state`` its Powens state; ``message`` the bank's
    message for the person (never a technical description); ``fields`` the
    ConnectorField definitions to ask next (OTP, new credentials); ``error`` the Powens
    error code when the outcome comes from an error answer or a failed callback.
    """

    kind: str
    connection: Connection | None = None
    state: str | None = None
    message: str | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    #: Where the flow's starter asked to land afterwards (callbacks only; unchecked).
    next_url: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == CONNECTED


class ServiceError(Exception):
    """Base class of the service layer's own errors (bad input, not Powens)."""


class InvalidCallback(ServiceError):
    """A callback without a valid state, or without a result: nothing was changed."""


class ConnectorUnavailable(ServiceError):
    """The connector cannot be used for a new connection (hidden, restricted, or not
    offering the requested mechanism)."""


def outcome_for(connection: Connection) -> LinkOutcome:
    """The :class:`LinkOutcome` matching a mirrored connection's current state."""
    return LinkOutcome(
        kind=_KIND_BY_STATE.get(connection.state, UNKNOWN_STATE),
        connection=connection,
        state=connection.state,
        message=connection.error_message or None,
        fields=list(connection.fields or []),
    )


def _outcome_for_error(error: PowensError, connection: Connection | None = None) -> LinkOutcome:
    if isinstance(error, WrongPassError):
        kind = WRONG_CREDENTIALS
    elif error.code in _KIND_BY_STATE and error.code is not None:
        # Codes that name a state (SCARequired, decoupled...) route like that state.
        kind = _KIND_BY_STATE[error.code]
    elif isinstance(error, ActionNeededError):
        kind = ACTION_NEEDED
    else:
        kind = TEMPORARY_ERROR
    return LinkOutcome(
        kind=kind,
        connection=connection,
        state=connection.state if connection else None,
        message=error.message,
        fields=list(connection.fields or []) if connection else [],
        error=error.code,
    )


# -- users ----------------------------------------------------------------------------


def _init_claim_seconds() -> float:
    """How long a claim to create a user's Powens account holds: longer than the
    slowest ``/auth/init`` can take (POSTs are not retried), so a slow call is never
    duplicated by a request that thinks the claim was abandoned."""
    connect, read = powens_settings.TIMEOUT
    return float(connect) + float(read) + 30.0


def ensure_powens_user(user: AnyUser, *, wait: float = 15.0) -> PowensUser:
    """The user's :class:`PowensUser`, creating the Powens user on first use.

    ``POST /auth/init`` is called at most once per Django user, even when two requests
    arrive together: one claims the creation with an atomic UPDATE, the other waits up
    to ``wait`` seconds for its result. No database lock is held during the HTTP call
    (the sandbox may be served by this very process and database).
    """
    powens_user, _ = PowensUser.objects.get_or_create(user=user)
    if powens_user.is_linked:
        return powens_user
    now = timezone.now()
    stale = now - dt.timedelta(seconds=_init_claim_seconds())
    claimed = (
        PowensUser.objects.filter(pk=powens_user.pk, powens_id__isnull=True)
        .filter(Q(init_claimed_at__isnull=True) | Q(init_claimed_at__lt=stale))
        .update(init_claimed_at=now)
    )
    if not claimed:
        return _wait_for_powens_user(powens_user, wait)
    try:
        created = get_client().init_user()
    except BaseException:
        PowensUser.objects.filter(pk=powens_user.pk).update(init_claimed_at=None)
        raise
    powens_user.powens_id = int(created["id_user"])
    powens_user.token = str(created["auth_token"])
    powens_user.init_claimed_at = None
    powens_user.save(update_fields=["powens_id", "token", "init_claimed_at", "updated_at"])
    logger.info("Created Powens user %s for user pk=%s", powens_user.powens_id, user.pk)
    return powens_user


def _wait_for_powens_user(powens_user: PowensUser, wait: float) -> PowensUser:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.1)
        powens_user.refresh_from_db()
        if powens_user.is_linked:
            return powens_user
        if powens_user.init_claimed_at is None:
            # The other request failed and released its claim: try ourselves.
            return ensure_powens_user(powens_user.user, wait=max(0.0, deadline - time.monotonic()))
    raise ServiceError("Another request is still creating this user's Powens account; retry.")


def _linked_powens_user(user: AnyUser) -> PowensUser | None:
    """The user's PowensUser when it has a Powens account, else None (reads only:
    refreshing a user who never linked a bank must not create a Powens user)."""
    powens_user = PowensUser.objects.filter(user=user).first()
    return powens_user if powens_user is not None and powens_user.is_linked else None


def client_for(powens_user: PowensUser) -> PowensClient:
    """A client carrying ``powens_user``'s token."""
    if not powens_user.is_linked:
        raise ServiceError("This user has no Powens account yet (call ensure_powens_user).")
    return get_client(powens_user.token)


def delete_powens_user(user: AnyUser) -> bool:
    """Erase the user's data at Powens (``DELETE /users/me``), then locally.

    Returns False when the user never had a Powens account. A Powens failure other
    than "already gone" keeps every local row and raises.
    """
    powens_user = PowensUser.objects.filter(user=user).first()
    if powens_user is None:
        return False
    if powens_user.is_linked:
        try:
            client_for(powens_user).delete_user()
        except NotFoundError:
            logger.info("Powens user %s was already deleted", powens_user.powens_id)
    ids = list(powens_user.connections.values_list("powens_id", flat=True))
    with transaction.atomic():
        ConnectionSource.objects.filter(connection__powens_user=powens_user).delete()
        powens_user.connections.all().delete()
        LinkState.objects.filter(user=user).delete()
        powens_user.delete()
        transaction.on_commit(lambda: sync.send_deleted(powens_user, ids))
    return True


# -- catalogue ------------------------------------------------------------------------

CATALOGUE_EXPAND = ("fields", "sources", "countries")


def refresh_catalogue(
    *, country_codes: str | Iterable[str] | None = None, progress: Any = None
) -> sync.SyncResult:
    """Mirror the connector catalogue (``GET /connectors?expand=fields,sources,countries``).

    With ``country_codes`` only those countries are fetched and nothing is pruned;
    without, connectors Powens no longer lists are removed. ``progress`` is an
    optional callable receiving ``(done, total)`` while payloads are compared.
    """
    if isinstance(country_codes, str):
        country_codes = country_codes.split(",")
    codes = [c.strip().upper() for c in country_codes or [] if c.strip()]
    payloads = get_client().list_connectors(country_codes=codes or None, expand=CATALOGUE_EXPAND)
    return sync.sync_connectors(payloads, prune=not codes, progress=progress)


# -- connections ----------------------------------------------------------------------

CONNECTION_EXPAND = ("connector", "sources")


def _mirror(
    powens_user: PowensUser, payload: Mapping[str, Any], *, sources_complete: bool
) -> Connection:
    powens_id = payload.get("id") if isinstance(payload, Mapping) else None
    if isinstance(powens_id, bool) or not isinstance(powens_id, int) or powens_id <= 0:
        # A 2xx answer we cannot identify: a Powens failure, not a crash, and nothing
        # is written.
        raise MalformedResponseError("Powens answered with a connection without a usable id")
    sync.sync_connections(powens_user, [payload], sources_complete=sources_complete)
    return Connection.objects.select_related("connector", "powens_user").get(
        powens_id=powens_id, powens_user=powens_user
    )


def _fetch(powens_user: PowensUser, powens_id: int) -> Connection:
    client = client_for(powens_user)
    payload = client.get_connection(powens_id, expand=CONNECTION_EXPAND)
    # expand=sources leaves disabled sources out; ask for all of them so that a
    # disabled source stays visible (and can be enabled again).
    payload = {**payload, "sources": client.list_connection_sources(powens_id, all=True)}
    return _mirror(powens_user, payload, sources_complete=True)


def fetch_connection(user: AnyUser, powens_id: int) -> Connection | None:
    """Refresh one of the user's connections from Powens (GETs only).

    Returns the mirrored connection, or None when Powens says it does not exist for
    this user (then any local copy is removed). Another user's id is simply not
    found: Powens answers 404 to a token that does not own the connection. A user
    without a Powens account has no connections: nothing is asked, None is returned.
    """
    powens_user = _linked_powens_user(user)
    if powens_user is None:
        return None
    try:
        return _fetch(powens_user, powens_id)
    except NotFoundError:
        stale = Connection.objects.filter(powens_user=powens_user, powens_id=powens_id).first()
        if stale is not None:
            sync.forget_connection(stale)
        return None


def fetch_connections(user: AnyUser) -> sync.SyncResult:
    """Refresh all of the user's connections from Powens with one GET; connections
    Powens no longer lists are removed locally (nothing is asked for a user without a
    Powens account)."""
    powens_user = _linked_powens_user(user)
    if powens_user is None:
        return sync.SyncResult()
    payloads = client_for(powens_user).list_connections(expand=CONNECTION_EXPAND)
    return sync.sync_connections(powens_user, payloads, complete=True)


def sync_connection(connection: Connection, *, psu_requested: bool = True) -> LinkOutcome:
    """Ask Powens for fresh data now (``PUT``): only for a person asking for it.

    A sync the person did not ask for must pass ``psu_requested=False``. Powens may
    refuse a sync right after another with :class:`~powens_django.client.ConflictError`.
    """
    powens_user = connection.powens_user
    payload = client_for(powens_user).sync_connection(
        connection.powens_id, psu_requested=psu_requested, expand=CONNECTION_EXPAND
    )
    return outcome_for(_mirror(powens_user, payload, sources_complete=False))


def sync_now(connection: Connection) -> LinkOutcome:
    """The sync a person asks for from a page, the admin or the API.

    ``SCARequired`` is cleared with the user-initiated empty ``POST`` Powens asks for
    (:func:`reauthenticate`); any other state gets a ``PUT`` with ``psu_requested``.
    """
    if connection.state == "SCARequired":
        return reauthenticate(connection)
    return sync_connection(connection, psu_requested=True)


def fields_to_ask(connection: Connection) -> list[dict[str, Any]]:
    """The ConnectorField definitions to ask the person for this connection.

    The fields the connection carries (an OTP, new credentials after ``wrongpass``);
    otherwise the connector's credentials fields, so a person can update their
    credentials at any time (Powens accepts them on an existing connection); nothing
    when the connector is unknown or takes no credentials.
    """
    from .forms import relevant_fields

    if connection.fields:
        return list(connection.fields)
    connector = connection.connector_or_none
    if connector is None:
        return []
    return [dict(f) for f in relevant_fields(connector.fields, auth_mechanism="credentials")]


def set_connection_active(connection: Connection, active: bool) -> Connection:
    """Turn Powens' automatic syncs of the connection on or off."""
    powens_user = connection.powens_user
    payload = client_for(powens_user).update_connection(
        connection.powens_id, active=active, expand=CONNECTION_EXPAND
    )
    return _mirror(powens_user, payload, sources_complete=False)


def set_source_enabled(source: ConnectionSource, enabled: bool) -> Connection:
    """Enable or disable one source of a connection; returns the refreshed connection."""
    connection = source.connection
    powens_user = connection.powens_user
    client_for(powens_user).update_connection_source(
        connection.powens_id, source.powens_id, disabled=not enabled
    )
    return _fetch(powens_user, connection.powens_id)


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
    return client_for(connection.powens_user).list_connection_logs(
        connection.powens_id,
        limit=limit,
        offset=offset,
        min_date=min_date,
        max_date=max_date,
        id_source=source.powens_id if source else None,
    )


def delete_connection(connection: Connection) -> None:
    """Delete the connection at Powens (permanent, erases its history), then locally.

    Powens' 404 means it is already gone there; any other failure keeps the local
    row and raises.
    """
    try:
        client_for(connection.powens_user).delete_connection(connection.powens_id)
    except NotFoundError:
        logger.info("Connection %s was already deleted at Powens", connection.powens_id)
    sync.forget_connection(connection)


# -- link operations ------------------------------------------------------------------


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
    redirect_uri: str,
    connector: Connector | None = None,
    connection: Connection | None = None,
    source: str | None = None,
    session_key: str | None = None,
    next_url: str = "",
) -> WebauthStart:
    """Start a bank's web authorization: a new connection (``connector``) or the
    repair of one (``connection``: SCA, consent renewal, reconnect).

    Records a random single-use ``state`` bound to the user (and to ``session_key``
    when given: pages pass the session, the API does not) and returns the Powens URL
    to redirect the browser to. Powens' 409 (the connection needs nothing) raises
    :class:`~powens_django.client.InvalidValueError` and records nothing.
    """
    if (connector is None) == (connection is None):
        raise ValueError("Give exactly one of connector and connection")
    if connector is not None and not connector.can_connect:
        raise ConnectorUnavailable(f"Connector {connector.uuid} does not accept new connections")
    if connection is not None and connection.powens_user.user_id != user.pk:
        raise ServiceError("This connection belongs to another user")
    powens_user = ensure_powens_user(user)
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
        url = client_for(powens_user).webauth_url(
            redirect_uri, source=source or None, state=state, **target
        )
    except BaseException:
        record.delete()
        raise
    # Only a start Powens accepted may push out the user's older pending flows.
    _prune_states(user, timezone.now(), keep_pk=record.pk)
    return WebauthStart(url=url, state=state)


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
        raise InvalidCallback(f"The callback's state is {reason}.")
    return record


def _callback_ids(params: Mapping[str, str]) -> list[int]:
    raw = [params.get("id_connection"), params.get("connection_id")]
    raw += (params.get("connection_ids") or "").split(",")
    ids: list[int] = []
    for value in raw:
        if value is None or not value.strip():
            continue
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or int(text) <= 0:
            raise InvalidCallback("The callback names a malformed connection id.")
        if int(text) not in ids:
            ids.append(int(text))
    return ids


def finish_callback(
    user: AnyUser, params: Mapping[str, str], *, session_key: str | None = None
) -> LinkOutcome:
    """Handle the browser's return from the bank (the ``redirect_uri`` request).

    Accepts ``id_connection`` (webauth) and ``connection_id``/``connection_ids``
    (Powens' hosted Webview). Without a valid state, or with malformed ids, nothing
    changes and :class:`InvalidCallback` is raised. ``error=access_denied`` gives a
    ``CANCELLED`` outcome, any other error ``FAILED``; ``error_description`` is
    logged, never returned. On success the connection is fetched into the mirror.
    """
    error = params.get("error")
    # Malformed input is refused before the state is used up, so it changes nothing.
    ids = [] if error else _callback_ids(params)
    if not error and not ids:
        raise InvalidCallback("The callback names no connection.")
    record = consume_state(user, params.get("state"), session_key=session_key)
    if error:
        description = (params.get("error_description") or "")[:500]
        if error == "access_denied":
            logger.info("Bank link cancelled by user pk=%s", user.pk)
            return LinkOutcome(kind=CANCELLED, error=error, next_url=record.next_url)
        logger.warning(
            "Bank link failed for user pk=%s: %s (%s)", user.pk, error[:100], description
        )
        return LinkOutcome(kind=FAILED, error=error[:100], next_url=record.next_url)
    if record.connection_powens_id and record.connection_powens_id not in ids:
        logger.warning(
            "Callback for connection %s came back with %s", record.connection_powens_id, ids
        )
    outcome: LinkOutcome | None = None
    for powens_id in ids:
        try:
            connection = fetch_connection(user, powens_id)
        except PowensError:
            # Powens failed, not the person: give the state back so that reloading
            # the page (within its lifetime) can finish the link.
            LinkState.objects.filter(pk=record.pk).update(used_at=None)
            raise
        if connection is None:
            raise InvalidCallback("The callback names a connection this user does not have.")
        outcome = outcome_for(connection)
    assert outcome is not None
    return dataclasses.replace(outcome, next_url=record.next_url)


def _without_client_frames(error: PowensError) -> PowensError:
    # The client's frames hold the typed values and the user token in their locals
    # (request bodies, headers), which error reports (Django's debug page, HTML error
    # mails, Sentry) print; re-raised from here, the report starts at this module's
    # frames, where sensitive_variables hides them.
    return error.with_traceback(None)


def _field_values(values: Mapping[str, Any], client: PowensClient) -> dict[str, str]:
    cleaned = {str(k): "" if v is None else str(v) for k, v in values.items()}
    if powens_settings.E2E_ENCRYPTION:
        return client.encrypt_fields(cleaned)
    return cleaned


@sensitive_variables("values", "fields")
def add_credentials_connection(
    user: AnyUser,
    connector: Connector,
    values: Mapping[str, Any],
    *,
    source: str | None = None,
) -> LinkOutcome:
    """Create a connection from the values a person typed in the connector's form.

    The values go to Powens (JWE-encrypted when ``E2E_ENCRYPTION`` is on) and are not
    kept anywhere. Refused credentials give ``WRONG_CREDENTIALS`` with the bank's
    message and create nothing; otherwise the outcome follows the new connection's
    state (``NEEDS_FIELDS`` for an OTP, ``DECOUPLED``...).
    """
    if not connector.can_connect:
        raise ConnectorUnavailable(f"Connector {connector.uuid} does not accept new connections")
    powens_user = ensure_powens_user(user)
    client = client_for(powens_user)
    fields = _field_values(values, client)
    try:
        payload = client.create_connection(
            fields, connector_uuid=connector.uuid, source=source or None, expand=CONNECTION_EXPAND
        )
    except (WrongPassError, ActionNeededError, WebsiteUnavailableError) as error:
        return _outcome_for_error(error)
    except PowensError as error:
        raise _without_client_frames(error) from None
    return outcome_for(_mirror(powens_user, payload, sources_complete=False))


@sensitive_variables("values", "fields")
def submit_connection_fields(
    connection: Connection, values: Mapping[str, Any], *, source: str | None = None
) -> LinkOutcome:
    """Send the values a connection asked for: an OTP (``additionalInformationNeeded``)
    or new credentials (``wrongpass``). Never stored; the outcome follows the new state.
    """
    powens_user = connection.powens_user
    client = client_for(powens_user)
    fields = _field_values(values, client)
    try:
        payload = client.update_connection(
            connection.powens_id, fields, source=source or None, expand=CONNECTION_EXPAND
        )
    except (WrongPassError, ActionNeededError, WebsiteUnavailableError) as error:
        # The refusal changed the connection's state at Powens: mirror it, so pages
        # stop saying "up to date" (best effort; the outcome stands either way).
        return _outcome_for_error(error, _refetch_quietly(powens_user, connection))
    except PowensError as error:
        raise _without_client_frames(error) from None
    return outcome_for(_mirror(powens_user, payload, sources_complete=False))


def _refetch_quietly(powens_user: PowensUser, connection: Connection) -> Connection:
    try:
        return _fetch(powens_user, connection.powens_id)
    except PowensError as error:
        logger.info("Could not refresh connection %s: %s", connection.powens_id, error)
        return connection


#: Powens' name for the step that asks the fields a connection carries.
submit_additional_information = submit_connection_fields


def resume_decoupled(connection: Connection, *, background: bool = False) -> LinkOutcome:
    """Resume a ``decoupled`` connection once the person confirmed in their bank's app.

    Blocking by default (Powens answers when the bank does); with ``background`` Powens
    answers at once with ``validating`` and the caller polls :func:`fetch_connection`.
    """
    powens_user = connection.powens_user
    try:
        payload = client_for(powens_user).update_connection(
            connection.powens_id, resume=True, background=background, expand=CONNECTION_EXPAND
        )
    except (WrongPassError, ActionNeededError, WebsiteUnavailableError) as error:
        return _outcome_for_error(error, connection)
    return outcome_for(_mirror(powens_user, payload, sources_complete=False))


def reauthenticate(connection: Connection) -> LinkOutcome:
    """Clear ``SCARequired`` with a user-initiated empty update (``POST``), as Powens
    asks; if the bank wants a browser flow instead, the outcome says ``REAUTHENTICATE``
    and the caller starts :func:`start_webauth` with the connection."""
    powens_user = connection.powens_user
    try:
        payload = client_for(powens_user).update_connection(
            connection.powens_id, expand=CONNECTION_EXPAND
        )
    except (WrongPassError, ActionNeededError, WebsiteUnavailableError) as error:
        return _outcome_for_error(error, connection)
    return outcome_for(_mirror(powens_user, payload, sources_complete=False))


def user_connections(user: AnyUser) -> Any:
    """The user's mirrored connections, with connector and sources loaded in a fixed
    number of queries (for pages and the API)."""
    return (
        Connection.objects.filter(powens_user__user=user)
        .select_related("connector", "powens_user")
        .prefetch_related("sources")
    )
