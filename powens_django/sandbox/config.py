"""The sandbox's settings: ``settings.POWENS_SANDBOX``, read on every use.

The sandbox reads nothing else (not the app's ``POWENS`` dict): it is the other side of
the wire. Values are read at call time so that tests can change them with
``override_settings`` or pytest-django's ``settings`` fixture, including while a
``live_server`` thread is answering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

SETTING_NAME = "POWENS_SANDBOX"
FAULTS_ENV = "POWENS_SANDBOX_FAULTS"

DEFAULTS: dict[str, Any] = {
    # The sandbox hands out tokens to anyone who knows a client secret, and its secrets
    # are usually development ones: a system check (powens_sandbox.E006) refuses it with
    # DEBUG=False unless this is True (a staging demo, a test runner forcing DEBUG off).
    "ALLOW_WITHOUT_DEBUG": False,
    # client_id -> client_secret accepted by /auth/init, /auth/renew, /auth/token/access.
    "CLIENTS": {},
    # The redirect_uris /webauth-url and /webauth accept, as registered in Powens'
    # console: exact scheme, host, port and path; no query string. None registered: the
    # bank page is never opened (it would be an open redirect).
    "REDIRECT_URIS": [],
    # Bearer tokens accepted for connector updates (the console's configuration token).
    "CONFIG_TOKENS": [],
    # HMAC secret for BI-Signature; None sends unsigned webhooks in "hmac" mode.
    "WEBHOOK_SECRET": None,
    # Event type (CONNECTION_SYNCED, CONNECTION_DELETED, USER_DELETED) -> receiver URL.
    "WEBHOOK_URLS": {},
    # "hmac" (BI-Signature headers) or "bearer" (the user's own token).
    "WEBHOOK_AUTH": "hmac",
    "WEBHOOK_GZIP": False,
    # "after_response": sent once the triggering response is finished (as Powens does);
    # "immediate": sent before the triggering response returns (deterministic tests);
    # "manual": only recorded, sent by `manage.py sandbox_retry_webhooks`.
    "WEBHOOK_DELIVERY": "after_response",
    "WEBHOOK_TIMEOUT": 5.0,
    # Powens pauses a webhook after 10 consecutive failures.
    "WEBHOOK_MAX_ATTEMPTS": 10,
    # "503:0.1,429:0.05,slow:0.1,malformed:0.05"; absent -> $POWENS_SANDBOX_FAULTS.
    "FAULTS": None,
    # An int makes the fault draws reproducible.
    "FAULTS_SEED": None,
    "FAULT_SLOW_SECONDS": 2.0,
    "FAULT_RETRY_AFTER": 1,
    # A forced sync (PUT) within this many seconds of the previous sync answers 409.
    "SYNC_COOLDOWN": 10,
    # How long a ?background=true operation stays in progress before it settles.
    "BACKGROUND_DELAY": 2.0,
    # How long a blocking {"resume": true} waits in `validating` before answering.
    "RESUME_DELAY": 1.0,
    # Lifetime of temporary codes and webauth bank pages, in seconds.
    "CODE_TTL": 1800,
    "WEBAUTH_TTL": 1800,
    # Values of the Webview's `domain` parameter accepted besides the request's own
    # host[:port] (e.g. "acme-sandbox.biapi.pro" when the app is set up with a domain).
    "WEBVIEW_DOMAINS": [],
}


def get(name: str) -> Any:
    """The value of ``POWENS_SANDBOX[name]``, or its default."""
    user = getattr(settings, SETTING_NAME, None) or {}
    if name == "FAULTS" and "FAULTS" not in user:
        return os.environ.get(FAULTS_ENV, "")
    return user.get(name, DEFAULTS[name])


def clients() -> dict[str, str]:
    """Accepted client applications, ``{client_id: client_secret}`` as strings."""
    return {str(k): str(v) for k, v in (get("CLIENTS") or {}).items()}


def config_tokens() -> list[str]:
    """Accepted configuration tokens."""
    return [str(t) for t in (get("CONFIG_TOKENS") or []) if t]


def webview_domains() -> list[str]:
    """Extra accepted values of the Webview's ``domain`` parameter, lowercased."""
    value = get("WEBVIEW_DOMAINS") or []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return []
    return [str(item).strip().lower() for item in value if str(item).strip()]


def redirect_uri_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a ``redirect_uri`` (registered or asked for), or None."""
    if not isinstance(value, str) or not value:
        return "a redirect_uri must be a non-empty string"
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "a redirect_uri must be an absolute http(s) URL"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "a redirect_uri must not contain a query string or a fragment"
    try:
        parts.port  # noqa: B018  (raises ValueError on a port out of range)
    except ValueError:
        return "a redirect_uri must have a valid port"
    return None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def redirect_uri_key(value: str) -> tuple[str, str, str, int, str]:
    """What two ``redirect_uri``s must share to match: the scheme and host (compared
    case-insensitively), any user info, the port (an explicit default port is the
    same as none) and the path, byte for byte (a trailing slash matters).

    ``value`` must pass :func:`redirect_uri_problem`.
    """
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return (
        scheme,
        userinfo,
        (parts.hostname or "").lower(),
        parts.port or _DEFAULT_PORTS[scheme],
        parts.path or "/",
    )


def registered_redirect_uris() -> list[str]:
    """The usable entries of ``REDIRECT_URIS`` (the system check reports the others)."""
    value = get("REDIRECT_URIS") or []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return []
    return [uri for uri in value if redirect_uri_problem(uri) is None]


def is_registered_redirect_uri(value: str) -> bool:
    """Whether ``value`` (which passed :func:`redirect_uri_problem`) is registered."""
    key = redirect_uri_key(value)
    return any(redirect_uri_key(uri) == key for uri in registered_redirect_uris())


@dataclass(frozen=True)
class Faults:
    """Shares (0 to 1) of API responses to spoil, parsed from the ``FAULTS`` string."""

    unavailable: float = 0.0  # 503
    rate_limited: float = 0.0  # 429 with Retry-After
    malformed: float = 0.0  # 200 with a body that is not JSON
    slow: float = 0.0  # answer normally, after FAULT_SLOW_SECONDS

    @property
    def any(self) -> bool:
        return bool(self.unavailable or self.rate_limited or self.malformed or self.slow)


_FAULT_NAMES = {"503": "unavailable", "429": "rate_limited", "malformed": "malformed"}


def parse_faults(text: str | None) -> Faults:
    """Parse ``"503:0.1,429:0.05,slow:0.1,malformed:0.05"``.

    Unknown names and unreadable shares raise ``ValueError`` so that a typo in a
    reliability test does not silently test nothing.
    """
    values: dict[str, float] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, share = item.partition(":")
        name = name.strip().lower()
        field = "slow" if name == "slow" else _FAULT_NAMES.get(name)
        if field is None:
            raise ValueError(f"Unknown sandbox fault {name!r} (use 503, 429, slow, malformed)")
        try:
            value = float(share) if share.strip() else 1.0
        except ValueError:
            raise ValueError(f"Unreadable share for sandbox fault {name!r}: {share!r}") from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"Sandbox fault share must be between 0 and 1: {item!r}")
        values[field] = value
    faults = Faults(**values)
    if faults.unavailable + faults.rate_limited + faults.malformed > 1.0 + 1e-9:
        raise ValueError("Sandbox fault shares of 503, 429 and malformed add up to more than 1")
    return faults
