"""System checks for the ``POWENS`` setting.

Every problem has a stable id (``powens_django.E001`` ...) that a project can silence
with ``SILENCED_SYSTEM_CHECKS`` and search for in docs/settings.md, and every message
says which key to set. Secret values are never echoed in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import django
from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse

from .conf import DEFAULTS, SETTING_NAME

#: How many stored tokens ``check --deploy`` tries (half the oldest, half the newest).
KEY_CHECK_SAMPLE = 20

_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", re.IGNORECASE)


def _error(id_: int, msg: str, hint: str) -> Error:
    return Error(msg, hint=hint, id=f"powens_django.E{id_:03d}")


@register(Tags.security, "powens_django")
def check_powens_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report missing or malformed ``POWENS`` keys."""
    raw = getattr(settings, SETTING_NAME, None)
    if raw is not None and not isinstance(raw, dict):
        return [
            _error(
                10,
                f"settings.{SETTING_NAME} must be a dict, not {type(raw).__name__}.",
                'Write POWENS = {"DOMAIN": ..., "CLIENT_ID": ..., ...}.',
            )
        ]
    user = raw or {}
    messages: list[CheckMessage] = []
    messages += _check_api_root(user)
    messages += _check_client_credentials(user)
    messages += _check_encryption_keys(user)
    messages += _check_transport(user)
    messages += _check_webhook_secrets(user)
    messages += _check_webhooks(user)
    messages += _check_link_mode(user)
    messages += _check_tasks_backport()
    messages += _check_time_budget(user)
    messages += _check_sync_concurrency(user)
    messages += _check_adapter(user)
    for key in sorted(set(user) - set(DEFAULTS)):
        messages.append(
            Warning(
                f"POWENS[{key!r}] is not a setting powens-django knows; it is ignored.",
                hint="Check its spelling against docs/settings.md.",
                id="powens_django.W001",
            )
        )
    return messages


def _check_api_root(user: dict[str, Any]) -> Iterable[CheckMessage]:
    api_url, domain = user.get("API_URL"), user.get("DOMAIN")
    if not api_url and not domain:
        yield _error(
            1,
            "No Powens API root is configured.",
            'Set POWENS["DOMAIN"] to your Powens domain (e.g. "acme-sandbox" for '
            'https://acme-sandbox.biapi.pro/2.0/), or POWENS["API_URL"] to a full root URL.',
        )
        return
    if api_url:
        parts = urlsplit(str(api_url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            yield _error(
                6,
                'POWENS["API_URL"] is not an absolute http(s) URL.',
                'Set it to a root such as "https://acme.biapi.pro/2.0/".',
            )
        elif parts.scheme != "https" and not settings.DEBUG:
            yield _error(
                5,
                'POWENS["API_URL"] does not use https while DEBUG is off.',
                "User tokens and bank credentials would cross the network in clear: "
                "use an https:// URL (plain http is only accepted with DEBUG = True).",
            )
    elif not _DOMAIN_RE.match(str(domain)):
        yield _error(
            7,
            f'POWENS["DOMAIN"] = {domain!r} is not a Powens domain name.',
            'Give only the domain part: "acme-sandbox", not "acme-sandbox.biapi.pro" '
            'or a URL (use POWENS["API_URL"] for a full URL).',
        )


def _check_client_credentials(user: dict[str, Any]) -> Iterable[CheckMessage]:
    missing = [key for key in ("CLIENT_ID", "CLIENT_SECRET") if not user.get(key)]
    if missing:
        yield _error(
            2,
            "Powens client credentials are missing: " + ", ".join(missing) + ".",
            'Set POWENS["CLIENT_ID"] and POWENS["CLIENT_SECRET"] from the client '
            "application in the Powens console (read them from the environment).",
        )


def _check_encryption_keys(user: dict[str, Any]) -> Iterable[CheckMessage]:
    keys = user.get("TOKEN_ENCRYPTION_KEYS")
    hint = (
        'Set POWENS["TOKEN_ENCRYPTION_KEYS"] to a list of Fernet keys, newest first. '
        'Make one with: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"'
    )
    if not keys:
        yield _error(3, "No key is configured to encrypt Powens user tokens at rest.", hint)
        return
    if isinstance(keys, str | bytes) or not isinstance(keys, list | tuple):
        yield _error(
            4, 'POWENS["TOKEN_ENCRYPTION_KEYS"] must be a list of keys, not a single value.', hint
        )
        return
    from cryptography.fernet import Fernet

    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # Never echo the value: it is a secret even when malformed.
            yield _error(
                4,
                f'POWENS["TOKEN_ENCRYPTION_KEYS"][{index}] is not a valid Fernet key '
                "(32 url-safe base64-encoded bytes).",
                hint,
            )


def _check_transport(user: dict[str, Any]) -> Iterable[CheckMessage]:
    timeout = user.get("TIMEOUT", DEFAULTS["TIMEOUT"])
    if not (
        isinstance(timeout, list | tuple)
        and len(timeout) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in timeout)
    ):
        yield _error(
            8,
            'POWENS["TIMEOUT"] must be a pair of positive seconds (connect, read).',
            "For example (10, 300): connection creation waits for the bank and can take "
            "minutes, so keep the read timeout long.",
        )
    for key in (
        "MAX_RETRIES",
        "RETRY_BACKOFF",
        "RETRY_MAX_WAIT",
        "WEBHOOK_TOLERANCE",
        "STATE_MAX_AGE",
        "MAX_PENDING_STATES",
        "PUBLIC_KEY_CACHE_SECONDS",
    ):
        value = user.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            yield _error(9, f'POWENS["{key}"] must be a number >= 0.', "See docs/settings.md.")


def _check_sync_concurrency(user: dict[str, Any]) -> Iterable[CheckMessage]:
    value = user.get("SYNC_CONCURRENCY", DEFAULTS["SYNC_CONCURRENCY"])
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        yield _error(
            9,
            'POWENS["SYNC_CONCURRENCY"] must be a whole number from 1 to 64.',
            "For example 16: Powens calls in flight at once when refreshing many users.",
        )


def _check_time_budget(user: dict[str, Any]) -> Iterable[CheckMessage]:
    value = user.get("REQUEST_TIME_BUDGET", DEFAULTS["REQUEST_TIME_BUDGET"])
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
    ):
        yield _error(
            9,
            'POWENS["REQUEST_TIME_BUDGET"] must be a number of seconds > 0, or None.',
            "For example 30: the Powens calls of one web request never take longer.",
        )


