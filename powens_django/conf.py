"""The ``POWENS`` settings dict, read lazily with documented defaults.

Host projects configure the app with one setting::

    POWENS = {
        "DOMAIN": "acme-sandbox",
        "CLIENT_ID": "...",
        "CLIENT_SECRET": "...",
        "TOKEN_ENCRYPTION_KEYS": ["..."],
    }

and code reads it through ``powens_settings.CLIENT_ID``. Values are cached on first read
and the cache is dropped whenever ``settings.POWENS`` changes (``override_settings`` in
tests), like Django REST framework's ``api_settings``. Validation is the job of the
system checks in :mod:`powens_django.checks`, so a bad value is reported at start-up
with a stable id instead of crashing the first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed

if TYPE_CHECKING:
    from .client import PowensClient

SETTING_NAME = "POWENS"

#: Every key the app reads, with its default. docs/settings.md describes each one.
DEFAULTS: dict[str, Any] = {
    # Where the API lives: DOMAIN gives https://{DOMAIN}.biapi.pro/2.0/; API_URL, when
    # set, is used as is (the sandbox, a proxy) and wins over DOMAIN.
    "DOMAIN": None,
    "API_URL": None,
    # Client application credentials from the Powens console (server-side only).
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    # Console configuration token, only needed to update connectors.
    "CONFIG_TOKEN": None,
    # Fernet keys encrypting users' Powens tokens at rest, newest first; older keys
    # still decrypt, so a key is rotated by adding a new one in front.
    "TOKEN_ENCRYPTION_KEYS": [],
    # HMAC secrets of the webhook authentication provider, newest first (rotation).
    "WEBHOOK_SECRETS": [],
    # Largest accepted age of a webhook's BI-Signature-Date, in seconds (replays).
    "WEBHOOK_TOLERANCE": 300,
    # How webhooks authenticate: "hmac" (BI-Signature with WEBHOOK_SECRETS) and/or
    # "bearer" (the user's own token); with both, either is accepted.
    "WEBHOOK_AUTH": ["hmac"],
    # The path Powens signs, when a proxy serves the receiver under another path than
    # the one Django sees: the mount's public prefix ("/api/powens/webhooks/").
    "WEBHOOK_PATH_PREFIX": None,
    # Largest webhook body accepted, in bytes, before and after gzip (a CONNECTION_SYNCED
    # with thousands of transactions is a few megabytes).
    "WEBHOOK_MAX_BODY_SIZE": 50 * 1024 * 1024,
    # "request": process a delivery before answering it; "task": record it, answer 202
    # and process it in a task (powens_django.tasks.process_webhook_event).
    "WEBHOOK_PROCESSING": "request",
    # Days processed and refused webhook events are kept (powens_prune_webhooks);
    # None keeps them for ever. Events never processed are kept until they are.
    "WEBHOOK_RETENTION_DAYS": 90,
    # (connect, read) seconds. Reads are long: creating or syncing a connection talks
    # to the bank synchronously and can take minutes.
    "TIMEOUT": (10.0, 300.0),
    # Seconds all the Powens calls of one web request may take together (retries and
    # backoffs included); None: no budget. Commands and workers are not budgeted.
    "REQUEST_TIME_BUDGET": 30.0,
    # Retries of idempotent calls (GET, PUT, DELETE) on connection errors, 429, 502,
    # 503 and 504, with exponential backoff and jitter. POSTs are never retried.
    "MAX_RETRIES": 3,
    "RETRY_BACKOFF": 0.5,
    # Longest Retry-After the client waits for; a longer one is raised to the caller.
    "RETRY_MAX_WAIT": 30.0,
    # Encrypt credential field values as JWE (RSA-OAEP-256 + A256GCM) before sending.
    "E2E_ENCRYPTION": False,
    # How long the key from GET /publickey is reused, in seconds.
    "PUBLIC_KEY_CACHE_SECONDS": 3600,
    # Browser flows: seconds a webauth `state` stays valid, and how many unfinished
    # flows one user may have (older ones are dropped first).
    "STATE_MAX_AGE": 900,
    "MAX_PENDING_STATES": 10,
    # The callback URL registered at Powens (no query string). None: built from the
    # request and the "powens:callback" route; set it behind proxies that rewrite hosts.
    "REDIRECT_URI": None,
    # Where a person lands after linking a bank: a URL or URL name. None: the
    # connection's page. A safe `next` given when the flow started wins.
    "SUCCESS_URL": None,
    # How banks are linked: "custom" (this site's forms and /webauth-url: needs PSD2
    # agent status), "webview" (Powens' hosted Webview: what every other customer must
    # use), or a dict per auth mechanism, e.g. {"credentials": "webview",
    # "webauth": "custom", "default": "webview"}. The adapter may decide per request.
    "LINK_MODE": "custom",
    # Powens' hosted Webview (the sandbox serves one at /sandbox/webview).
    "WEBVIEW_URL": "https://webview.powens.com",
    # In webview mode, who shows the list of banks: "site" (this site's picker, then the
    # Webview opens on the chosen bank) or "powens" (the Webview's own picker).
    "WEBVIEW_PICKER": "site",
    # Banks per page in the picker.
    "PICKER_PAGE_SIZE": 24,
    # Powens calls in flight at once when refreshing many users (powens_sync_connections;
    # halved while Powens answers 429, grown back one by one after).
    "SYNC_CONCURRENCY": 16,
    # The host's adapter: a dotted path to a subclass of
    # powens_django.adapter.DefaultPowensAdapter (docs/customising.md).
    "ADAPTER": "powens_django.adapter.DefaultPowensAdapter",
    # Deleting a Django user deletes its Powens user at Powens (DELETE /users/me, after
    # the deletion commits), keeping what is needed to retry until Powens confirms.
    "DELETE_POWENS_USER_WITH_USER": True,
}


class PowensSettings:
    """Attribute access to ``settings.POWENS`` merged over :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._client: PowensClient | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTING_NAME, None)
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid POWENS setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self.user_settings.get(name, DEFAULTS[name])
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()
        self._client = None

    @property
    def api_root(self) -> str | None:
        """The API root URL ending with a slash, or None when neither key is set."""
        if self.API_URL:
            return str(self.API_URL).rstrip("/") + "/"
        if self.DOMAIN:
            return f"https://{self.DOMAIN}.biapi.pro/2.0/"
        return None


