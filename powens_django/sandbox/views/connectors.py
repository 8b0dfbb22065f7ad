"""Connectors and connector sources (readable without authentication; updates need
the configuration token)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from .. import serializers
from ..models import Connector, ConnectorSource
from ..wire import ApiError, body, boolean, flag, json_response, now, parse_datetime
from .base import endpoint, require_config_token


def _country_filter(request: HttpRequest) -> set[str]:
    text = request.GET.get("country_codes") or ""
    return {code.strip().upper() for code in text.split(",") if code.strip()}


def _list(request: HttpRequest, key: str) -> HttpResponse:
    query: QuerySet[Connector] = Connector.objects.order_by("id")
    if not flag(request, "all"):
        query = query.filter(Q(hidden=False) | Q(hidden__isnull=True))
    rows = list(query)
    countries = _country_filter(request)
    if countries:
        rows = [row for row in rows if countries & set(row.countries)]
    if request.GET.get("id_payment"):
        # The sandbox has no payments: any payment is compatible with every Pay connector.
        rows = [row for row in rows if "pay" in row.products]
    return json_response({key: serializers.connectors(rows, request.GET.get("expand"))})


def _list_connectors(request: HttpRequest) -> HttpResponse:
    """``GET /connectors``: visible connectors (``?all`` adds hidden ones)."""
    return _list(request, "connectors")


def _list_banks(request: HttpRequest) -> HttpResponse:
    """``GET /banks`` and ``GET /providers``: deprecated aliases, with the ``banks`` key."""
    return _list(request, "banks")


def find_connector(ref: str) -> Connector:
    """A connector by UUID, or by integer id (deprecated); 404 otherwise."""
    query = Connector.objects.all()
    if ref.isdigit():
        row = query.filter(pk=int(ref)).first()
    else:
        try:
            row = query.filter(uuid=uuid.UUID(ref)).first()
        except ValueError:
            row = None
    if row is None:
        raise ApiError(404, "notFound", f"No connector {ref}")
    return row


def _one(row: Connector, expand: str | None) -> dict[str, Any]:
    return serializers.connectors([row], expand)[0]


def _get_connector(request: HttpRequest, ref: str) -> HttpResponse:
    """``GET /connectors/{uuid}`` (or a deprecated integer id)."""
    return json_response(_one(find_connector(ref), request.GET.get("expand")))


def _connector_changes(data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "hidden" in data:
        changes["hidden"] = None if data["hidden"] is None else boolean(data["hidden"], "hidden")
    for name in ("sync_periodicity", "sync_frequency"):
        if name in data:
            value = data[name]
            try:
                changes["sync_frequency"] = None if value in (None, "") else float(value)
            except (TypeError, ValueError):
                raise ApiError(400, "invalidValue", f"{name} must be a number") from None
    if not changes:
        raise ApiError(400, "missingParameter", "Nothing to update: hidden or sync_periodicity")
    return changes


@transaction.atomic
def _update_connector(request: HttpRequest, ref: str) -> HttpResponse:
    """``PUT /connectors/{uuid}``, or ``PUT /connectors/{id1},{id2}`` (deprecated batch)."""
    require_config_token(request)
    changes = _connector_changes(body(request))
    if "," in ref:
        ids = [part.strip() for part in ref.split(",") if part.strip()]
        if not all(part.isdigit() for part in ids):
            raise ApiError(400, "invalidValue", "The batch route takes integer connector ids")
        rows = list(Connector.objects.filter(pk__in=[int(i) for i in ids]))
        if len(rows) != len(set(ids)):
            raise ApiError(404, "notFound", f"No connector among {ref}")
        Connector.objects.filter(pk__in=[r.pk for r in rows]).update(**changes)
        rows = list(Connector.objects.filter(pk__in=[r.pk for r in rows]).order_by("id"))
        return json_response({"connectors": serializers.connectors(rows, None)})
    row = find_connector(ref)
    Connector.objects.filter(pk=row.pk).update(**changes)
    row.refresh_from_db()
    return json_response(_one(row, request.GET.get("expand")))


@transaction.atomic
def _patch_connectors(request: HttpRequest) -> HttpResponse:
    """``PATCH /connectors`` with ``{uuid: {"hidden": bool}}``: batch enable/disable."""
    require_config_token(request)
    data = body(request)
    if not data:
        raise ApiError(400, "missingParameter", "Give {connector_uuid: {hidden: bool}, ...}")
    rows = []
    for ref, values in data.items():
        if not isinstance(values, dict):
            raise ApiError(400, "invalidValue", f"The value for {ref} must be an object")
        row = find_connector(str(ref))
        Connector.objects.filter(pk=row.pk).update(**_connector_changes(values))
        rows.append(row.pk)
    updated = list(Connector.objects.filter(pk__in=rows).order_by("id"))
    return json_response({"connectors": serializers.connectors(updated, None)})


connectors = endpoint({"GET": _list_connectors, "PATCH": _patch_connectors})
banks = endpoint({"GET": _list_banks})
connector = endpoint({"GET": _get_connector, "PUT": _update_connector})
bank_alias = endpoint({"GET": _get_connector})


def _find_source(connector_row: Connector, source_id: int) -> ConnectorSource:
    source = ConnectorSource.objects.filter(connector=connector_row, pk=source_id).first()
    if source is None:
        raise ApiError(404, "notFound", f"No source {source_id} on connector {connector_row.pk}")
    return source


def _list_sources(request: HttpRequest, ref: str) -> HttpResponse:
    """``GET /connectors/{uuid}/sources``."""
    row = find_connector(ref)
    countries = _country_filter(request)
    if countries and not countries & set(row.countries):
        return json_response({"sources": []})
    sources = ConnectorSource.objects.filter(connector=row).order_by("priority", "id")
    return json_response({"sources": [serializers.connector_source(s) for s in sources]})


def _get_source(request: HttpRequest, ref: str, source_id: int) -> HttpResponse:
    """``GET /connectors/{uuid}/sources/{id}``."""
    source = _find_source(find_connector(ref), source_id)
    return json_response(serializers.connector_source(source))


def _update_source(request: HttpRequest, ref: str, source_id: int) -> HttpResponse:
    """``PUT /connectors/{uuid}/sources/{id}``: ``auth_mechanism`` and/or ``disabled``
    (a date, ``true`` for now, or null to enable)."""
    require_config_token(request)
    source = _find_source(find_connector(ref), source_id)
    data = body(request)
    if "auth_mechanism" not in data and "disabled" not in data:
        raise ApiError(400, "missingParameter", "Nothing to update: auth_mechanism or disabled")
    if "auth_mechanism" in data:
        mechanism = data["auth_mechanism"]
        allowed = {source.auth_mechanism, *(source.available_auth_mechanisms or [])}
        if mechanism not in allowed:
            choices = sorted(filter(None, allowed))
            raise ApiError(400, "invalidValue", f"auth_mechanism must be one of {choices}")
        source.auth_mechanism = mechanism
    if "disabled" in data:
        value = data["disabled"]
        if value in (None, "", False, "false"):
            source.disabled = None
        elif value is True or value == "true":
            source.disabled = now()
        else:
            source.disabled = parse_datetime(value, "disabled")
    source.save()
    return json_response(serializers.connector_source(source))


connector_sources = endpoint({"GET": _list_sources})
connector_source = endpoint({"GET": _get_source, "PUT": _update_source})