def _check_webhook_secrets(user: dict[str, Any]) -> Iterable[CheckMessage]:
    secrets = user.get("WEBHOOK_SECRETS", [])
    if isinstance(secrets, str | bytes) or not isinstance(secrets, list | tuple):
        yield _error(
            11,
            'POWENS["WEBHOOK_SECRETS"] must be a list of secrets, not a single value.',
            'Write ["secret"]; list several during a rotation, newest first.',
        )
    elif not all(isinstance(s, str | bytes) and s for s in secrets):
        yield _error(
            11,
            'POWENS["WEBHOOK_SECRETS"] holds an empty or non-string entry.',
            "Each entry is the secret shown once when the webhook provider was created.",
        )


def _check_webhooks(user: dict[str, Any]) -> Iterable[CheckMessage]:
    value = user.get("WEBHOOK_AUTH", DEFAULTS["WEBHOOK_AUTH"])
    methods = [value] if isinstance(value, str) else value
    if not isinstance(methods, list | tuple) or not all(m in ("hmac", "bearer") for m in methods):
        yield _error(
            14,
            'POWENS["WEBHOOK_AUTH"] must be a list of "hmac" and/or "bearer".',
            'For example ["hmac"] with WEBHOOK_SECRETS set (docs/webhooks.md).',
        )
        return
    processing = user.get("WEBHOOK_PROCESSING", DEFAULTS["WEBHOOK_PROCESSING"])
    if processing not in ("request", "task"):
        yield _error(
            14,
            'POWENS["WEBHOOK_PROCESSING"] must be "request" or "task".',
            '"task" needs a TASKS backend with workers (docs/tasks.md).',
        )
    size = user.get("WEBHOOK_MAX_BODY_SIZE", DEFAULTS["WEBHOOK_MAX_BODY_SIZE"])
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        yield _error(
            14,
            'POWENS["WEBHOOK_MAX_BODY_SIZE"] must be a number of bytes > 0.',
            "The default, 50 MB, fits a CONNECTION_SYNCED with thousands of transactions.",
        )
    days = user.get("WEBHOOK_RETENTION_DAYS", DEFAULTS["WEBHOOK_RETENTION_DAYS"])
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int | float) or days <= 0
    ):
        yield _error(
            14,
            'POWENS["WEBHOOK_RETENTION_DAYS"] must be a number of days > 0, or None.',
            "None keeps webhook events for ever.",
        )
    secrets = user.get("WEBHOOK_SECRETS") or []
    usable = "bearer" in methods or ("hmac" in methods and bool(secrets))
    if not usable and not settings.DEBUG and _webhooks_mounted():
        yield _error(
            15,
            "The webhook receiver is mounted but no webhook can authenticate: every "
            "delivery would be refused.",
            'Set POWENS["WEBHOOK_SECRETS"] to the secret of your Powens webhook '
            'authentication provider (with "hmac" in WEBHOOK_AUTH), or add "bearer".',
        )


