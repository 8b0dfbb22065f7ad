"""The receiver view: reads the request into a delivery and answers what the service
decided. No rule lives here (:mod:`powens_django.services.webhooks`)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import tasks
from ..conf import powens_settings
from ..services import webhooks as service


def _headers(request: HttpRequest) -> dict[str, str]:
    return {name: str(value) for name, value in request.headers.items()}


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _deferral() -> Callable[[int], None] | None:
    """With ``WEBHOOK_PROCESSING = "task"``: enqueue the processing task on commit."""
    if powens_settings.WEBHOOK_PROCESSING != "task":
        return None
    return lambda event_id: tasks.enqueue_on_commit(tasks.process_webhook_event, event_id)


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def receive(request: HttpRequest, event: str) -> HttpResponse:
    """``POST <mount>/<event>/``: one Powens webhook delivery."""
    event_type = service.event_type_for(event)
    if event_type is None:  # the URL pattern already refuses these
        return JsonResponse({"error": "unknown_event"}, status=404)
    delivery = service.Delivery(
        event_type=event_type,
        body=b"",
        headers=_headers(request),
        path=request.path,
        method=request.method or "POST",
        remote_addr=request.META.get("REMOTE_ADDR") or None,
    )
    limit = int(powens_settings.WEBHOOK_MAX_BODY_SIZE)
    try:
        wire = service.read_body(
            request,  # type: ignore[arg-type]
            content_length=_content_length(request),
            limit=limit,
        )
        delivery.body = service.decode_body(wire, delivery.header("Content-Encoding"), limit=limit)
        if delivery.body is not wire:
            delivery.wire_body = wire
    except service.WebhookRefused as refusal:
        receipt = service.refuse(delivery, refusal)
    else:
        receipt = service.receive(delivery, defer=_deferral())
    body: dict[str, object] = {"status": receipt.code}
    if receipt.event is not None and receipt.event.valid:
        body["event"] = receipt.event.pk
    if receipt.status >= 400:
        body = {"error": receipt.code}
    return JsonResponse(body, status=receipt.status)
