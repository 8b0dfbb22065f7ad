"""Parsing and formatting Powens' dates.

Powens writes ``YYYY-MM-DD HH:MM:SS`` with no zone, meaning its own wall clock (Paris);
some connectors add an offset (``+0200``), some payloads use ISO 8601 with ``T`` and
``Z``, and some fields are plain dates. :func:`parse_datetime` accepts all of them and
returns an aware datetime; anything else gives None and a logged warning, never an
exception, so one odd value cannot break a sync.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from ..logsafe import printable

logger = logging.getLogger("powens_django.client")

#: The zone of Powens' naive timestamps.
POWENS_TZ = ZoneInfo("Europe/Paris")

_DATETIME_RE = re.compile(
    r"""^\s*
    (?P<date>\d{4}-\d{2}-\d{2})
    (?:[T\s](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?))?
    \s*(?P<tz>Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?
    \s*$""",
    re.VERBOSE,
)


def _offset(text: str) -> dt.tzinfo:
    if text in ("Z", "z", "UTC"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def parse_datetime(value: Any) -> dt.datetime | None:
    """Parse a Powens date or datetime into an aware ``datetime``.

    Naive values are Paris wall-clock time; a date alone is midnight in Paris. ``None``
    and ``""`` give None quietly; unparseable values give None and a warning.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=POWENS_TZ)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=POWENS_TZ)
    if isinstance(value, str):
        match = _DATETIME_RE.match(value)
        if match:
            try:
                return _build(match)
            except ValueError:
                pass  # e.g. 2024-02-30: well formed, impossible
    logger.warning(
        "Ignoring a date Powens sent that cannot be parsed: %s",
        printable(repr(value), limit=100),
    )
    return None


def _build(match: re.Match[str]) -> dt.datetime:
    day = dt.date.fromisoformat(match["date"])
    time = dt.time()
    if match["time"]:
        hms, _, fraction = match["time"].replace(",", ".").partition(".")
        pieces = [int(p) for p in hms.split(":")] + [0]
        micro = int((fraction + "000000")[:6]) if fraction else 0
        time = dt.time(pieces[0], pieces[1], pieces[2], micro)
    tz = _offset(match["tz"]) if match["tz"] else POWENS_TZ
    return dt.datetime.combine(day, time, tzinfo=tz)


def parse_date(value: Any) -> dt.date | None:
    """Parse a Powens date (or the date part of a datetime, in Powens' zone)."""
    parsed = parse_datetime(value)
    return parsed.astimezone(POWENS_TZ).date() if parsed else None


def format_datetime(value: dt.datetime | dt.date) -> str:
    """Format a datetime the way Powens reads it: ``YYYY-MM-DD HH:MM:SS``, Paris time.

    Naive datetimes are taken as already in Paris time; dates give midnight.
    """
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        value = value.astimezone(POWENS_TZ)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_date(value: dt.date | dt.datetime) -> str:
    """Format a date as ``YYYY-MM-DD`` (datetimes are converted to Paris time first)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(POWENS_TZ)
        value = value.date()
    return value.isoformat()
