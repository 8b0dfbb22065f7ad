"""Connections made or repaired with values the person types: credentials, an OTP.

Values go to Powens (JWE-encrypted when ``E2E_ENCRYPTION`` is on) and are kept
nowhere: not in the database, not in a log line, not in an error report (the
functions mark them sensitive, and Powens errors leave without the client's frames).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from ..client import (
    ActionNeededError,
    BudgetExhaustedError,
    PowensClient,
    PowensError,
    PowensTimeoutError,
    WebsiteUnavailableError,
    WrongPassError,
    time_budget,
)
from ..conf import powens_settings
from ..logsafe import printable
from ..models import Connection, Connector, PowensUser
from .catalogue import check_connectable
from .connections import CONNECTION_EXPAND, _fetch, mirror
from .errors import LinkInProgress, LinkOutcomeUnknown, ServiceError, from_powens
from .outcomes import Outcome, outcome_for, outcome_for_error
from .reconcile import (
    RECOVERY_SECONDS,
    adopt_after_uncertain_create,
    known_connections,
    link_guard,
)
from .users import AnyUser, client_for, ensure_powens_user
from .webauth import check_may_link

logger = logging.getLogger("powens_django.services")

#: Powens refusals that are the person's business (an outcome), not a failure.
_REFUSALS = (WrongPassError, ActionNeededError, WebsiteUnavailableError)


# Every local (the typed values, their cleaned copy) is hidden from error reports, and
# so is every frame below it: the client's encryption and jwcrypto's.
@sensitive_variables()
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
    request: HttpRequest | None = None,
) -> Outcome:
    """Create a connection from the values a person typed in the connector's form.

    Refused credentials give ``WRONG_CREDENTIALS`` with the bank's message and create
    nothing; otherwise the outcome follows the new connection's state
    (``NEEDS_FIELDS`` for an OTP, ``DECOUPLED``...). Raises
    :class:`~.errors.NotAllowed` when the adapter refuses the user,
    :class:`~.errors.ConnectorUnavailable` for a connector not offered,
    :class:`~.errors.LinkInProgress` while another create of this user runs.

    When Powens' answer is lost (a timeout, a 5xx, a garbled answer) the connection
    may exist anyway: the user's connections are listed and the new one adopted, so
    the outcome is the connection's; only when Powens has none is the failure raised.
    """
    check_may_link(user, request=request)
    check_connectable(connector, request=request)
    powens_user = ensure_powens_user(user, request=request)
    client = client_for(powens_user)
    known = known_connections(powens_user)
    try:
        with link_guard(powens_user) as claim:
            try:
                fields = _field_values(values, client)
            except PowensError as error:
                raise from_powens(error) from None  # nothing was sent
            try:
                payload = client.create_connection(
                    fields,
                    connector_uuid=connector.uuid,
                    source=source or None,
                    expand=CONNECTION_EXPAND,
                )
            except _REFUSALS as error:
                return outcome_for_error(error.with_traceback(None))
            except PowensError as error:
                failure = from_powens(error)
                if not error.transient:
                    raise failure from None
            else:
                return outcome_for(mirror(powens_user, payload, sources_complete=False))
            # The request may have reached Powens (a timeout, a 5xx, a garbled answer):
            # adopt what it made rather than invite a second connection.
            adopted = adopt_after_uncertain_create(
                powens_user, known=claim.known, connector_uuid=connector.uuid, cause=failure
            )
            if adopted is None and _may_still_be_running(failure):
                # Powens may still be making it: no second attempt until that settles
                # (the claim expires on its own); Refresh adopts it once it is listed.
                claim.keep_until_settled()
                raise LinkOutcomeUnknown(failure.detail, powens_error=failure.powens_error)
        if adopted is None:
            raise failure
    except LinkInProgress:
        # Another create of this user runs, or an earlier one timed out and may still
        # be completing: if Powens lists it by now, that is the bank the person wants.
        adopted = adopt_after_uncertain_create(
            powens_user, known=known, connector_uuid=connector.uuid, cause=LinkInProgress()
        )
        if adopted is None:
            raise
    return outcome_for(adopted)


@sensitive_variables("values", "fields")
def submit_connection_fields(
    connection: Connection, values: Mapping[str, Any], *, source: str | None = None
) -> Outcome:
    """Send the values a connection asked for: an OTP (``additionalInformationNeeded``)
    or new credentials (``wrongpass``, ``passwordExpired``). Never stored; the outcome
    follows the new state (a refusal is mirrored as the state Powens now reports)."""
    return update_connection_refusable(
        connection, values=values, source=source, refresh_on_refusal=True
    )


#: Powens' name for the step that asks the fields a connection carries.
submit_additional_information = submit_connection_fields


@sensitive_variables("values", "fields")
def update_connection_refusable(
    connection: Connection,
    *,
    values: Mapping[str, Any] | None = None,
    source: str | None = None,
    resume: bool | None = None,
    background: bool = False,
    refresh_on_refusal: bool = False,
) -> Outcome:
    """``POST`` on a connection on the person's behalf (values, a resume, or the empty
    update that clears ``SCARequired``). A refusal that is the person's business
    (wrong credentials, an action at the bank, the bank down) is an outcome; the
    connection is then refreshed (``refresh_on_refusal``, best effort), so pages stop
    saying "up to date". When the answer is lost (a timeout, a 5xx, a garbled answer)
    the connection is read again: if its state moved, Powens took the update and the
    outcome is the new state's; otherwise the failure is raised."""
    powens_user = connection.powens_user
    # Repairs are links too: the adapter's can_link decides (NotAllowed).
    check_may_link(powens_user.user)
    client = client_for(powens_user)
    try:
        fields = _field_values(values, client) if values is not None else None
    except PowensError as error:
        raise from_powens(error) from None  # nothing was sent
    try:
        payload = client.update_connection(
            connection.powens_id,
            fields,
            source=source or None,
            resume=resume,
            background=background,
            expand=CONNECTION_EXPAND,
        )
    except _REFUSALS as error:
        if refresh_on_refusal:
            connection = _refetch_quietly(powens_user, connection)
        return outcome_for_error(error.with_traceback(None), connection)
    except PowensError as error:
        failure = from_powens(error)
        if not error.transient:
            raise failure from None
    else:
        return outcome_for(mirror(powens_user, payload, sources_complete=False))
    before = (connection.state, connection.fields)
    after = _refetch_quietly(powens_user, connection)
    if after is connection or (after.state, after.fields) == before:
        raise failure
    return outcome_for(after)


def _may_still_be_running(failure: ServiceError) -> bool:
    # A read timeout: the request reached Powens, which may still be talking to the
    # bank. (A budget spent before sending, or a 5xx, ended at Powens' side.)
    error = failure.powens_error
    return isinstance(error, PowensTimeoutError) and not isinstance(error, BudgetExhaustedError)


def _refetch_quietly(powens_user: PowensUser, connection: Connection) -> Connection:
    try:
        # Its own few seconds: the lost answer has usually spent the request's budget.
        with time_budget(RECOVERY_SECONDS, replace=True):
            return _fetch(powens_user, connection.powens_id)
    except PowensError as error:
        logger.info("Could not refresh connection %s: %s", connection.powens_id, printable(error))
        return connection
