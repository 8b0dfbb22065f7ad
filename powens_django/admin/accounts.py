"""Bank accounts: a read-only list, numbers and IBANs masked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from ..models import BankAccount
from .base import MirrorAdmin, pretty_json


def balance_text(account: BankAccount) -> str:
    """The balance with its currency ("1 234,50 EUR"), at the currency's precision."""
    if account.balance is None:
        return "—"
    places = account.currency_precision if account.currency_precision is not None else 2
    amount = account.balance.quantize(Decimal(1).scaleb(-min(places, 8)))
    text = number_format(amount, decimal_pos=min(places, 8), use_l10n=True, force_grouping=True)
    return f"{text} {account.currency}".strip()


class EnabledFilter(admin.SimpleListFilter):
    title = _("in use")
    parameter_name = "in_use"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("In use")), ("disabled", _("Disabled")), ("deleted", _("Deleted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "yes":
            return queryset.filter(disabled__isnull=True, deleted__isnull=True)
        if value == "disabled":
            return queryset.filter(disabled__isnull=False)
        if value == "deleted":
            return queryset.filter(deleted__isnull=False)
        return queryset


@admin.register(BankAccount)
class BankAccountAdmin(MirrorAdmin):
    list_display = [
        "name_or_number",
        "connection",
        "masked_number",
        "masked_iban",
        "balance_with_currency",
        "type",
        "disabled",
    ]
    list_filter = [
        EnabledFilter,
        "type",
        "currency",
        ("connection__connector", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["connection__connector"]
    search_fields = ["name", "original_name", "powens_id__exact", "connection__powens_id__exact"]
    search_help_text = _("Account name, account id or connection id.")
    fields = readonly_fields = (
        "powens_id",
        "connection",
        "name",
        "original_name",
        "masked_number",
        "masked_iban",
        "balance_with_currency",
        "coming",
        "type",
        "usage",
        "disabled",
        "deleted",
        "last_update",
        "synced_at",
        "payload",
    )

    @admin.display(description=_("name"), ordering="name")
    def name_or_number(self, account: BankAccount) -> str:
        return str(account)

    @admin.display(description=_("number"))
    def masked_number(self, account: BankAccount) -> str:
        return account.masked_number

    @admin.display(description=_("IBAN"))
    def masked_iban(self, account: BankAccount) -> str:
        return account.masked_iban

    @admin.display(description=_("balance"), ordering="balance")
    def balance_with_currency(self, account: BankAccount) -> str:
        return balance_text(account)

    @admin.display(description=_("Powens payload"))
    def payload(self, account: BankAccount) -> Any:
        return pretty_json(account.raw)
