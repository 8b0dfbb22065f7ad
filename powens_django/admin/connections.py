"""Connections: who linked which bank, in what state and why, and what staff can do
about it (refresh, sync, turn automatic syncs on or off, delete at Powens)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import BankAccount, Connection, ConnectionSource
from ..services import BatchItem, OutcomeKind, ServiceError, request_time_budget
from ..states import ATTENTION, ERROR, KNOWN_STATES, OK, WAITING, describe_state
from .base import MirrorAdmin, MirrorInline, bank_label, confirmed, pretty_json, state_badge


def _user_lookups() -> list[str]:
    """Search paths for the connection owner's username and email (custom user models
    included: only the fields the model has)."""
    User = get_user_model()
    names = [User.USERNAME_FIELD, User.get_email_field_name()]
    found = []
    for name in dict.fromkeys(names):
        try:
            User._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        found.append(f"powens_user__user__{name}")
    return found


class StateFilter(admin.SimpleListFilter):
    """Connections by state: the state table's groups first (up to date, needs the
    user...), then each known state. "Needs the user" includes states this version
    does not know, which the table treats as needing attention."""

    title = _("state")
    parameter_name = "state"

    #: Filter value: (the state table's tone, label).
    GROUPS = {
        "ok": (OK, _("Up to date")),
        "needs_user": (ATTENTION, _("Needs the user")),
        "waiting": (WAITING, _("Powens retries by itself")),
        "not_supported": (ERROR, _("Not supported")),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        states = sorted(s for s in KNOWN_STATES if s is not None)
        return [
            *((value, label) for value, (tone, label) in self.GROUPS.items()),
            *((state, f"{describe_state(state).label} ({state})") for state in states),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if value in self.GROUPS:
            tone = self.GROUPS[value][0]
            same = [s for s in KNOWN_STATES if describe_state(s).tone == tone]
            if tone == OK:
                return queryset.filter(state__isnull=True)
            if tone == ATTENTION:
                others = [s for s in KNOWN_STATES if s is not None and s not in same]
                # Unknown states need attention too (states.describe_state).
                return queryset.filter(state__isnull=False).exclude(state__in=others)
            return queryset.filter(state__in=[s for s in same if s is not None])
        if value in KNOWN_STATES:
            return queryset.filter(state=value)
        return queryset.filter(state=value[:64])


class ConnectionSourceInline(MirrorInline):
    """The connection's sources, read-only, with buttons to enable or disable each
    at Powens for staff who may change connections."""

    model = ConnectionSource
    show_change_link = False
    verbose_name_plural = _("sources")
    readonly_fields = ["name", "powens_id", "source_state", "last_update", "disabled", "next_try"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if request.user.has_perm("powens_django.change_connection"):
            fields.append("controls")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description=_("state"))
    def source_state(self, source: ConnectionSource) -> SafeString:
        return state_badge(source.state_info, explain=False)

    @admin.display(description=_("at Powens"))
    def controls(self, source: ConnectionSource) -> SafeString:
        url = reverse(
            f"{self.admin_site.name}:powens_django_connection_source",
            args=[source.connection_id, source.powens_id],
        )
        enabled = source.enabled
        return format_html(
            '<button type="submit" class="button" formaction="{}" name="enabled" '
            'value="{}">{}</button>',
            url,
            "0" if enabled else "1",
            _("Disable") if enabled else _("Enable"),
        )


class BankAccountInline(MirrorInline):
    """The connection's bank accounts, read-only, numbers and IBANs masked."""

    model = BankAccount
    show_change_link = True
    verbose_name_plural = _("bank accounts")
    fields = readonly_fields = (
        "name",
        "masked_number",
        "masked_iban",
        "balance_with_currency",
        "type",
        "disabled",
        "last_update",
    )

    @admin.display(description=_("number"))
    def masked_number(self, account: BankAccount) -> str:
        return account.masked_number

    @admin.display(description=_("IBAN"))
    def masked_iban(self, account: BankAccount) -> str:
        return account.masked_iban

    @admin.display(description=_("balance"))
    def balance_with_currency(self, account: BankAccount) -> str:
        from .accounts import balance_text

        return balance_text(account)


