"""HTTP for the Powens client: one session, timeouts, retries, logging, typed errors.

Retries: idempotent methods (GET, PUT, DELETE) are retried on connection failures and
on 429, 502, 503 and 504, with exponential backoff and jitter, honouring Retry-After
when it is no longer than ``max_retry_wait`` (a longer wait is handed to the caller as
``RateLimitedError.retry_after`` rather than blocking a web worker). POST is never
retried: creating a connection or submitting an OTP twice is not harmless. A read
timeout is not retried either, since Powens may still be talking to the bank.

Logging: one DEBUG line per attempt with method, path, status, duration and request
id. Headers and bodies are never logged, and query parameters that can carry secrets
are masked, so tokens, the client secret, codes and credentials stay out of logs.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import requests.auth

from .. import __version__
from ..logsafe import printable
from . import budget
from .errors import (
    BudgetExhaustedError,
    MalformedResponseError,
    PowensConnectionError,
    PowensError,
    PowensTimeoutError,
    error_from_response,
)

logger = logging.getLogger("powens_django.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Query parameters masked in logs and error descriptions.
SENSITIVE_PARAMS = frozenset(
    {"token", "code", "state", "client_secret", "access_token", "auth_token", "password"}
)
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Request-ID", "Request-Id", "X-Powens-Request-Id")


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>``; its repr never shows the token."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth ********>"


class Flag:
    """A value-less query flag, sent as ``?all`` (not ``?all=true``)."""

    def __repr__(self) -> str:
        return "FLAG"


FLAG = Flag()


def encode_query(params: Mapping[str, Any] | None) -> str:
    """Encode query parameters the way Powens documents them.

    None is left out, booleans are ``true``/``false``, sequences are comma lists
    (``expand=connector,sources``), and :data:`FLAG` gives a bare ``name``.
    """
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    flags: list[str] = []
    for name, value in params.items():
        if value is None:
            continue
        if value is FLAG:
            flags.append(quote(name))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            pairs.append((name, ",".join(str(v) for v in items)))
        else:
            pairs.append((name, str(value)))
    encoded = urlencode(pairs, quote_via=quote, safe=",[]")
    return "&".join(part for part in (encoded, *flags) if part)


def redact_url(url: str) -> str:
    """The path and query of ``url`` with sensitive parameter values masked."""
    parts = urlsplit(url)
    if not parts.query:
        return parts.path
    shown = []
    for item in parts.query.split("&"):
        name, sep, _value = item.partition("=")
        shown.append(f"{name}=***" if sep and name.lower() in SENSITIVE_PARAMS else item)
    return f"{parts.path}?{'&'.join(shown)}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class Transport:
    """Sends requests to one Powens API root and turns answers into data or errors."""

    def __init__(
        self,
        api_root: str,
        *,
        timeout: tuple[float, float] = (10.0, 300.0),
        max_retries: int = 3,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        session: requests.Session | None = None,
        user_agent_extra: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        root = urlsplit(api_root)
        if root.scheme not in ("http", "https") or not root.netloc:
            raise ValueError(f"The Powens API root must be an absolute http(s) URL: {api_root!r}")
        self.api_root = api_root.rstrip("/") + "/"
        self._origin = (root.scheme, root.netloc)
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.session = session or requests.Session()
        agent = f"powens-django/{__version__} python-requests/{requests.__version__}"
        self.session.headers["User-Agent"] = (
            f"{agent} {user_agent_extra}" if user_agent_extra else agent
        )
        self.session.headers["Accept"] = "application/json"
        self._sleep = sleep
        self._jitter = jitter

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of ``path`` (relative to the root, or an absolute URL on
        the same origin, such as a ``_links.next.href``) with ``params`` encoded."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            if (parts.scheme, parts.netloc) != self._origin:
                # Never send a bearer token to a host Powens' answer pointed us to.
                raise ValueError(f"Refusing to follow a URL outside the API root: {path!r}")
            url = path
        else:
            url = self.api_root + path.lstrip("/")
        query = encode_query(params)
        if query:
            url += ("&" if "?" in url else "?") + query
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        bearer: str | None = None,
    ) -> Any:
        """Send one call (retrying when allowed) and return the decoded JSON body.

        Returns None for an empty 2xx answer (e.g. 204). Raises a
        :class:`~powens_django.client.errors.PowensError` subclass otherwise.
        """
        method = method.upper()
        url = self.url(path, params)
        shown = redact_url(url)
        # The token lives only inside BearerAuth (masked repr) and is dropped from this
        # frame: error reports that print local variables (Django's debug page, HTML
        # error mails, Sentry) must not show it.
        auth = BearerAuth(bearer) if bearer else None
        del bearer
        retryable = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            attempt += 1
            failure: PowensError | None = None
            timeout = self._timeout_within_budget(method, shown)
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    auth=auth,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                error = self._transport_error(exc, method, shown)
                elapsed = (time.monotonic() - started) * 1000
                logger.debug(
                    "Powens %s %s -> %s after %.0f ms (attempt %d)",
                    method,
                    shown,
                    type(error).__name__,
                    elapsed,
                    attempt,
                )
                delay = self._backoff(attempt)
                if (
                    retryable
                    and attempt <= self.max_retries
                    and self._retry_on(exc)
                    and self._fits_budget(delay)
                ):
                    self._wait(delay, method, shown, type(error).__name__)
                    continue
                failure = error
            if failure is not None:
                # Raised outside the except block so that neither __cause__ nor
                # __context__ holds the requests exception, whose text has the full
                # URL (state, codes) that error reporters would print.
                raise failure
            elapsed = (time.monotonic() - started) * 1000
            request_id = self._request_id(response)
            logger.debug(
                "Powens %s %s -> %s in %.0f ms (request_id=%s, attempt %d)",
                method,
                shown,
                response.status_code,
                elapsed,
                request_id,
                attempt,
            )
            if response.status_code in RETRY_STATUSES and retryable:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if attempt <= self.max_retries and (
                    retry_after is None or retry_after <= self.max_retry_wait
                ):
                    delay = retry_after if retry_after is not None else self._backoff(attempt)
                    if self._fits_budget(delay):
                        self._wait(delay, method, shown, str(response.status_code))
                        continue
            return self._decode(response, request_id)

    # -- helpers --------------------------------------------------------------------

    @staticmethod
    def _retry_on(exc: requests.RequestException) -> bool:
        # A connect timeout means nothing reached Powens; a read timeout may mean the
        # bank is still being called, so repeating it would only add load.
        if isinstance(exc, requests.ConnectTimeout):
            return True
        if isinstance(exc, requests.Timeout):
            return False
        return isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError)

    @staticmethod
    def _transport_error(exc: requests.RequestException, method: str, shown: str) -> PowensError:
        # The requests exception text holds the full URL; keep only redacted facts.
        if isinstance(exc, requests.Timeout):
            kind = "connecting" if isinstance(exc, requests.ConnectTimeout) else "waiting for"
            return PowensTimeoutError(f"Timed out {kind} Powens on {method} {shown}")
        return PowensConnectionError(
            f"Could not reach Powens on {method} {shown} ({type(exc).__name__})"
        )

    def _timeout_within_budget(self, method: str, shown: str) -> tuple[float, float]:
        """The (connect, read) timeout of the next attempt, cut to the time budget."""
        left = budget.remaining()
        if left is None:
            return self.timeout
        if left < 0.05:
            raise BudgetExhaustedError(f"No time left in the budget for {method} {shown}")
        connect, read = self.timeout
        return (min(connect, left), min(read, left))

    def _fits_budget(self, delay: float) -> bool:
        left = budget.remaining()
        return left is None or delay < left

    def _backoff(self, attempt: int) -> float:
        delay = min(self.max_retry_wait, self.backoff * (2 ** (attempt - 1)))
        return delay * (0.5 + self._jitter() / 2)

    def _wait(self, delay: float, method: str, shown: str, reason: str) -> None:
        logger.info("Powens %s %s gave %s; retrying in %.2f s", method, shown, reason, delay)
        self._sleep(delay)

    @staticmethod
    def _request_id(response: requests.Response) -> str | None:
        for name in REQUEST_ID_HEADERS:
            if name in response.headers:
                return printable(response.headers[name], limit=100)
        if response.status_code >= 400:
            # Powens' error body carries the request id when no header does.
            try:
                body = response.json()
            except ValueError:
                return None
            if isinstance(body, dict) and body.get("request_id"):
                return printable(body["request_id"], limit=100)
        return None

    def _decode(self, response: requests.Response, request_id: str | None) -> Any:
        status = response.status_code
        content = response.content
        body: Any = None
        decoded = False
        if content.strip():
            try:
                body = json.loads(content)
                decoded = True
            except ValueError:
                body = None
        if 200 <= status < 300:
            if not content.strip():
                return None
            if not decoded:
                raise MalformedResponseError(
                    f"Powens answered HTTP {status} with a body that is not JSON",
                    status=status,
                    request_id=request_id,
                )
            return body
        if 300 <= status < 400:
            raise MalformedResponseError(
                f"Powens answered with an unexpected redirect (HTTP {status})",
                status=status,
                request_id=request_id,
            )
        # A non-JSON body (an HTML error page from a proxy) is passed as bytes: the
        # error then says so instead of pretending Powens sent a code.
        raise error_from_response(
            status,
            body if decoded else (content if content.strip() else None),
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
