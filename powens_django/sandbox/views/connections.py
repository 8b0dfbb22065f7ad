"""A user's connections, their sources and logs (user token required)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from .. import bank, crypto, serializers
from ..models import Connection, ConnectionLog, ConnectionSource, Connector, User
from ..wire import (
    POWENS_TZ,
    ApiError,
    body,
    boolean,
    flag,
    integer,
    json_response,
    now,
    parse_date,
)
from .base import endpoint, user_for_path


def _connections(user: User) -> QuerySet[Connection]:
    query = Connection.objects.filter(user=user)
    bank.settle_pending(query)
    return query.select_related("connector").order_by("id")


def find_connection(user: User, connection_id: int) -> Connection:
    """The user's connection ``connection_id``, settled; another user's is a 404."""
    row = _connections(user).filter(pk=connection_id).first()
    if row is None:
        raise ApiError(404, "notFound", f"No connection {connection_id}")
    return row


def _answer(connection: Connection, request: HttpRequest, status: int) -> HttpResponse:
    connection.refresh_from_db()
    return json_response(serializers.connection(connection, request.GET.get("expand")), status)


def _connector_from(data: dict[str, Any]) -> Connector:
    uuid_value, id_value = data.get("connector_uuid"), data.get("id_connector")
    if uuid_value in (None, "") and id_value in (None, ""):
        raise ApiError(400, "missingParameter", "connector_uuid (or id_connector) is required")
    query = Connector.objects.all()
    if uuid_value not in (None, ""):
        try:
            query = query.filter(uuid=uuid.UUID(str(uuid_value)))
        except ValueError:
            raise ApiError(400, "invalidValue", "connector_uuid is not a UUID") from None
    if id_value not in (None, ""):
        query = query.filter(pk=integer(id_value, "id_connector", minimum=1))
    row = query.first()
    if row is None:
        raise ApiError(400, "invalidValue", "No such connector")
    return row


def _list(request: HttpRequest, user_ref: str) -> HttpResponse:
    """``GET /users/{user}/connections``."""
    user, _ = user_for_path(request, user_ref)
    rows = list(_connections(user))
    data = serializers.connections(rows, request.GET.get("expand"))
    return json_response({"connections": data})


def _create(request: HttpRequest, user_ref: str) -> HttpResponse:
    """``POST /users/{user}/connections``: 201 with the Connection (the reference page's
    status; the OpenAPI file says 200), 202 when the bank needs more from the person
    (an OTP, a decoupled validation)."""
    user, _ = user_for_path(request, user_ref)
    data = body(request)
    connector = _connector_from(data)
    source = data.get("source") or request.GET.get("source")
    values = {k: v for k, v in data.items() if k not in bank.RESERVED_KEYS}
    values = crypto.decrypt_fields(values)
    outcome = bank.create_connection(user, connector, values, source)
    return _answer(outcome.connection, request, outcome.status)


connections = endpoint({"GET": _list, "POST": _create})


def _get(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    user, _ = user_for_path(request, user_ref)
    row = find_connection(user, connection_id)
    return json_response(serializers.connection(row, request.GET.get("expand")))


def _update(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    """``POST /users/{user}/connections/{id}``: update and/or sync."""
    user, _ = user_for_path(request, user_ref)
    row = find_connection(user, connection_id)
    data = crypto.decrypt_fields(body(request))
    source = data.get("source") or request.GET.get("source")
    outcome = bank.update_connection(
        row, data, background=flag(request, "background"), source_name=source
    )
    if outcome.wait_resume:
        bank.finish_blocking_resume(outcome.connection)
    if outcome.error is not None:
        raise outcome.error
    return _answer(outcome.connection, request, outcome.status)


def _sync(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    """``PUT /users/{user}/connections/{id}``: a forced sync (``psu_requested``)."""
    user, _ = user_for_path(request, user_ref)
    row = find_connection(user, connection_id)
    psu = boolean(request.GET.get("psu_requested", "true"), "psu_requested")
    outcome = bank.sync_connection(row, psu_requested=psu, background=flag(request, "background"))
    return _answer(outcome.connection, request, outcome.status)


def _delete(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    user, _ = user_for_path(request, user_ref)
    bank.delete_connection(find_connection(user, connection_id))
    return json_response(None, status=204)


connection = endpoint({"GET": _get, "POST": _update, "PUT": _sync, "DELETE": _delete})


def _find_source(request: HttpRequest, row: Connection, source_id: int) -> ConnectionSource:
    query = ConnectionSource.objects.filter(connection=row, pk=source_id)
    if not flag(request, "all"):
        query = query.filter(disabled__isnull=True)
    source = query.first()
    if source is None:
        raise ApiError(404, "notFound", f"No source {source_id} on connection {row.pk}")
    return source


def _list_sources(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    """``GET .../connections/{id}/sources`` (``?all`` adds disabled sources)."""
    user, _ = user_for_path(request, user_ref)
    row = find_connection(user, connection_id)
    query = ConnectionSource.objects.filter(connection=row).order_by("id")
    if not flag(request, "all"):
        query = query.filter(disabled__isnull=True)
    return json_response({"sources": [serializers.connection_source(s) for s in query]})


def _get_source(
    request: HttpRequest, user_ref: str, connection_id: int, source_id: int
) -> HttpResponse:
    user, _ = user_for_path(request, user_ref)
    source = _find_source(request, find_connection(user, connection_id), source_id)
    return json_response(serializers.connection_source(source))


def _update_source(
    request: HttpRequest, user_ref: str, connection_id: int, source_id: int
) -> HttpResponse:
    """``POST .../sources/{id}`` with ``{"disabled": bool}`` (``?all`` reaches a
    disabled source, which re-enabling needs)."""
    user, _ = user_for_path(request, user_ref)
    source = _find_source(request, find_connection(user, connection_id), source_id)
    data = body(request)
    if "disabled" not in data:
        raise ApiError(400, "missingParameter", "disabled is required")
    disabled = boolean(data["disabled"], "disabled")
    if disabled and source.disabled is None:
        source.disabled = now()
    elif not disabled:
        source.disabled = None
    source.save(update_fields=["disabled"])
    return json_response(serializers.connection_source(source))


connection_sources = endpoint({"GET": _list_sources})
connection_source = endpoint({"GET": _get_source, "POST": _update_source})


def _logs(request: HttpRequest, user_ref: str, connection_id: int) -> HttpResponse:
    """``GET .../connections/{id}/logs``: newest first, with ``limit``/``offset``,
    ``min_date``/``max_date`` (inclusive days, Paris time) and ``id_source``."""
    user, _ = user_for_path(request, user_ref)
    row = find_connection(user, connection_id)
    query = ConnectionLog.objects.filter(connection=row)
    params = request.GET
    if params.get("min_date"):
        day = parse_date(params["min_date"], "min_date")
        query = query.filter(timestamp__gte=_midnight(day))
    if params.get("max_date"):
        day = parse_date(params["max_date"], "max_date")
        query = query.filter(timestamp__lt=_midnight(day + dt.timedelta(days=1)))
    if params.get("id_source"):
        query = query.filter(source_id=integer(params["id_source"], "id_source", minimum=1))
    total = query.count()
    offset = integer(params.get("offset") or 0, "offset")
    limit = min(integer(params.get("limit") or 1000, "limit", minimum=1), 1000)
    rows = query.order_by("-timestamp", "-id")[offset : offset + limit]
    return json_response(
        {
            "connectionlogs": [serializers.log(r, user.pk, row.connector_id) for r in rows],
            "total": total,
        }
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=POWENS_TZ)


connection_logs = endpoint({"GET": _logs})
