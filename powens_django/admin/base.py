"""What the admin's screens share: a read-only mirror, confirmation pages, one message
per object of a batch, and the coloured bank and state badges."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import mask
from ..services import BatchItem, BatchResult, ChangedNotMirrored
from ..states import StateInfo
from ..templatetags.powens import bank_color

#: Keys of Powens payloads holding account identifiers, shown masked in the admin.
MASKED_KEYS = frozenset({"number", "iban", "bban"})


class MirrorAdmin(admin.ModelAdmin):
    """An admin for rows mirrored from Powens: readable, never added or edited by hand.

    Changes go to Powens through the admin actions (the service layer) and come back
    through the mirror. The model's delete permission is kept, so that deleting a Django
    user in the admin can cascade to its rows, but this admin's own delete view and the
    "delete selected" action are taken away: a row deleted here only would come back at
    the next refresh, while Powens kept the data.
    """

    #: What the delete view says instead of deleting.
    delete_refusal: Any = _(
        "Mirrored rows cannot be deleted here: Powens still holds the data. Use the "
        "actions, which act at Powens first."
    )

    class Media:
        css = {"all": ["powens_django/admin.css"]}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_model_permission(self, request: HttpRequest, codename: str) -> bool:
        """Whether the user holds ``<app_label>.<codename>``."""
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self.message_user(request, self.delete_refusal, messages.ERROR)
        return HttpResponseRedirect(self.url("changelist"))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def missing(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Back to the list, saying the object asked for does not exist."""
        text = gettext("%(name)s with ID “%(key)s” does not exist. Perhaps it was deleted?") % {
            "name": self.opts.verbose_name,
            "key": object_id,
        }
        self.message_user(request, text, messages.WARNING)
        return HttpResponseRedirect(self.url("changelist"))

    def audit(self, request: HttpRequest, obj: Model, text: str, *, deleted: bool = False) -> None:
        """Record in the admin's history that ``request.user`` did ``text`` to ``obj``
        at Powens (a deletion when ``deleted``)."""
        if deleted:
            self.log_deletions(request, [obj])  # type: ignore[arg-type]
        else:
            self.log_change(request, obj, text)

    def url(self, name: str, *args: Any) -> str:
        """The URL of this admin's view ``name`` (``changelist``, ``change``...)."""
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    # -- confirmation pages and batch reports ------------------------------------------

    def confirmation(
        self,
        request: HttpRequest,
        objects: Iterable[Any],
        *,
        action: str,
        template: str,
        title: Any,
        **context: Any,
    ) -> TemplateResponse:
        """A page asking to confirm ``action`` on ``objects`` (as Django's "delete
        selected" does): its form posts the action again with ``post=yes``.

        The template is looked up as ``admin/powens_django/<model>/<template>``, then
        ``admin/powens_django/<template>``, so a site can override either.
        """
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            [
                f"admin/{self.opts.app_label}/{self.opts.model_name}/{template}",
                f"admin/{self.opts.app_label}/{template}",
            ],
            {
                **self.admin_site.each_context(request),
                "title": title,
                "subtitle": None,
                "opts": self.opts,
                "objects": list(objects),
                "action": action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                **context,
            },
        )

    def report(
        self,
        request: HttpRequest,
        result: BatchResult,
        objects: Iterable[Model],
        *,
        key: Callable[[Any], Any],
        done: Callable[[BatchItem], Any],
        deleted: bool = False,
    ) -> None:
        """One message per object of ``result``: what was done (``done(item)``), or
        why not (the service error's message, never its technical detail).

        What was done is also recorded in the admin's history (``LogEntry``: who did
        what, when), as a deletion when ``deleted``.
        """
        by_key = {key(obj): obj for obj in objects}
        for item in result:
            obj = by_key.get(item.key)
            label = str(obj) if obj is not None else str(item.key)
            if item.error is None:
                outcome = str(done(item))
                text = gettext("%(object)s: %(result)s") % {"object": label, "result": outcome}
                self.message_user(request, text, messages.SUCCESS)
                if obj is not None:
                    self.audit(request, obj, outcome, deleted=deleted)
            elif isinstance(item.error, ChangedNotMirrored):
                text = gettext("%(object)s: %(reason)s") % {
                    "object": label,
                    "reason": str(item.error.message),
                }
                self.message_user(request, text, messages.WARNING)
            else:
                text = gettext("%(object)s: not done. %(reason)s") % {
                    "object": label,
                    "reason": str(item.error.message),
                }
                self.message_user(request, text, messages.ERROR)


class MirrorInline(admin.TabularInline):
    """Rows of a mirrored object shown inside its page: read-only, and visible to
    whoever may view that object (no permission of their own to hand out)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        opts = self.parent_model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
            for action in ("view", "change")
        )


def confirmed(request: HttpRequest) -> bool:
    """Whether the action's confirmation page was submitted."""
    return request.method == "POST" and request.POST.get("post") == "yes"


def state_badge(info: StateInfo, *, explain: bool = True) -> SafeString:
    """The state table's label as a coloured badge, with its explanation."""
    badge = format_html(
        '<span class="powens-admin-state powens-admin-state--{}" title="{}">{}</span>',
        info.tone,
        info.explanation,
        info.label,
    )
    if not explain:
        return badge
    return format_html('{}<div class="powens-admin-explanation">{}</div>', badge, info.explanation)


def bank_label(name: str, color: str | None) -> SafeString:
    """A bank's name after a swatch of its brand colour (only hex digits pass)."""
    return format_html(
        '<span class="powens-admin-bank"><span class="powens-admin-swatch" '
        'style="background:{}"></span>{}</span>',
        bank_color(color),
        name,
    )


def masked_payload(value: Any) -> Any:
    """``value`` with account numbers and IBANs masked, at any depth."""
    if isinstance(value, Mapping):
        return {
            key: mask(str(item))
            if key in MASKED_KEYS and isinstance(item, str | int)
            else masked_payload(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked_payload(item) for item in value]
    return value


def pretty_json(value: Any) -> SafeString:
    """A payload, pretty-printed in a ``<pre>`` block (account identifiers masked)."""
    text = json.dumps(masked_payload(value), indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="powens-admin-json">{}</pre>', text)