@admin.register(Connection)
class ConnectionAdmin(MirrorAdmin):
    list_display = [
        "connection",
        "user",
        "bank",
        "state_with_explanation",
        "active",
        "last_update",
        "next_try",
        "expire",
    ]
    list_filter = [StateFilter, ("connector", admin.RelatedOnlyFieldListFilter), "active"]
    list_select_related = ["connector", "powens_user__user"]
    date_hierarchy = "last_update"
    search_fields = [*_user_lookups(), "powens_id__exact", "powens_user__powens_id__exact"]
    search_help_text = _("Username, email, connection id or Powens user id.")
    actions = ["refresh_from_powens", "sync_now", "activate", "deactivate", "delete_at_powens"]
    inlines = [ConnectionSourceInline, BankAccountInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "powens_id",
                    "owner",
                    "bank",
                    "state_with_explanation",
                    "error_message",
                    "active",
                    "sync_logs",
                ]
            },
        ),
        (
            _("Dates"),
            {"fields": ["created", "last_update", "next_try", "expire", "last_push", "synced_at"]},
        ),
        (
            _("At Powens"),
            {
                "fields": [
                    "powens_user_id_at_powens",
                    "connector_uuid",
                    "powens_connector_id",
                    "asked_fields",
                    "payload",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    readonly_fields = [
        "powens_id",
        "owner",
        "bank",
        "state_with_explanation",
        "error_message",
        "active",
        "sync_logs",
        "created",
        "last_update",
        "next_try",
        "expire",
        "last_push",
        "synced_at",
        "powens_user_id_at_powens",
        "connector_uuid",
        "powens_connector_id",
        "asked_fields",
        "payload",
    ]
    delete_refusal = _(
        "A connection is deleted at Powens first: select it in the list and use the "
        "action “Delete at Powens”."
    )

    # -- columns and fields ----------------------------------------------------------

    @admin.display(description=_("connection"), ordering="powens_id")
    def connection(self, obj: Connection) -> str:
        return f"#{obj.powens_id}"

    @admin.display(
        description=_("user"), ordering=f"powens_user__user__{get_user_model().USERNAME_FIELD}"
    )
    def user(self, obj: Connection) -> str:
        return str(obj.powens_user.user)

    @admin.display(description=_("user"))
    def owner(self, obj: Connection) -> SafeString:
        """The owner, linked to their user and Powens user pages when registered."""
        user, powens_user = obj.powens_user.user, obj.powens_user
        links = []
        for target, text in (
            (user, str(user)),
            (powens_user, gettext("Powens user #%(id)s") % {"id": powens_user.powens_id}),
        ):
            opts = type(target)._meta
            try:
                url = reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=[target.pk],
                )
            except NoReverseMatch:
                links.append(format_html("{}", text))
            else:
                links.append(format_html('<a href="{}">{}</a>', url, text))
        return format_html_join(" · ", "{}", ((link,) for link in links))

    @admin.display(description=_("bank"), ordering="connector__search_name")
    def bank(self, obj: Connection) -> SafeString:
        connector = obj.connector_or_none
        return bank_label(obj.connector_name, connector.color if connector else None)

    @admin.display(description=_("state"), ordering="state")
    def state_with_explanation(self, obj: Connection) -> SafeString:
        return state_badge(obj.state_info)

    @admin.display(description=_("Powens user id"))
    def powens_user_id_at_powens(self, obj: Connection) -> Any:
        return obj.powens_user.powens_id

    @admin.display(description=_("fields asked"))
    def asked_fields(self, obj: Connection) -> Any:
        return pretty_json(obj.fields) if obj.fields else "—"

    @admin.display(description=_("Powens payload"))
    def payload(self, obj: Connection) -> SafeString:
        return pretty_json(obj.raw)

    @admin.display(description=_("synchronization logs"))
    def sync_logs(self, obj: Connection) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', self.url("logs", obj.pk), _("Fetch them from Powens")
        )

    # -- permissions -----------------------------------------------------------------

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "sync_connection")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Turning syncs on or off, enabling sources: Django's "change" permission
        (the rows themselves stay read-only)."""
        return self.has_model_permission(request, "change_connection")

    def has_delete_at_powens_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "delete_connection_at_powens")

    # -- actions ---------------------------------------------------------------------

    def _done(self, item: BatchItem) -> Any:
        outcome = item.outcome
        if outcome is None or outcome.kind == OutcomeKind.DELETED:
            return _("gone at Powens; removed here.")
        return gettext("now “%(state)s”.") % {"state": outcome.state_info.label}

    @admin.action(description=_("Refresh from Powens (read only)"), permissions=["view"])
    def refresh_from_powens(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        objects = list(queryset.select_related("connector", "powens_user__user"))
        with request_time_budget():
            result = services.refresh_connections(objects)
        self.report(request, result, objects, key=lambda c: c.powens_id, done=self._done)

    @admin.action(description=_("Sync now at Powens"), permissions=["sync"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> Any:
        objects = list(queryset.select_related("connector", "powens_user__user"))
        if not confirmed(request):
            return self.confirmation(
                request,
                objects,
                action="sync_now",
                template="sync_confirmation.html",
                title=_("Sync these connections now?"),
            )
        with request_time_budget():
            result = services.sync_connections(objects)
        self.report(request, result, objects, key=lambda c: c.powens_id, done=self._done)
        return None

    @admin.action(description=_("Turn automatic syncs on"), permissions=["manage"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description=_("Turn automatic syncs off"), permissions=["manage"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        self._set_active(request, queryset, False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Connection], on: bool) -> None:
        objects = list(queryset.select_related("connector", "powens_user__user"))
        with request_time_budget():
            result = services.set_connections_active(objects, on)
        done = _("automatic syncs on.") if on else _("automatic syncs off.")
        self.report(request, result, objects, key=lambda c: c.powens_id, done=lambda i: done)

    @admin.action(description=_("Delete at Powens, for good"), permissions=["delete_at_powens"])
    def delete_at_powens(self, request: HttpRequest, queryset: QuerySet[Connection]) -> Any:
        objects = list(
            queryset.select_related("connector", "powens_user__user").prefetch_related(
                "sources", "accounts"
            )
        )
        if not confirmed(request):
            return self.confirmation(
                request,
                objects,
                action="delete_at_powens",
                template="delete_connections_confirmation.html",
                title=_("Delete these connections at Powens?"),
            )
        with request_time_budget():
            result = services.delete_connections(objects)
        self.report(
            request,
            result,
            objects,
            key=lambda c: c.powens_id,
            done=lambda i: _("deleted at Powens, then here."),
            deleted=True,
        )
        return None

    # -- extra views -----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/logs/", view(self.logs_view), name=f"{name}_logs"),
            path(
                "<path:object_id>/sources/<str:source_id>/",
                view(self.source_view),
                name=f"{name}_source",
            ),
            *super().get_urls(),
        ]

    def _connection_or_redirect(
        self, request: HttpRequest, object_id: str
    ) -> Connection | HttpResponse:
        connection = self.get_object(request, unquote(object_id))
        if connection is None:
            return self.missing(request, object_id)
        if not self.has_view_permission(request, connection):
            raise PermissionDenied
        return connection

    def logs_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The connection's synchronization logs, fetched from Powens on demand."""
        connection = self._connection_or_redirect(request, object_id)
        if isinstance(connection, HttpResponse):
            return connection
        logs, error = [], None
        try:
            with request_time_budget():
                logs = services.connection_history(connection)
        except ServiceError as failure:
            error = failure.message
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/powens_django/connection/logs.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Synchronization logs of %(connection)s")
                % {"connection": connection},
                "subtitle": None,
                "opts": self.opts,
                "original": connection,
                "logs": logs,
                "error": error,
                "media": self.media,
            },
        )

    def source_view(self, request: HttpRequest, object_id: str, source_id: str) -> HttpResponse:
        """Enable or disable one source of the connection at Powens (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        connection = self._connection_or_redirect(request, object_id)
        if isinstance(connection, HttpResponse):
            return connection
        if not self.has_manage_permission(request):
            raise PermissionDenied
        back = HttpResponseRedirect(self.url("change", connection.pk))
        if not source_id.isdigit():
            self.message_user(request, _("This source does not exist."), messages.ERROR)
            return back
        choice = request.POST.get("enabled")
        if choice not in ("0", "1"):
            self.message_user(
                request, _("Say whether to enable or disable the source."), messages.ERROR
            )
            return back
        try:
            source = services.get_connection_source(connection, source_id)
            with request_time_budget():
                services.set_source_enabled(source, choice == "1")
        except ServiceError as error:
            self.message_user(request, str(error.message), messages.ERROR)
            return back
        text = (
            gettext("Source “%(source)s” enabled.")
            if choice == "1"
            else gettext("Source “%(source)s” disabled.")
        )
        self.message_user(request, text % {"source": source.name}, messages.SUCCESS)
        self.audit(request, connection, text % {"source": source.name})
        return back

    def get_queryset(self, request: HttpRequest) -> QuerySet[Connection]:
        return super().get_queryset(request).select_related("connector", "powens_user__user")
