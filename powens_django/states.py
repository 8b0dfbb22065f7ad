"""Connection states, auth mechanisms and field types: open strings with descriptions.

Powens adds values over time and asks integrators to fall back to a generic case for
unknown ones. So the models store whatever string Powens sends, and this module
describes the values we know for display, with a generic description for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

#: What the person can do about a state; pages and the API map these to actions.
SYNC = "sync"  # ask for a fresh sync (user-initiated)
RECONNECT = "reconnect"  # go through the bank's web authorization again
REENTER_CREDENTIALS = "reenter_credentials"
ANSWER_FIELDS = "answer_fields"  # the connection carries `fields` to ask (OTP...)
RESUME = "resume"  # decoupled: confirm in the bank's app, then resume
WAIT = "wait"  # transient: poll
NOTHING = "nothing"  # Powens retries by itself


@dataclass(frozen=True)
class StateInfo:
    """How to present a connection state."""

    state: str | None
    label: str | Promise
    explanation: str | Promise
    action: str
    #: False for the generic description of a state this version does not know.
    known: bool = True
    #: True when the connection works (last sync succeeded).
    ok: bool = False
    #: True when the person must act for syncs to resume.
    needs_user: bool = False


_STATES: dict[str | None, StateInfo] = {
    info.state: info
    for info in (
        StateInfo(
            None,
            _("Up to date"),
            _("The last synchronization succeeded."),
            NOTHING,
            ok=True,
        ),
        StateInfo(
            "SCARequired",
            _("Authentication needed"),
            _("Your bank asks you to confirm your identity again before it shares new data."),
            SYNC,
            needs_user=True,
        ),
        StateInfo(
            "webauthRequired",
            _("Reconnection needed"),
            _("Your bank asks you to log in on its website to renew access."),
            RECONNECT,
            needs_user=True,
        ),
        StateInfo(
            "additionalInformationNeeded",
            _("Information requested"),
            _("Your bank needs more information, such as a one-time code, to continue."),
            ANSWER_FIELDS,
            needs_user=True,
        ),
        StateInfo(
            "decoupled",
            _("Waiting for your confirmation"),
            _("Confirm the connection in your bank's app, then continue here."),
            RESUME,
            needs_user=True,
        ),
        StateInfo(
            "validating",
            _("Being confirmed"),
            _("Your bank is confirming the connection. This takes a moment."),
            WAIT,
        ),
        StateInfo(
            "wrongpass",
            _("Wrong credentials"),
            _("Your bank refused the credentials. Enter them again."),
            REENTER_CREDENTIALS,
            needs_user=True,
        ),
        StateInfo(
            "passwordExpired",
            _("Password expired"),
            _("Your password has expired. Change it on your bank's website, then try again."),
            SYNC,
            needs_user=True,
        ),
        StateInfo(
            "actionNeeded",
            _("Action needed at your bank"),
            _(
                "Your bank needs you to do something on its website (accept new terms, "
                "read a message). Do it there, then try again."
            ),
            SYNC,
            needs_user=True,
        ),
        StateInfo(
            "rateLimiting",
            _("Temporarily paused"),
            _("Your bank is limiting access for now. Synchronization will resume by itself."),
            NOTHING,
        ),
        StateInfo(
            "websiteUnavailable",
            _("Bank unavailable"),
            _("Your bank's service is unavailable for now. We will try again automatically."),
            NOTHING,
        ),
        StateInfo(
            "bug",
            _("Temporary error"),
            _("An error occurred while synchronizing. We will try again automatically."),
            NOTHING,
        ),
        StateInfo(
            "notSupported",
            _("Not supported"),
            _("This kind of access is not supported for your bank."),
            NOTHING,
        ),
    )
}

KNOWN_STATES: frozenset[str | None] = frozenset(_STATES)


def describe_state(state: str | None) -> StateInfo:
    """How to present ``state``; an unknown one gets a generic "needs attention"."""
    info = _STATES.get(state)
    if info is not None:
        return info
    return StateInfo(
        state,
        _("Needs attention"),
        _("Something needs checking on this connection. Try synchronizing it again."),
        SYNC,
        known=False,
        needs_user=True,
    )


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
