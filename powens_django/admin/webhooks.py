"""Webhook events: every delivery, valid or refused, read-only, with a reprocess action."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import WebhookEvent
from .base import MirrorAdmin, pretty_json

#: The largest body shown on an event's page (a CONNECTION_SYNCED can be megabytes).
BODY_SHOWN = 200_000


class OutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("processed", _("Processed")),
            ("failed", _("Failed")),
            ("pending", _("Not processed yet")),
            ("refused", _("Refused")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "processed":
            return queryset.filter(valid=True, processed__isnull=False)
        if value == "failed":
            return queryset.filter(valid=True, processed__isnull=True).exclude(error="")
        if value == "pending":
            return queryset.filter(valid=True, processed__isnull=True, error="")
        if value == "refused":
            return queryset.filter(valid=False)
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(MirrorAdmin):
    """Every webhook delivery. Refused ones are kept for diagnosis (secret headers
    redacted, body cut); valid ones can be processed again."""

    delete_refusal = _(
        "Webhook events are kept for the record; old ones are pruned by powens_prune_webhooks."
    )
    list_display = [
        "event_type",
        "id_webhook_data",
        "received",
        "outcome",
        "deliveries",
        "attempts",
        "powens_user_id",
        "powens_connection_id",
    ]
    list_filter = [OutcomeFilter, "event_type", "valid", "refusal"]
    date_hierarchy = "received"
    search_fields = [
        "id_webhook_data__exact",
        "powens_user_id__exact",
        "powens_connection_id__exact",
    ]
    search_help_text = _("Delivery id, Powens user id or connection id.")
    actions = ["reprocess"]
    fields = readonly_fields = (
        "event_type",
        "id_webhook_data",
        "outcome",
        "received",
        "last_received",
        "deliveries",
        "attempts",
        "processed",
        "result",
        "refusal",
        "error",
        "remote_addr",
        "powens_user_id",
        "powens_connection_id",
        "headers_shown",
        "body_size",
        "body_shown",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        # The list never loads the bodies (megabytes each).
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and (match.url_name or "").endswith("changelist"):
            queryset = queryset.defer("body", "headers")
        return queryset

    @admin.display(description=_("outcome"))
    def outcome(self, event: WebhookEvent) -> SafeString:
        if not event.valid:
            label, tone = _("Refused"), "error"
        elif event.processed is not None:
            label, tone = _("Processed"), "ok"
        elif event.error:
            label, tone = _("Failed"), "error"
        else:
            label, tone = _("Not processed yet"), "waiting"
        return format_html(
            '<span class="powens-admin-state powens-admin-state--{}">{}</span>', tone, label
        )

    @admin.display(description=_("headers"))
    def headers_shown(self, event: WebhookEvent) -> SafeString:
        return pretty_json(event.headers)

    @admin.display(description=_("body"))
    def body_shown(self, event: WebhookEvent) -> SafeString:
        data = event.body_bytes
        if len(data) > BODY_SHOWN:
            return format_html(
                "<p>{}</p>",
                _("%(size)s bytes: too large to show here.") % {"size": len(data)},
            )
        try:
            return pretty_json(json.loads(data))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return format_html(
                '<pre class="powens-admin-json">{}</pre>', data.decode("utf-8", errors="replace")
            )

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "process_webhookevent")

    @admin.action(description=_("Process again"), permissions=["reprocess"])
    def reprocess(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent]
    ) -> HttpResponse | None:
        """Process the selected valid events again (processing is idempotent); refused
        deliveries are never processed."""
        events = list(queryset.filter(valid=True).order_by("received", "pk"))
        refused = queryset.filter(valid=False).count()
        result = services.reprocess_webhook_events(events, force=True)
        self.report(
            request,
            result,
            events,
            key=lambda event: event.pk,
            done=lambda item: _("processed"),
        )
        if refused:
            self.message_user(
                request,
                _("%(count)s refused deliveries were left alone: they are never processed.")
                % {"count": refused},
            )
        return None