def _check_link_mode(user: dict[str, Any]) -> Iterable[CheckMessage]:
    mode = user.get("LINK_MODE", DEFAULTS["LINK_MODE"])
    modes = list(mode.values()) if isinstance(mode, dict) else [mode]
    if not modes or not all(m in ("custom", "webview") for m in modes):
        yield _error(
            16,
            'POWENS["LINK_MODE"] must be "custom", "webview", or a dict of those per auth '
            "mechanism.",
            'For example "webview", or {"credentials": "webview", "webauth": "custom"} '
            "(docs/webview.md).",
        )
        return
    url = user.get("WEBVIEW_URL", DEFAULTS["WEBVIEW_URL"])
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        yield _error(
            16,
            'POWENS["WEBVIEW_URL"] must be an absolute http(s) URL.',
            'Leave the default, "https://webview.powens.com", outside development.',
        )
    if user.get("WEBVIEW_PICKER", DEFAULTS["WEBVIEW_PICKER"]) not in ("site", "powens"):
        yield _error(
            16,
            'POWENS["WEBVIEW_PICKER"] must be "site" or "powens".',
            '"site" shows this site\'s bank picker first; "powens" the Webview\'s own.',
        )
    credentials = (
        mode.get("credentials", mode.get("default", "custom")) if isinstance(mode, dict) else mode
    )
    if credentials == "custom" and not user.get("E2E_ENCRYPTION") and not settings.DEBUG:
        yield Warning(
            "Credentials connectors are linked with this site's own forms, without "
            "end-to-end encryption of the values.",
            hint='Powens requires JWE-encrypted credential fields: set POWENS["E2E_ENCRYPTION"] '
            '= True. Without PSD2 agent status, use POWENS["LINK_MODE"] = "webview" '
            "instead (docs/webview.md).",
            id="powens_django.W002",
        )


def _check_tasks_backport() -> Iterable[CheckMessage]:
    if django.VERSION < (6, 0) and not apps.is_installed("django_tasks"):
        yield Warning(
            "On Django 5.2, powens-django's background tasks are defined with the "
            "django-tasks backport, which is not in INSTALLED_APPS.",
            hint='Add "django_tasks" to INSTALLED_APPS (its backends, checks and '
            "migrations need it); Django 6 ships django.tasks and needs nothing.",
            id="powens_django.W003",
        )


def _webhooks_mounted() -> bool:
    try:
        reverse("powens_webhooks:receive", args=["connection-synced"])
    except NoReverseMatch:
        return False
    return True


def _check_adapter(user: dict[str, Any]) -> Iterable[CheckMessage]:
    path = user.get("ADAPTER", DEFAULTS["ADAPTER"])
    hint = (
        'Set POWENS["ADAPTER"] to the dotted path of a subclass of '
        "powens_django.adapter.DefaultPowensAdapter (docs/customising.md)."
    )
    if not isinstance(path, str) or not path:
        yield _error(12, 'POWENS["ADAPTER"] must be a dotted path (a string).', hint)
        return
    from django.core.exceptions import ImproperlyConfigured

    from .adapter import _adapter_class

    try:
        _adapter_class(path)
    except ImproperlyConfigured as error:
        yield _error(12, str(error), hint)


@register(Tags.security, "powens_django", deploy=True)
def check_stored_tokens(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: the encryption keys open a sample of the stored tokens
    (E013).

    A deployment check because it reads the database: it says nothing when the keys are
    misconfigured (E003/E004 say it), before migrations created the table, or when the
    database cannot be reached (``manage.py powens_check_keys`` then says it loudly).
    Reports counts only, never a token or a ciphertext.
    """
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, router, transaction

    from .fields import check_stored_values
    from .models import PowensUser

    raw = getattr(settings, SETTING_NAME, None)
    if not isinstance(raw, dict) or list(_check_encryption_keys(raw)):
        return []
    try:
        # In a savepoint, so that a missing table does not break the caller's
        # transaction (PostgreSQL refuses every later query in a failed one).
        with transaction.atomic(using=router.db_for_read(PowensUser)):
            found = check_stored_values(PowensUser.objects.all(), "token", sample=KEY_CHECK_SAMPLE)
    except (DatabaseError, ImproperlyConfigured):
        return []
    if not found.unreadable:
        return []
    return [
        _error(
            13,
            f'POWENS["TOKEN_ENCRYPTION_KEYS"] cannot decrypt {found.unreadable} of the '
            f"{found.checked} stored Powens tokens checked (of {found.total}): every "
            "bank page of those users fails.",
            "Put back the key they were encrypted with, after the newest one; run "
            "`manage.py powens_rotate_keys`, then remove the old key. "
            "`manage.py powens_check_keys` checks every token.",
        )
    ]
