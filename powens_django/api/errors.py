"""Error bodies: one shape for every refusal of the API.

``{"code": "...", "message": "...", "fields": {...}, "retry_after": 30}``: ``code`` is
the service layer's stable machine code (:mod:`powens_django.services.errors`) or
DRF's (``invalid``, ``not_authenticated``, ``permission_denied``, ``throttled``...),
``message`` a translated text for the person, ``fields`` the problems of each input
(validation errors only), ``retry_after`` the seconds to wait before trying again
(also sent as a ``Retry-After`` header) when waiting may help. Technical details go to
the log, never into a body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework import exceptions
from rest_framework.response import Response

from .. import services
from ..adapter import get_adapter
from ..logsafe import printable

logger = logging.getLogger("powens_django.api")

#: Seconds a client is told to wait after a Powens outage that did not say how long.
DEFAULT_RETRY_AFTER = 30

#: DRF's codes, kept stable here whatever a DRF version calls them.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "invalid",
}


class InvalidInput(exceptions.ValidationError):
    """Bad input: a 400 whose ``fields`` name each problem (nothing was changed)."""


def error_body(
    code: str,
    message: Any,
    *,
    fields: Mapping[str, list[str]] | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """The body of an error response."""
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = {name: [str(m) for m in problems] for name, problems in fields.items()}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return body


def retry_after_for(error: services.ServiceError) -> int | None:
    """The seconds to tell a client to wait after ``error``: Powens' own figure when
    it gave one, a default for outages and transient refusals, else None."""
    if error.retry_after is not None and error.retry_after >= 0:
        return max(1, math.ceil(error.retry_after))
    if error.transient or error.http_status >= 500:
        return DEFAULT_RETRY_AFTER
    return None


def service_error_response(request: Any, error: services.ServiceError) -> Response:
    """The response for a service error: its status, code and (the adapter's) message;
    ``detail`` goes to the log."""
    level = logging.ERROR if isinstance(error, services.TokenUnreadable) else logging.WARNING
    if isinstance(error, services.NotFound):
        level = logging.INFO
    user = getattr(request, "user", None)
    powens = error.powens_error
    if powens is not None:
        # Powens' description is outside text that may quote what it was sent: the
        # API logs its code, status and request id only.
        about = printable(
            f"Powens {powens.code or '-'}, HTTP {powens.status}, request {powens.request_id}",
            limit=200,
        )
    else:
        about = error.detail or error.code
    logger.log(level, "API %s for user pk=%s: %s", error.code, getattr(user, "pk", None), about)
    retry_after = retry_after_for(error)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    message = get_adapter(getattr(request, "_request", request)).error_message(error)
    return Response(
        error_body(error.code, message, retry_after=retry_after),
        status=error.http_status,
        headers=headers,
    )


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, Mapping):
        return [text for value in detail.values() for text in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [text for value in detail for text in _flatten(value)]
    return [str(detail)]


def drf_error_response(response: Response, exc: exceptions.APIException) -> Response:
    """Reshape the response DRF made for ``exc`` into the API's error body."""
    code = getattr(exc, "api_code", None) or next(
        (name for cls, name in _DRF_CODES.items() if isinstance(exc, cls)),
        str(getattr(exc, "default_code", "error")),
    )
    fields: dict[str, list[str]] | None = None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, Mapping):
            fields = {str(name): _flatten(problems) for name, problems in detail.items()}
            fields.pop("non_field_errors", None)
            general = _flatten(detail.get("non_field_errors", []))
        else:
            general = _flatten(detail)
        message = general[0] if general else _("Some of the values sent are not valid.")
    else:
        message = _flatten(exc.detail)[0] if exc.detail else exc.default_detail
    retry_after = None
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        retry_after = max(1, math.ceil(exc.wait))
        response["Retry-After"] = str(retry_after)
    response.data = error_body(code, message, fields=fields, retry_after=retry_after)
    return response


def form_errors(errors: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """A Django form's errors as ``fields``, without ever repeating a typed value
    (Django's "Select a valid choice. X is not one of..." would)."""
    result: dict[str, list[str]] = {}
    for name, problems in errors.items():
        key = f"{prefix}{name}" if name != "__all__" else prefix.rstrip(".") or "values"
        texts = result.setdefault(key, [])
        for problem in problems.as_data() if hasattr(problems, "as_data") else problems:
            texts.append(_problem_text(problem))
    return result


def _problem_text(problem: Any) -> str:
    if not isinstance(problem, DjangoValidationError):
        return str(problem)
    if problem.code == "invalid_choice":
        return str(_("Select one of the values offered."))
    params = dict(problem.params or {})
    if "value" in params:
        params["value"] = "…"
    message = str(problem.message)
    return message % params if params else message


def not_found() -> exceptions.NotFound:
    """The 404 for an object this user does not have (or that does not exist)."""
    return exceptions.NotFound(pgettext_lazy("api", "Not found."))


__all__ = [
    "DEFAULT_RETRY_AFTER",
    "InvalidInput",
    "drf_error_response",
    "error_body",
    "form_errors",
    "not_found",
    "retry_after_for",
    "service_error_response",
]
