"""The one table of connection states, and the open vocabularies around it.

Powens adds values over time and asks integrators to fall back to a generic case for
unknown ones. So the models store whatever string Powens sends, and this module
describes the values we know, with a generic description for the rest.

Each state carries everything a front door needs to present it: a label, a plain-words
explanation, a tone (for colour), the outcome kind the service layer reports for it,
and the actions a person can take, most useful first. Pages, the admin and the API
render what this table says; none of them decides per state on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class OutcomeKind(StrEnum):
    """Where an operation left a connection (``Outcome.kind`` in the service layer).

    The values are stable machine codes: front doors route on them and the API
    returns them.
    """

    #: The connection works (its last synchronization succeeded).
    CONNECTED = "connected"
    #: ``additionalInformationNeeded``: ask the connection's ``fields`` (an OTP...).
    NEEDS_FIELDS = "needs_fields"
    #: ``wrongpass``, or credentials refused when creating a connection.
    WRONG_CREDENTIALS = "wrong_credentials"
    #: ``decoupled``: the person confirms in their bank's app, then resumes.
    DECOUPLED = "decoupled"
    #: ``validating``: transient, poll.
    VALIDATING = "validating"
    #: ``SCARequired`` / ``webauthRequired``: authenticate again.
    REAUTHENTICATE = "reauthenticate"
    #: ``passwordExpired`` / ``actionNeeded``: act on the bank's website.
    ACTION_NEEDED = "action_needed"
    #: ``rateLimiting`` / ``websiteUnavailable`` / ``bug``: Powens retries by itself.
    TEMPORARY_ERROR = "temporary_error"
    #: ``notSupported``.
    NOT_SUPPORTED = "not_supported"
    #: A state this version does not know.
    UNKNOWN_STATE = "unknown_state"
    #: The person cancelled at the bank or in the Webview (``access_denied``).
    CANCELLED = "cancelled"
    #: The browser flow failed (any other callback error).
    FAILED = "failed"
    #: The connection (or user) is gone: deleted, or Powens no longer has it.
    DELETED = "deleted"


class Action(StrEnum):
    """What a person can do about a connection; front doors map each to a control."""

    #: Ask for fresh data now (a user-initiated sync).
    SYNC = "sync"
    #: Clear ``SCARequired`` with the user-initiated empty update Powens asks for.
    REAUTHENTICATE = "reauthenticate"
    #: Go through the bank's website again (webauth, consent renewal).
    RECONNECT = "reconnect"
    #: Type the credentials again (credentials connectors).
    REENTER_CREDENTIALS = "reenter_credentials"
    #: Answer what the bank asks (the connection's ``fields``: an OTP...).
    ANSWER_FIELDS = "answer_fields"
    #: Decoupled: confirm in the bank's app, then resume.
    RESUME = "resume"
    #: Transient: wait and watch the progress.
    WAIT = "wait"
    #: Disconnect the bank (deletes the connection at Powens, for good).
    DELETE = "delete"

    @property
    def label(self) -> str | Promise:
        """What the action is called on a button or a link."""
        return ACTION_LABELS[self]


#: What each action is called on a button or a link.
ACTION_LABELS: dict[Action, str | Promise] = {
    Action.SYNC: _("Sync now"),
    Action.REAUTHENTICATE: _("Confirm access"),
    Action.RECONNECT: _("Reconnect on the bank's website"),
    Action.REENTER_CREDENTIALS: _("Enter your credentials again"),
    Action.ANSWER_FIELDS: _("Answer your bank"),
    Action.RESUME: _("Continue"),
    Action.WAIT: _("See progress"),
    Action.DELETE: _("Disconnect"),
}

#: Tones, for colour: the connection works, the person must act, or time will tell.
OK, ATTENTION, WAITING, ERROR = "ok", "attention", "waiting", "error"

#: Actions that need the connector to take credentials typed here, or a web login.
_CREDENTIALS_ONLY = frozenset({Action.REENTER_CREDENTIALS})
_WEBAUTH_ONLY = frozenset({Action.RECONNECT})


@dataclass(frozen=True)
class StateInfo:
    """How to present a connection state, and what it calls for."""

    state: str | None
    label: str | Promise
    explanation: str | Promise
    #: The outcome kind the service layer reports for a connection in this state.
    kind: OutcomeKind
    #: What the person can do, most useful first (filter with :func:`actions_for`).
    actions: tuple[Action, ...]
    #: ``ok``, ``attention`` (the person must act), ``waiting`` or ``error``.
    tone: str
    #: False for the generic description of a state this version does not know.
    known: bool = True

    @property
    def ok(self) -> bool:
        """True when the connection works (its last sync succeeded)."""
        return self.tone == OK

    @property
    def needs_user(self) -> bool:
        """True when the person must act for synchronizations to resume."""
        return self.tone == ATTENTION

    @property
    def action(self) -> Action | None:
        """The main action (the first that is not a deletion), if any."""
        return next((a for a in self.actions if a != Action.DELETE), None)


def _info(
    state: str | None,
    label: str | Promise,
    explanation: str | Promise,
    kind: OutcomeKind,
    actions: Iterable[Action],
    tone: str,
) -> StateInfo:
    return StateInfo(state, label, explanation, kind, (*actions, Action.DELETE), tone)


A = Action
_STATES: dict[str | None, StateInfo] = {
    info.state: info
    for info in (
        _info(
            None,
            _("Up to date"),
            _("The last synchronization succeeded."),
            OutcomeKind.CONNECTED,
            [A.SYNC],
            OK,
        ),
        _info(
            "SCARequired",
            _("Authentication needed"),
            _("Your bank asks you to confirm your identity again before it shares new data."),
            OutcomeKind.REAUTHENTICATE,
            [A.REAUTHENTICATE, A.RECONNECT],
            ATTENTION,
        ),
        _info(
            "webauthRequired",
            _("Reconnection needed"),
            _("Your bank asks you to log in on its website to renew access."),
            OutcomeKind.REAUTHENTICATE,
            [A.RECONNECT],
            ATTENTION,
        ),
        _info(
            "additionalInformationNeeded",
            _("Information requested"),
            _("Your bank needs more information, such as a one-time code, to continue."),
            OutcomeKind.NEEDS_FIELDS,
            [A.ANSWER_FIELDS],
            ATTENTION,
        ),
        _info(
            "decoupled",
            _("Waiting for your confirmation"),
            _("Confirm the connection in your bank's app, then continue here."),
            OutcomeKind.DECOUPLED,
            [A.RESUME],
            ATTENTION,
        ),
        _info(
            "validating",
            _("Being confirmed"),
            _("Your bank is confirming the connection. This takes a moment."),
            OutcomeKind.VALIDATING,
            [A.WAIT],
            WAITING,
        ),
        _info(
            "wrongpass",
            _("Wrong credentials"),
            _("Your bank refused the credentials. Enter them again."),
            OutcomeKind.WRONG_CREDENTIALS,
            [A.REENTER_CREDENTIALS, A.RECONNECT],
            ATTENTION,
        ),
        _info(
            "passwordExpired",
            _("Password expired"),
            _(
                "Your password has expired. Change it on your bank's website, then enter "
                "the new one here."
            ),
            OutcomeKind.ACTION_NEEDED,
            [A.REENTER_CREDENTIALS, A.RECONNECT, A.SYNC],
            ATTENTION,
        ),
        _info(
            "actionNeeded",
            _("Action needed at your bank"),
            _(
                "Your bank needs you to do something on its website (accept new terms, "
                "read a message). Do it there, then try again."
            ),
            OutcomeKind.ACTION_NEEDED,
            [A.SYNC, A.REENTER_CREDENTIALS, A.RECONNECT],
            ATTENTION,
        ),
        _info(
            "rateLimiting",
            _("Temporarily paused"),
            _("Your bank is limiting access for now. Synchronization will resume by itself."),
            OutcomeKind.TEMPORARY_ERROR,
            [],
            WAITING,
        ),
        _info(
            "websiteUnavailable",
            _("Bank unavailable"),
            _("Your bank's service is unavailable for now. We will try again automatically."),
            OutcomeKind.TEMPORARY_ERROR,
            [],
            WAITING,
        ),
        _info(
            "bug",
            _("Temporary error"),
            _("An error occurred while synchronizing. We will try again automatically."),
            OutcomeKind.TEMPORARY_ERROR,
            [],
            WAITING,
        ),
        _info(
            "notSupported",
            _("Not supported"),
            _("This kind of access is not supported for your bank."),
            OutcomeKind.NOT_SUPPORTED,
            [],
            ERROR,
        ),
    )
}
del A

KNOWN_STATES: frozenset[str | None] = frozenset(_STATES)

_UNKNOWN = (
    _("Needs attention"),
    _("Something needs checking on this connection. Try synchronizing it again."),
)


def describe_state(state: str | None) -> StateInfo:
    """How to present ``state``; an unknown one gets a generic "needs attention"."""
    info = _STATES.get(state)
    if info is not None:
        return info
    return StateInfo(
        state,
        _UNKNOWN[0],
        _UNKNOWN[1],
        OutcomeKind.UNKNOWN_STATE,
        (Action.SYNC, Action.DELETE),
        ATTENTION,
        known=False,
    )


def kind_for_state(state: str | None) -> OutcomeKind:
    """The outcome kind of a connection in ``state`` (unknown states included)."""
    return describe_state(state).kind


def actions_for(state: str | None, *, auth_mechanism: str | None) -> list[Action]:
    """The actions a connection in ``state`` offers, given its connector's
    ``auth_mechanism``: re-entering credentials needs a credentials connector, a web
    reconnection a webauth one.

    When the mechanism is unknown (connector not in the catalogue) both repairs stay,
    so a person is never left without a way forward.
    """
    actions = list(describe_state(state).actions)
    if auth_mechanism == "webauth":
        actions = [a for a in actions if a not in _CREDENTIALS_ONLY]
    elif auth_mechanism == "credentials":
        actions = [a for a in actions if a not in _WEBAUTH_ONLY]
    return actions


AUTH_MECHANISMS: dict[str, str | Promise] = {
    "credentials": _("Credentials entered here"),
    "webauth": _("Log in on your bank's website"),
}

FIELD_TYPES = frozenset({"text", "password", "date", "list", "number"})


def describe_auth_mechanism(mechanism: str | None) -> str | Promise:
    """A label for an auth mechanism; unknown ones get a generic label."""
    if mechanism in AUTH_MECHANISMS:
        return AUTH_MECHANISMS[mechanism]
    return _("Other method")


#: The way a person reaches their bank through each known source, in their words (the
#: technical source name is for the admin only).
SOURCE_LABELS: dict[str, str | Promise] = {
    "openapi": _("On your bank's website"),
    "directaccess": _("With your login details"),
}


def describe_source(name: str | None, auth_mechanism: str | None = None) -> str | Promise:
    """A person's words for a source: ``"openapi"`` is "On your bank's website",
    ``"directaccess"`` "With your login details"; another source by its login method
    when known, else "Another way (name)"."""
    if name in SOURCE_LABELS:
        return SOURCE_LABELS[name or ""]
    if auth_mechanism == "webauth":
        return SOURCE_LABELS["openapi"]
    if auth_mechanism == "credentials":
        return SOURCE_LABELS["directaccess"]
    return _("Another way (%(name)s)") % {"name": name or "?"}
