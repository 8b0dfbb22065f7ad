"""System checks for the sandbox and ``POWENS_SANDBOX`` (ids ``powens_sandbox.E001`` ...).

``E006``: the sandbox is installed with ``DEBUG=False``. It gives a token for any of its
users to whoever knows a client secret, and its secrets are usually development ones;
only ``POWENS_SANDBOX["ALLOW_WITHOUT_DEBUG"] = True`` (a staging demo, a test runner
that turns ``DEBUG`` off) silences it.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from .config import DEFAULTS, FAULTS_ENV, SETTING_NAME, parse_faults, redirect_uri_problem


def _debug_check(raw: Any) -> list[CheckMessage]:
    allowed = isinstance(raw, dict) and raw.get("ALLOW_WITHOUT_DEBUG") is True
    if settings.DEBUG or allowed:
        return []
    return [
        Error(
            "powens_django.sandbox is installed with DEBUG=False. It is a fake Powens for "
            "development and tests: whoever knows one of its client secrets gets a token "
            "for any of its users, and its bank page sends people wherever it is told.",
            hint="Install and mount it only in development (DEBUG=True). For a staging "
            f'demo only, with secrets of its own, set {SETTING_NAME}["ALLOW_WITHOUT_DEBUG"] '
            "= True.",
            id="powens_sandbox.E006",
        )
    ]


def _redirect_uris_check(raw: dict[str, Any]) -> list[CheckMessage]:
    value = raw.get("REDIRECT_URIS", [])
    hint = (
        f'Write {SETTING_NAME}["REDIRECT_URIS"] = ["https://your.site/banks/callback/"]: '
        "the absolute callback URLs, without query string, that the bank page may send "
        "people back to."
    )
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return [
            Error(
                f'{SETTING_NAME}["REDIRECT_URIS"] must be a list of URLs.',
                hint=hint,
                id="powens_sandbox.E007",
            )
        ]
    messages: list[CheckMessage] = []
    for index, uri in enumerate(value):
        problem = redirect_uri_problem(uri)
        if problem is not None:
            messages.append(
                Error(
                    f'{SETTING_NAME}["REDIRECT_URIS"][{index}] cannot be used: {problem}.',
                    hint=hint,
                    id="powens_sandbox.E007",
                )
            )
    return messages


@register("powens_sandbox")
def check_sandbox_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report ``POWENS_SANDBOX`` values the sandbox cannot use."""
    raw = getattr(settings, SETTING_NAME, None)
    debug = _debug_check(raw)
    if raw is None:
        return debug
    if not isinstance(raw, dict):
        return [
            *debug,
            Error(
                f"settings.{SETTING_NAME} must be a dict.",
                hint='Write POWENS_SANDBOX = {"CLIENTS": {...}, ...}.',
                id="powens_sandbox.E001",
            ),
        ]
    messages: list[CheckMessage] = [*debug, *_redirect_uris_check(raw)]
    for key in ("CLIENTS", "WEBHOOK_URLS"):
        if not isinstance(raw.get(key, {}), dict):
            messages.append(
                Error(
                    f"{SETTING_NAME}['{key}'] must be a dict.",
                    hint="CLIENTS maps client_id to client_secret; WEBHOOK_URLS maps an "
                    "event type (CONNECTION_SYNCED...) to a URL.",
                    id="powens_sandbox.E002",
                )
            )
    faults = raw["FAULTS"] if "FAULTS" in raw else os.environ.get(FAULTS_ENV, "")
    try:
        parse_faults(faults)
    except ValueError as exc:
        messages.append(
            Error(
                f"{SETTING_NAME}['FAULTS'] (or ${FAULTS_ENV}) cannot be read: {exc}",
                hint='Write e.g. "503:0.1,429:0.05,slow:0.1,malformed:0.05".',
                id="powens_sandbox.E003",
            )
        )
    domains = raw.get("WEBVIEW_DOMAINS", [])
    if (
        isinstance(domains, str)
        or not isinstance(domains, list | tuple)
        or not all(isinstance(item, str) and item for item in domains)
    ):
        messages.append(
            Error(
                f"{SETTING_NAME}['WEBVIEW_DOMAINS'] must be a list of domains.",
                hint='Write e.g. ["acme-sandbox.biapi.pro"]: the values of the Webview\'s '
                "domain parameter accepted besides the sandbox's own host[:port].",
                id="powens_sandbox.E008",
            )
        )
    if raw.get("WEBHOOK_AUTH", "hmac") not in ("hmac", "bearer"):
        messages.append(
            Error(
                f"{SETTING_NAME}['WEBHOOK_AUTH'] must be 'hmac' or 'bearer'.",
                id="powens_sandbox.E004",
            )
        )
    if raw.get("WEBHOOK_DELIVERY", "after_response") not in (
        "after_response",
        "immediate",
        "manual",
    ):
        messages.append(
            Error(
                f"{SETTING_NAME}['WEBHOOK_DELIVERY'] must be 'after_response', 'immediate' "
                "or 'manual'.",
                id="powens_sandbox.E005",
            )
        )
    for key in sorted(set(raw) - set(DEFAULTS)):
        messages.append(
            Warning(
                f"{SETTING_NAME} has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="powens_sandbox.W001",
            )
        )
    return messages
