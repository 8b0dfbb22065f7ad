"""Typed errors raised by :class:`~powens_django.client.PowensClient`.

Powens answers errors with ``{"code", "description", "message", "request_id"}`` and asks
integrators to branch on ``code``, not on the HTTP status, and to treat unknown codes
as a generic error. :func:`error_from_response` picks the class from the code, falls
back to the HTTP status when the code is unknown or missing, and keeps both.

Nothing here ever holds a token or a credential: the request is not attached, only
what Powens said.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..logsafe import printable


class PowensError(Exception):
    """Base class of every error the client raises.

    Attributes: ``code`` (Powens' error code, as sent), ``description`` (technical text,
    for logs), ``message`` (the bank's message meant for the end user, or None),
    ``request_id``, ``status`` (HTTP status, None when no response arrived) and
    ``body`` (the decoded error body, or None).
    """

    #: True when trying again later may succeed without anyone changing anything.
    transient: ClassVar[bool] = False
    #: Codes (compared case-insensitively) that select this class.
    codes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        description: str = "",
        *,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        self.code = code
        self.description = description
        self.message = message
        self.request_id = request_id
        self.status = status
        self.body = body
        super().__init__(self._summary())

    def _summary(self) -> str:
        parts = [f"{self.code}: " if self.code else "", self.description or "Powens error"]
        extra = []
        if self.status is not None:
            extra.append(f"HTTP {self.status}")
        if self.request_id:
            extra.append(f"request {self.request_id}")
        if extra:
            parts.append(f" ({', '.join(extra)})")
        return "".join(parts)

    def __reduce__(self) -> Any:  # keep keyword attributes through pickling (task queues)
        return (_rebuild, (type(self), str(self), self.__dict__.copy()))


def _rebuild(cls: type[PowensError], summary: str, state: dict[str, Any]) -> PowensError:
    error = cls.__new__(cls)
    Exception.__init__(error, summary)
    error.__dict__.update(state)
    return error


class WrongPassError(PowensError):
    """The bank refused the credentials (``wrongpass``, also spelled ``wrongPass``)."""

    codes = ("wrongpass",)


class ActionNeededError(PowensError):
    """The person must do something: at their bank (``actionNeeded``,
    ``passwordExpired``), answer the bank (``bankMessage``,
    ``additionalInformationNeeded``), or authenticate (``SCARequired``,
    ``webauthRequired``, ``decoupled``)."""

    codes = (
        "actionNeeded",
        "passwordExpired",
        "bankMessage",
        "additionalInformationNeeded",
        "SCARequired",
        "webauthRequired",
        "decoupled",
    )


class WebsiteUnavailableError(PowensError):
    """The bank's website or API is unavailable (``websiteUnavailable``)."""

    transient = True
    codes = ("websiteUnavailable",)


class RateLimitedError(PowensError):
    """Too many calls or syncs (``tooManySync``, ``rateLimiting``, HTTP 429).

    ``retry_after`` is the delay in seconds Powens asked for, when it said one.
    """

    transient = True
    codes = ("tooManySync", "rateLimiting", "rateLimited")

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class ConflictError(PowensError):
    """The connection is busy (``connectionLocked``, HTTP 409), e.g. a sync is running."""

    transient = True
    codes = ("connectionLocked", "conflict")


class NotFoundError(PowensError):
    """The object does not exist, or not for this user (HTTP 404)."""

    codes = ("notFound",)


class AuthenticationError(PowensError):
    """The token or client credentials were refused (``forbidden``, HTTP 401/403)."""

    codes = ("forbidden", "unauthorized", "invalidToken", "invalidClient")


class InvalidValueError(PowensError):
    """A parameter was missing or refused (``invalidValue``, ``missingParameter``).

    ``/webauth-url`` answers ``409 invalidValue`` for a connection that needs nothing.
    """

    codes = ("invalidValue", "missingParameter", "methodNotAllowed")


class ServerError(PowensError):
    """Powens failed (``bug``, ``keymanager``, HTTP 5xx, maintenance)."""

    transient = True
    codes = ("bug", "keymanager", "internalError")


class MalformedResponseError(PowensError):
    """Powens answered something that is not the JSON it documents."""

    transient = True


class PowensTransportError(PowensError):
    """No HTTP answer arrived."""

    transient = True


class PowensTimeoutError(PowensTransportError):
    """Powens did not answer within the configured timeout."""


class BudgetExhaustedError(PowensTimeoutError):
    """The request's time budget was spent before this call: nothing was sent."""


class PowensConnectionError(PowensTransportError):
    """Powens could not be reached (DNS, refused connection, TLS, reset)."""


_CODE_CLASSES: dict[str, type[PowensError]] = {
    code.lower(): cls
    for cls in (
        WrongPassError,
        ActionNeededError,
        WebsiteUnavailableError,
        RateLimitedError,
        ConflictError,
        NotFoundError,
        AuthenticationError,
        InvalidValueError,
        ServerError,
    )
    for code in cls.codes
}

_STATUS_CLASSES: dict[int, type[PowensError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def error_class_for(code: str | None, status: int | None) -> type[PowensError]:
    """The error class for a Powens ``code``, falling back to the HTTP ``status``."""
    if code and code.lower() in _CODE_CLASSES:
        return _CODE_CLASSES[code.lower()]
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status is not None and status >= 500:
        return ServerError
    return PowensError


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def error_from_response(
    status: int,
    body: Any,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> PowensError:
    """Build the typed error for an HTTP error answer.

    ``body`` is the decoded JSON (a dict when Powens followed its format), or None when
    the body was empty or not JSON.
    """
    if isinstance(body, dict):
        code = _text(body.get("code") or body.get("error"))
        description = _text(body.get("description") or body.get("error_description")) or ""
        message = _text(body.get("message"))
        from_body = _text(body.get("request_id"))
        request_id = printable(from_body, limit=100) if from_body else request_id
    else:
        code, message = None, None
        description = (
            f"HTTP {status} with an empty body"
            if body is None
            else f"HTTP {status} with a body that is not Powens' JSON error format"
        )
    cls = error_class_for(code, status)
    kwargs: dict[str, Any] = {
        "code": code,
        "message": message,
        "request_id": request_id,
        "status": status,
        "body": body if isinstance(body, dict) else None,
    }
    if issubclass(cls, RateLimitedError):
        kwargs["retry_after"] = retry_after
    return cls(description or f"HTTP {status}", **kwargs)
