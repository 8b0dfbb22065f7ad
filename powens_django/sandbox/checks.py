"""System checks for ``POWENS_SANDBOX`` (ids ``powens_sandbox.E001`` ...)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from .config import DEFAULTS, FAULTS_ENV, SETTING_NAME, parse_faults


@register("powens_sandbox")
def check_sandbox_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report ``POWENS_SANDBOX`` values the sandbox cannot use."""
    raw = getattr(settings, SETTING_NAME, None)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [
            Error(
                f"settings.{SETTING_NAME} must be a dict.",
                hint='Write POWENS_SANDBOX = {"CLIENTS": {...}, ...}.',
                id="powens_sandbox.E001",
            )
        ]
    messages: list[CheckMessage] = []
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