powens_settings = PowensSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        powens_settings.reload()


setting_changed.connect(_reload)


def get_client(token: str | None = None) -> PowensClient:
    """Return a :class:`~powens_django.client.PowensClient` configured from ``POWENS``.

    ``token`` is a Powens user token for the user-scoped endpoints. Every client
    returned shares one HTTP session (connection pool) and one public-key cache until
    the settings change. Raises ``ImproperlyConfigured`` when no API root is set.
    """
    base = powens_settings._client
    if base is None:
        base = powens_settings._client = _build_client()
    return base.with_token(token) if token else base


def _build_client() -> PowensClient:
    from django.core.exceptions import ImproperlyConfigured

    from . import __version__
    from .client import PowensClient

    root = powens_settings.api_root
    if root is None:
        raise ImproperlyConfigured(
            'Set POWENS["DOMAIN"] (or POWENS["API_URL"]) to reach the Powens API.'
        )
    connect, read = powens_settings.TIMEOUT
    return PowensClient(
        root,
        client_id=powens_settings.CLIENT_ID,
        client_secret=powens_settings.CLIENT_SECRET,
        config_token=powens_settings.CONFIG_TOKEN,
        timeout=(float(connect), float(read)),
        max_retries=int(powens_settings.MAX_RETRIES),
        backoff=float(powens_settings.RETRY_BACKOFF),
        max_retry_wait=float(powens_settings.RETRY_MAX_WAIT),
        public_key_ttl=float(powens_settings.PUBLIC_KEY_CACHE_SECONDS),
        user_agent_extra=f"django-app/{__version__}",
    )
