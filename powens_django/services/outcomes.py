"""Typed results of the service layer.

A connection-level operation returns an :class:`Outcome`: its ``kind`` (one
:class:`~powens_django.states.OutcomeKind`) says where the person stands, so a front
door routes on it without reading Powens' states or errors. Operations over many
objects return a :class:`BatchResult` with one :class:`BatchItem` per object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..client import PowensError, WrongPassError
from ..states import Action, OutcomeKind, StateInfo, describe_state, kind_for_state

if TYPE_CHECKING:
    from ..models import Connection
    from .errors import ServiceError

# The kinds as module constants, for callers that compare (``outcome.kind == CONNECTED``).
CONNECTED = OutcomeKind.CONNECTED
NEEDS_FIELDS = OutcomeKind.NEEDS_FIELDS
WRONG_CREDENTIALS = OutcomeKind.WRONG_CREDENTIALS
DECOUPLED = OutcomeKind.DECOUPLED
VALIDATING = OutcomeKind.VALIDATING
REAUTHENTICATE = OutcomeKind.REAUTHENTICATE
ACTION_NEEDED = OutcomeKind.ACTION_NEEDED
TEMPORARY_ERROR = OutcomeKind.TEMPORARY_ERROR
NOT_SUPPORTED = OutcomeKind.NOT_SUPPORTED
UNKNOWN_STATE = OutcomeKind.UNKNOWN_STATE
CANCELLED = OutcomeKind.CANCELLED
FAILED = OutcomeKind.FAILED
DELETED = OutcomeKind.DELETED

#: What to tell a person whose link attempt ended in this kind without a bank message.
_REFUSALS: dict[OutcomeKind, str | Promise] = {
    OutcomeKind.WRONG_CREDENTIALS: _(
        "Your bank refused these credentials. Check them and try again."
    ),
    OutcomeKind.ACTION_NEEDED: _("Your bank needs you to do something on its website first."),
    OutcomeKind.TEMPORARY_ERROR: _("Your bank is unavailable right now. Please try again later."),
    OutcomeKind.CANCELLED: _("You cancelled the connection to your bank. Nothing was changed."),
    OutcomeKind.FAILED: _("Your bank could not be connected. Please try again."),
}


@dataclass(frozen=True)
class Outcome:
    """Where an operation left a connection, and the person.

    ``kind`` comes from the state table (or from the callback's error); ``connection``
    is the mirrored connection when there is one; ``state`` its Powens state;
    ``message`` the bank's message for the person (never a technical description);
    ``fields`` the ConnectorField definitions to ask next (OTP, new credentials);
    ``error`` the Powens error code or callback error behind it; ``next_url`` where the
    flow's starter asked to land afterwards (callbacks only; unchecked: front doors
    validate it); ``connection_ids`` every connection a callback named.
    """

    kind: OutcomeKind
    connection: Connection | None = None
    state: str | None = None
    message: str | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    next_url: str = ""
    connection_ids: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the connection works."""
        return self.kind == OutcomeKind.CONNECTED

    @property
    def state_info(self) -> StateInfo:
        """The state table's entry for ``state``."""
        return describe_state(self.state)

    @property
    def actions(self) -> list[Action]:
        """What the person can do next (the connection's actions)."""
        return self.connection.actions if self.connection is not None else []

    @property
    def text(self) -> str | Promise:
        """The words for the person: the bank's message, else a plain default for
        refusals and failures, else the state's explanation."""
        if self.message:
            return self.message
        if self.kind in _REFUSALS:
            return _REFUSALS[self.kind]
        return self.state_info.explanation


#: The former name of :class:`Outcome`.
LinkOutcome = Outcome


def outcome_for(connection: Connection) -> Outcome:
    """The :class:`Outcome` matching a mirrored connection's current state."""
    return Outcome(
        kind=kind_for_state(connection.state),
        connection=connection,
        state=connection.state,
        message=connection.error_message or None,
        fields=list(connection.fields or []),
    )


def outcome_for_error(error: PowensError, connection: Connection | None = None) -> Outcome:
    """The outcome of a link operation Powens refused for the person's reason
    (wrong credentials, an action at the bank, the bank unavailable)."""
    if isinstance(error, WrongPassError):
        kind = OutcomeKind.WRONG_CREDENTIALS
    elif error.code is not None and describe_state(error.code).known:
        # Codes that name a state (SCARequired, decoupled...) route like that state.
        kind = kind_for_state(error.code)
    elif error.transient:
        kind = OutcomeKind.TEMPORARY_ERROR
    else:
        kind = OutcomeKind.ACTION_NEEDED
    return Outcome(
        kind=kind,
        connection=connection,
        state=connection.state if connection else None,
        message=error.message,
        fields=list(connection.fields or []) if connection else [],
        error=error.code,
    )


@dataclass(frozen=True)
class BatchItem:
    """One object of a batch operation: its ``key`` (a Powens id, a user pk), and
    either its ``outcome`` (or ``result``) or the ``error`` that stopped it."""

    key: Any
    outcome: Outcome | None = None
    result: Any = None
    error: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchResult:
    """What a batch operation did, one :class:`BatchItem` per object, in order.

    One failure never stops the others: look at :attr:`failed`.
    """

    items: list[BatchItem] = field(default_factory=list)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def succeeded(self) -> list[BatchItem]:
        return [item for item in self.items if item.ok]

    @property
    def failed(self) -> list[BatchItem]:
        return [item for item in self.items if not item.ok]
