"""Powens users: who has an identity at Powens, how many connections, and the GDPR
erasure of their data at Powens. The token is never shown, not even masked."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import PowensUser
from ..services import request_time_budget
from .base import MirrorAdmin, confirmed
from .connections import _user_lookups


@admin.register(PowensUser)
class PowensUserAdmin(MirrorAdmin):
    list_display = ["user", "powens_id", "connection_count", "created_at"]
    list_select_related = ["user"]
    search_fields = [
        *(lookup.removeprefix("powens_user__") for lookup in _user_lookups()),
        "powens_id__exact",
    ]
    search_help_text = _("Username, email or Powens user id.")
    date_hierarchy = "created_at"
    # The token is left out of every list: never shown, not even masked.
    fields = readonly_fields = ("user", "powens_id", "connection_links", "created_at", "updated_at")
    actions = ["delete_at_powens"]
    delete_refusal = _(
        "A Powens user is deleted at Powens first: select it in the list and use the "
        "action “Delete the user's data at Powens”. Deleting the Django user does it too."
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PowensUser]:
        # The token is never read here: deferred, it is never even decrypted.
        return (
            super()
            .get_queryset(request)
            .defer("token")
            .select_related("user")
            .annotate(connection_total=Count("connections"))
        )

    @admin.display(description=_("connections"), ordering="connection_total")
    def connection_count(self, obj: PowensUser) -> int:
        return getattr(obj, "connection_total", 0)

    @admin.display(description=_("connections"))
    def connection_links(self, obj: PowensUser) -> SafeString:
        connections = obj.connections.select_related("connector").order_by("powens_id")
        if not connections:
            return format_html("{}", "—")
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse(f"{self.admin_site.name}:powens_django_connection_change", args=[c.pk]), c)
                for c in connections
            ),
        )

    def has_delete_at_powens_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "delete_powens_user_at_powens")

    @admin.action(
        description=_("Delete the user's data at Powens (GDPR)"),
        permissions=["delete_at_powens"],
    )
    def delete_at_powens(self, request: HttpRequest, queryset: QuerySet[PowensUser]) -> Any:
        objects = list(queryset.prefetch_related("connections__connector", "connections__accounts"))
        if not confirmed(request):
            return self.confirmation(
                request,
                objects,
                action="delete_at_powens",
                template="delete_powens_users_confirmation.html",
                title=_("Delete these users' data at Powens?"),
            )
        with request_time_budget():
            result = services.delete_powens_users(objects)
        self.report(
            request,
            result,
            objects,
            key=lambda u: u.powens_id if u.powens_id is not None else f"pk={u.pk}",
            done=lambda item: _("data deleted at Powens, then here."),
            deleted=True,
        )
        return None
