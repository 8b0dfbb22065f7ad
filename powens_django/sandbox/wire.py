"""Powens' wire format: error bodies, dates, request bodies, flags and expansions."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

#: Powens writes naive timestamps on its own wall clock.
POWENS_TZ = ZoneInfo("Europe/Paris")


class ApiError(Exception):
    """An error answer in Powens' format: ``{code, description, message, request_id}``."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        *,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description
        self.message = message
        self.headers = dict(headers or {})


def new_request_id() -> str:
    """A request id, also sent in the ``X-Request-Id`` header."""
    return uuid.uuid4().hex


def error_response(error: ApiError, request_id: str) -> JsonResponse:
    """The JSON answer for ``error``."""
    response = JsonResponse(
        {
            "code": error.code,
            "description": error.description,
            "message": error.message,
            "request_id": request_id,
        },
        status=error.status,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def json_response(data: Any, status: int = 200) -> HttpResponse:
    """A JSON answer (``None`` with 204 gives an empty body)."""
    if status == 204:
        return HttpResponse(status=204)
    return JsonResponse(data, status=status, safe=False)


# -- dates --------------------------------------------------------------------------


def now() -> dt.datetime:
    """The current time (aware, UTC)."""
    return timezone.now()


def fmt(value: dt.datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` on Paris' wall clock, or None."""
    if value is None:
        return None
    return value.astimezone(POWENS_TZ).strftime("%Y-%m-%d %H:%M:%S")


def fmt_date(value: dt.date | None) -> str | None:
    """``YYYY-MM-DD``, or None."""
    return None if value is None else value.isoformat()


_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(value: Any, name: str) -> dt.datetime:
    """Parse a datetime sent by a client: Powens' format (Paris time), ISO 8601 with an
    offset, or a date alone. Anything else is a 400 ``invalidValue``."""
    match = _DATETIME_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise ApiError(400, "invalidValue", f"{name} is not a date: {value!r}")
    day, hour, minute, second, zone = match.groups()
    try:
        naive = dt.datetime.combine(
            dt.date.fromisoformat(day),
            dt.time(int(hour or 0), int(minute or 0), int(second or 0)),
        )
    except ValueError:
        raise ApiError(400, "invalidValue", f"{name} is not a valid date: {value!r}") from None
    if zone:
        parsed = dt.datetime.fromisoformat(naive.isoformat() + ("+00:00" if zone == "Z" else zone))
        return parsed
    return naive.replace(tzinfo=POWENS_TZ)


def parse_date(value: Any, name: str) -> dt.date:
    """Parse a ``YYYY-MM-DD`` query parameter."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, "invalidValue", f"{name} must be YYYY-MM-DD, not {value!r}") from None


# -- request data -------------------------------------------------------------------


def body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a dict: JSON, or form-encoded for flat bodies.

    Form bodies are read for every method (Django only parses POST's).
    """
    raw = request.body
    if not raw.strip():
        return {}
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded" or (
        content_type != "application/json" and not raw.lstrip().startswith((b"{", b"["))
    ):
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ApiError(400, "invalidValue", "The request body is not UTF-8") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "invalidValue", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalidValue", "The request body must be a JSON object")
    return data


def flag(request: HttpRequest, name: str) -> bool:
    """A value-less query flag (``?all``), also accepting ``?all=true``/``=1``."""
    if name not in request.GET:
        return False
    return request.GET[name].strip().lower() not in ("false", "0", "no")


def boolean(value: Any, name: str) -> bool:
    """A boolean from JSON (``true``) or a form/query string (``"true"``, ``"1"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ApiError(400, "invalidValue", f"{name} must be a boolean, not {value!r}")


def integer(value: Any, name: str, *, minimum: int = 0) -> int:
    """A non-negative integer parameter."""
    try:
        number = int(str(value))
    except ValueError:
        raise ApiError(400, "invalidValue", f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise ApiError(400, "invalidValue", f"{name} must be at least {minimum}")
    return number


def parse_expand(text: str | None) -> dict[str, str]:
    """``"connector[countries,fields],sources"`` -> ``{"connector": "countries,fields",
    "sources": ""}``: top-level names with the nested expansion of each."""
    result: dict[str, str] = {}
    if not text:
        return result
    depth, start = 0, 0
    items = []
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, _, rest = item.partition("[")
        nested = rest[:-1] if rest.endswith("]") else rest
        name = name.strip()
        result[name] = ",".join(filter(None, [result.get(name, ""), nested.strip()]))
    return result
