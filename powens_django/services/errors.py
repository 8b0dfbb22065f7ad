"""The service layer's errors: a stable machine code and a translatable message.

Every user-level operation either returns a typed result or raises one of these. A
front door (page, admin action, API endpoint, command, task, webhook handler) catches
:class:`ServiceError`, shows ``message`` (or the adapter's text for ``code``) and logs
``detail``; it never needs to know which Powens error class stood behind it.

This module is the one place where Powens' error classes are interpreted
(:func:`from_powens`): a timeout becomes :class:`PowensUnavailable`, a 409 on a sync
:class:`SyncInProgress`, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..client import (
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    PowensError,
    RateLimitedError,
)
from ..logsafe import printable

#: The longest ``detail`` kept (Powens' descriptions are outside text of any length).
DETAIL_LIMIT = 500


class ServiceError(Exception):
    """Base class of every error the service layer raises.

    ``code`` is a stable machine code (API bodies, tests, adapters branch on it);
    ``message`` a translatable text for the person; ``detail`` a technical text for
    logs (never shown), made one printable line of at most :data:`DETAIL_LIMIT`
    characters (it carries Powens' descriptions: see :mod:`powens_django.logsafe`);
    ``powens_error`` the Powens error behind it, if any (without its traceback, whose
    frames may hold a token or typed credentials);
    ``retry_after`` seconds after which trying again may work, when known.
    """

    code: ClassVar[str] = "service_error"
    default_message: ClassVar[str | Promise] = _("Something went wrong. Please try again.")
    #: True when trying again later may work without anyone changing anything.
    transient: ClassVar[bool] = False
    #: The HTTP status an HTTP front door answers with.
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        detail: str = "",
        *,
        message: str | Promise | None = None,
        powens_error: PowensError | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.detail = printable(detail, limit=DETAIL_LIMIT)
        self.message = message if message is not None else self.default_message
        self.powens_error = powens_error.with_traceback(None) if powens_error else None
        self.retry_after = retry_after
        super().__init__(self.detail or str(self.message))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} code={self.code!r} detail={self.detail!r}>"


class NotFound(ServiceError):
    """The object does not exist for this user (another user's id included)."""

    code = "not_found"
    default_message = _("This bank connection does not exist.")
    http_status = 404


class NotAllowed(ServiceError):
    """The host's adapter does not let this user link banks."""

    code = "not_allowed"
    default_message = _("You are not allowed to connect a bank.")
    http_status = 403


class InvalidCallback(ServiceError):
    """A callback without a valid state, or without a result: nothing was changed."""

    code = "invalid_callback"
    default_message = _(
        "This link has expired or was already used. Start again from your list of banks."
    )
    #: Why the state was refused ("unknown", "expired", "already used"...), for logs.
    reason: str | None = None


class ConnectorUnavailable(ServiceError):
    """The connector cannot be used for a new connection (hidden, restricted, not
    offered by the host, or not offering the requested login method)."""

    code = "connector_unavailable"
    default_message = _("This bank cannot be connected at the moment.")


class NothingToRepair(ServiceError):
    """The connection needs no reconnection (Powens' 409 on ``/webauth-url``)."""

    code = "nothing_to_repair"
    default_message = _("This bank connection is already up to date.")
    http_status = 409


class SyncInProgress(ServiceError):
    """Powens is busy with this connection (a synchronization is running)."""

    code = "sync_in_progress"
    default_message = _(
        "Your bank was synchronized moments ago, or is being synchronized now. Try again "
        "in a few minutes."
    )
    transient = True
    http_status = 409


class LinkInProgress(ServiceError):
    """Another request of this user is creating a connection right now (a double
    submit, a second tab): waiting for it avoids a second connection at Powens."""

    code = "link_in_progress"
    default_message = _(
        "A connection to your bank is already being made. Wait a moment, then check "
        "your list of banks."
    )
    transient = True
    http_status = 409


class LinkOutcomeUnknown(ServiceError):
    """Powens' answer to a new connection was lost and the connection is not listed
    yet: Powens may still be making it. A second attempt now could make a second one,
    so the link claim is kept until it settles."""

    code = "link_outcome_unknown"
    default_message = _(
        "Your bank did not answer in time. The connection may still be completing: "
        "check your list of banks in a few minutes before trying again."
    )
    transient = True
    http_status = 503


class NoPowensAccount(ServiceError):
    """The user has no Powens account yet (nothing linked, nothing to act on)."""

    code = "no_powens_account"
    default_message = _("You have not connected a bank yet.")
    http_status = 409


class TokenUnreadable(ServiceError):
    """The user's stored Powens token cannot be decrypted with any configured key (a
    key was removed before ``powens_rotate_keys`` re-encrypted the tokens): the site's
    team must fix ``TOKEN_ENCRYPTION_KEYS`` (``manage.py powens_check_keys``)."""

    code = "token_unreadable"
    default_message = _(
        "Your bank connections cannot be reached right now. Our team has been alerted; "
        "please try again later."
    )
    http_status = 503


class AccountCreationPending(ServiceError):
    """Another request is still creating this user's Powens account."""

    code = "account_creation_pending"
    default_message = _("Your account is being set up. Please try again in a moment.")
    transient = True
    http_status = 503


class PowensRateLimited(ServiceError):
    """Powens or the bank asks us to slow down (429, ``tooManySync``)."""

    code = "rate_limited"
    default_message = _(
        "Your bank connection is busy right now. Please try again in a few minutes."
    )
    transient = True
    http_status = 503


class PowensUnavailable(ServiceError):
    """Powens could not be reached, timed out, failed or answered nonsense; trying
    again later may work."""

    code = "powens_unavailable"
    default_message = _("We could not reach the bank connection service. Please try again shortly.")
    transient = True
    http_status = 503


class PowensAccessRefused(ServiceError):
    """Powens refused our credentials or the user's token (revoked, expired): trying
    again will not help; the site's team must look (the details are in the log)."""

    code = "access_refused"
    default_message = _(
        "Our banking partner refused our access. Please contact us: your bank details "
        "are safe and nothing was changed."
    )
    http_status = 502


class PowensRefused(ServiceError):
    """Powens refused the request for a reason trying again will not fix (our
    credentials, a parameter); the details are in the log."""

    code = "powens_refused"
    default_message = _("The bank connection service refused this request. Please try again later.")
    http_status = 502


def request_time_budget() -> Any:
    """A context manager giving the Powens calls of one web request
    ``POWENS["REQUEST_TIME_BUDGET"]`` seconds in all (retries included): front doors
    serving a person wrap their service calls in it; commands and workers do not."""
    from ..client import time_budget
    from ..conf import powens_settings

    return time_budget(powens_settings.REQUEST_TIME_BUDGET)


def from_powens(
    error: PowensError, *, conflict: type[ServiceError] = SyncInProgress
) -> ServiceError:
    """The service error for a Powens failure (the one place that reads their classes).

    ``conflict`` is what Powens' 409 means for the call at hand: a running sync for
    most calls, "nothing to repair" for ``/webauth-url``.
    """
    cls: type[ServiceError]
    retry_after = None
    if isinstance(error, RateLimitedError):
        cls, retry_after = PowensRateLimited, error.retry_after
    elif isinstance(error, ConflictError) or (
        conflict is NothingToRepair and isinstance(error, InvalidValueError) and error.status == 409
    ):
        cls = conflict
    elif error.transient:
        cls = PowensUnavailable
    elif isinstance(error, AuthenticationError):
        cls = PowensAccessRefused
    else:
        cls = PowensRefused
    return cls(str(error), powens_error=error, retry_after=retry_after)


@contextmanager
def powens_failures(**kwargs: Any) -> Iterator[None]:
    """Turn a :class:`~powens_django.client.PowensError` raised inside into the
    matching :class:`ServiceError` (see :func:`from_powens`).

    The Powens error is not chained: its traceback's frames hold request bodies and
    the user's token, which error reports print.
    """
    try:
        yield
    except PowensError as error:
        raise from_powens(error, **kwargs) from None
