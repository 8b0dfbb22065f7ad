"""A logging filter that keeps browser-flow secrets out of access logs.

A web authorization comes back to the site's callback as
``/banks/callback/?state=...&id_connection=...`` and the sandbox's bank page lives at
``/sandbox/2.0/bank/<single-use id>`` (its Webview visits at
``/sandbox/webview/v/<id>/``): a server's access log (Django's ``django.server``
logger under ``runserver``, gunicorn's ``gunicorn.access``) would keep both. Attach
:class:`RedactURLSecrets` to those loggers' handlers::

    LOGGING = {
        "version": 1,
        "filters": {"redact_urls": {"()": "powens_django.logging.RedactURLSecrets"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["redact_urls"]},
        },
        "loggers": {"django.server": {"handlers": ["console"], "propagate": False}},
    }

It changes the record's arguments, never drops a record: every query string becomes
``?[redacted]`` and a bank page id ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "RedactURLSecrets", "redact_url_secrets"]

REDACTED = "[redacted]"

# A query string: from "?" to the next blank or quote (request lines, referers).
_QUERY = re.compile(r"\?[^\s\"']*")
# The sandbox bank page's flow id and its Webview visit id (secrets.token_urlsafe).
_BANK_PAGE = re.compile(r"(/bank/|/webview/v/)[A-Za-z0-9_-]{16,}")
# gunicorn's access-log atoms holding the query string alone.
_QUERY_ATOMS = frozenset({"q", "{query_string}e"})


def redact_url_secrets(text: str) -> str:
    """``text`` with every query string and sandbox bank page id redacted."""
    text = _QUERY.sub("?" + REDACTED, text)
    return _BANK_PAGE.sub(r"\1" + REDACTED, text)


def _redact(value: Any) -> Any:
    return redact_url_secrets(value) if isinstance(value, str) else value


class RedactURLSecrets(logging.Filter):
    """Redact query strings and sandbox bank page ids in a record's message and
    arguments (a tuple, as ``django.server`` logs, or a mapping, as gunicorn's access
    log does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url_secrets(record.msg)
        args = record.args
        if isinstance(args, Mapping):
            record.args = {
                key: (REDACTED if value else value) if key in _QUERY_ATOMS else _redact(value)
                for key, value in args.items()
            }
        elif isinstance(args, tuple):
            record.args = tuple(_redact(value) for value in args)
        return True
