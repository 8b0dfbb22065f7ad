"""Connectors: the catalogue as Powens lists it, and what staff change at Powens with
the configuration token (hide a connector, enable or disable a source, change a
source's login method)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Connector, ConnectorCountry, ConnectorSource
from ..services import ServiceError, request_time_budget
from ..states import describe_auth_mechanism
from .base import MirrorAdmin, MirrorInline, bank_label, pretty_json


def mechanism_label(mechanism: str | None) -> str:
    """``webauth`` -> "Log in on your bank's website (webauth)"."""
    if not mechanism:
        return "—"
    return f"{describe_auth_mechanism(mechanism)} ({mechanism})"


class CountryFilter(admin.SimpleListFilter):
    title = _("country")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        codes = ConnectorCountry.objects.values_list("code", flat=True).distinct().order_by("code")
        return [(code, code) for code in codes]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(countries__code=value.upper()[:2]).distinct()


class ProductFilter(admin.SimpleListFilter):
    title = _("product")
    parameter_name = "product"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        found: set[str] = set()
        for products in Connector.objects.values_list("products", flat=True):
            if isinstance(products, list):
                found.update(p for p in products if isinstance(p, str))
        return [(product, product) for product in sorted(found)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        # The JSON text of the list holds the quoted name (works on SQLite and PostgreSQL).
        return queryset.filter(products__icontains=f'"{value[:64]}"')


class ConnectorSourceInline(MirrorInline):
    """The connector's sources, read-only, with controls acting at Powens (config
    token) for staff who may change connectors."""

    model = ConnectorSource
    verbose_name_plural = _("sources")
    readonly_fields = ["name", "powens_id", "mechanism", "priority", "disabled"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if request.user.has_perm("powens_django.change_connector"):
            fields.append("controls")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description=_("auth mechanism"))
    def mechanism(self, source: ConnectorSource) -> str:
        return mechanism_label(source.auth_mechanism)

    @admin.display(description=_("at Powens"))
    def controls(self, source: ConnectorSource) -> SafeString:
        url = reverse(
            f"{self.admin_site.name}:powens_django_connector_source",
            args=[source.connector_id, source.powens_id],
        )
        enabled = source.disabled is None
        toggle = format_html(
            '<button type="submit" class="button" formaction="{}" name="enabled" '
            'value="{}">{}</button>',
            url,
            "0" if enabled else "1",
            _("Disable") if enabled else _("Enable"),
        )
        choices = services.auth_mechanism_choices(source)
        if len(choices) < 2:
            return toggle
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (m, " selected" if m == source.auth_mechanism else "", mechanism_label(m))
                for m in choices
            ),
        )
        field = f"auth_mechanism_{source.powens_id}"
        return format_html(
            '{} <label class="visually-hidden" for="id_{}">{}</label>'
            '<select name="{}" id="id_{}">{}</select> '
            '<button type="submit" class="button" formaction="{}" name="change" '
            'value="auth_mechanism">{}</button>',
            toggle,
            field,
            _("auth mechanism"),
            field,
            field,
            options,
            url,
            _("Change login method"),
        )


@admin.register(Connector)
class ConnectorAdmin(MirrorAdmin):
    change_list_template = "admin/powens_django/connector/change_list.html"
    list_display = [
        "bank",
        "country_codes",
        "mechanism",
        "product_list",
        "beta",
        "hidden",
        "restricted",
        "synced_at",
    ]
    list_filter = [
        CountryFilter,
        "auth_mechanism",
        ProductFilter,
        "beta",
        "hidden",
        "restricted",
    ]
    search_fields = ["name", "slug", "uuid"]
    search_help_text = _("Name, slug or UUID.")
    inlines = [ConnectorSourceInline]
    actions = ["hide_at_powens", "unhide_at_powens"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "bank",
                    "uuid",
                    "powens_id",
                    "slug",
                    "code",
                    "country_codes",
                    "mechanism",
                    "product_list",
                    "beta",
                    "hidden",
                    "restricted",
                    "charged",
                    "synced_at",
                ]
            },
        ),
        (_("At Powens"), {"fields": ["payload"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "bank",
        "uuid",
        "powens_id",
        "slug",
        "code",
        "country_codes",
        "mechanism",
        "product_list",
        "beta",
        "hidden",
        "restricted",
        "charged",
        "synced_at",
        "payload",
    ]
    delete_refusal = _(
        "Connectors mirror Powens' catalogue: hide one at Powens with the action "
        "“Hide at Powens”, or refresh the catalogue."
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Connector]:
        return super().get_queryset(request).prefetch_related("countries")

    @admin.display(description=_("name"), ordering="search_name")
    def bank(self, obj: Connector) -> SafeString:
        return bank_label(obj.name, obj.color)

    @admin.display(description=_("countries"))
    def country_codes(self, obj: Connector) -> str:
        return ", ".join(sorted(c.code for c in obj.countries.all())) or "—"

    @admin.display(description=_("auth mechanism"), ordering="auth_mechanism")
    def mechanism(self, obj: Connector) -> str:
        return mechanism_label(obj.auth_mechanism)

    @admin.display(description=_("products"))
    def product_list(self, obj: Connector) -> str:
        products = obj.products if isinstance(obj.products, list) else []
        return ", ".join(str(p) for p in products) or "—"

    @admin.display(description=_("Powens payload"))
    def payload(self, obj: Connector) -> SafeString:
        return pretty_json(obj.raw)

    # -- permissions -----------------------------------------------------------------

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Changing connectors at Powens: Django's "change" permission (the rows
        themselves stay read-only)."""
        return self.has_model_permission(request, "change_connector")

    # -- actions ---------------------------------------------------------------------

    @admin.action(description=_("Hide at Powens (nobody can add it)"), permissions=["manage"])
    def hide_at_powens(self, request: HttpRequest, queryset: QuerySet[Connector]) -> None:
        self._set_hidden(request, queryset, True)

    @admin.action(description=_("Show again at Powens"), permissions=["manage"])
    def unhide_at_powens(self, request: HttpRequest, queryset: QuerySet[Connector]) -> None:
        self._set_hidden(request, queryset, False)

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[Connector], hide: bool) -> None:
        objects = list(queryset)
        with request_time_budget():
            result = services.set_connectors_hidden(objects, hide)
        done = _("hidden at Powens.") if hide else _("shown again at Powens.")
        self.report(request, result, objects, key=lambda c: c.uuid, done=lambda item: done)

    # -- extra views -----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("refresh/", view(self.refresh_view), name=f"{name}_refresh"),
            path(
                "<path:object_id>/sources/<str:source_id>/",
                view(self.source_view),
                name=f"{name}_source",
            ),
            *super().get_urls(),
        ]

    def refresh_view(self, request: HttpRequest) -> HttpResponse:
        """Mirror the whole catalogue from Powens again (POST only; a read at Powens,
        so the view permission is enough)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            with request_time_budget():
                result = services.refresh_catalogue()
        except ServiceError as error:
            self.message_user(request, str(error.message), messages.ERROR)
        else:
            text = gettext(
                "Catalogue refreshed: %(created)s added, %(updated)s updated, "
                "%(removed)s removed, %(unchanged)s unchanged."
            ) % {
                "created": result.created,
                "updated": result.updated,
                "removed": result.removed,
                "unchanged": result.unchanged,
            }
            self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(self.url("changelist"))

    def source_view(self, request: HttpRequest, object_id: str, source_id: str) -> HttpResponse:
        """Enable, disable or change the login method of one source at Powens."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        connector = self.get_object(request, unquote(object_id))
        if connector is None:
            return self.missing(request, object_id)
        if not self.has_manage_permission(request):
            raise PermissionDenied
        back = HttpResponseRedirect(self.url("change", connector.pk))
        source = (
            ConnectorSource.objects.filter(connector=connector, powens_id=source_id)
            .select_related("connector")
            .first()
            if source_id.isdigit()
            else None
        )
        if source is None:
            self.message_user(request, _("This source does not exist."), messages.ERROR)
            return back
        try:
            with request_time_budget():
                if request.POST.get("change") == "auth_mechanism":
                    mechanism = request.POST.get(f"auth_mechanism_{source.powens_id}", "")
                    services.set_connector_source_auth_mechanism(source, mechanism)
                    text = gettext("Source “%(source)s” now uses %(mechanism)s.") % {
                        "source": source.name,
                        "mechanism": mechanism_label(mechanism),
                    }
                elif request.POST.get("enabled") in ("0", "1"):
                    enable = request.POST["enabled"] == "1"
                    services.set_connector_source_enabled(source, enable)
                    text = (
                        gettext("Source “%(source)s” enabled.")
                        if enable
                        else gettext("Source “%(source)s” disabled.")
                    ) % {"source": source.name}
                else:
                    self.message_user(
                        request, _("Say what to change on the source."), messages.ERROR
                    )
                    return back
        except ServiceError as error:
            partly = isinstance(error, services.ChangedNotMirrored)
            level = messages.WARNING if partly else messages.ERROR
            self.message_user(request, str(error.message), level)
            return back
        self.message_user(request, text, messages.SUCCESS)
        self.audit(request, connector, text)
        return back
