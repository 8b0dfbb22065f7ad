"""Sandbox rows -> Powens JSON objects, with every property of the reference objects.

Functions that serialize many objects take rows already fetched (with their related
rows grouped beforehand) so that a list costs a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .models import (
    BankAccount,
    Connection,
    ConnectionLog,
    ConnectionSource,
    Connector,
    ConnectorSource,
    Transaction,
    User,
)
from .wire import fmt, fmt_date, parse_expand

COUNTRY_NAMES = {
    "AT": "Austria",
    "BE": "Belgium",
    "CH": "Switzerland",
    "DE": "Germany",
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IT": "Italy",
    "LU": "Luxembourg",
    "MC": "Monaco",
    "NL": "Netherlands",
    "PT": "Portugal",
}

CURRENCIES = {
    "EUR": {"id": "EUR", "name": "Euro", "symbol": "€", "precision": 2},
    "GBP": {"id": "GBP", "name": "British pound", "symbol": "£", "precision": 2},
}

#: Powens' account type ids for the types the sandbox makes.
ACCOUNT_TYPE_IDS = {"checking": 1, "savings": 2, "deposit": 3, "card": 7, "lifeinsurance": 8}


def money(value: Decimal) -> float:
    """A JSON number with two decimals (Powens sends floats)."""
    return float(round(value, 2))


# -- connectors ---------------------------------------------------------------------


def connector_source(source: ConnectorSource) -> dict[str, Any]:
    """A ConnectorSource object."""
    return {
        "id": source.pk,
        "id_connector": source.connector_id,
        "name": source.name,
        "auth_mechanism": source.auth_mechanism,
        "available_auth_mechanisms": list(source.available_auth_mechanisms),
        "disabled": fmt(source.disabled),
        "priority": source.priority,
        "account_usages": list(source.account_usages),
    }


def connector(
    row: Connector,
    expand: str | dict[str, str] | None = None,
    sources: Iterable[ConnectorSource] | None = None,
) -> dict[str, Any]:
    """A Connector object; ``sources`` must be given when ``expand`` names them."""
    expands = expand if isinstance(expand, dict) else parse_expand(expand)
    data: dict[str, Any] = {
        "id": row.pk,
        "uuid": str(row.uuid),
        "name": row.name,
        "hidden": row.hidden,
        "charged": row.charged,
        "code": row.code,
        "beta": row.beta,
        "color": row.color,
        "slug": row.slug,
        "sync_frequency": row.sync_frequency,
        "sync_periodicity": row.sync_frequency,
        "months_to_fetch": row.months_to_fetch,
        "auth_mechanism": row.auth_mechanism,
        "available_auth_mechanisms": list(row.available_auth_mechanisms),
        "transfer_mechanism": row.transfer_mechanism,
        "siret": row.siret,
        "restricted": row.restricted,
        "capabilities": list(row.capabilities),
        "account_usages": list(row.account_usages),
        "products": list(row.products),
    }
    if row.payment_settings is not None or "pay" in row.products:
        data["payment_settings"] = row.payment_settings
    if "sources" in expands:
        data["sources"] = [connector_source(s) for s in (sources or ())]
    if "fields" in expands:
        data["fields"] = [dict(f) for f in row.fields]
    if "payment_fields" in expands:
        data["payment_fields"] = [dict(f) for f in row.payment_fields]
    if "countries" in expands:
        data["countries"] = [
            {"id": code, "name": COUNTRY_NAMES.get(code, code)} for code in row.countries
        ]
    if "urls" in expands:
        data["urls"] = list(row.urls)
    return data


def connectors(rows: list[Connector], expand: str | dict[str, str] | None) -> list[dict]:
    """Connector objects for ``rows``: one more query when sources are expanded."""
    expands = expand if isinstance(expand, dict) else parse_expand(expand)
    by_connector: dict[int, list[ConnectorSource]] = defaultdict(list)
    if "sources" in expands and rows:
        ids = [row.pk for row in rows]
        query = ConnectorSource.objects.order_by("connector_id", "priority", "id")
        # A large list is fetched by range rather than with thousands of IN parameters.
        if len(ids) > 500:
            query = query.filter(connector_id__gte=min(ids), connector_id__lte=max(ids))
        else:
            query = query.filter(connector_id__in=ids)
        for source in query:
            by_connector[source.connector_id].append(source)
    return [connector(row, expands, by_connector.get(row.pk, [])) for row in rows]


# -- users --------------------------------------------------------------------------


def user(row: User) -> dict[str, Any]:
    """A User object."""
    return {"id": row.pk, "signin": fmt(row.signin)}


# -- connections --------------------------------------------------------------------


def connection_source(source: ConnectionSource) -> dict[str, Any]:
    """A ConnectionSource object."""
    return {
        "id": source.pk,
        "id_connection": source.connection_id,
        "id_connector_source": source.connector_source_id,
        "name": source.name,
        "state": source.state,
        "created": fmt(source.created),
        "last_update": fmt(source.last_update),
        "disabled": fmt(source.disabled),
        "access_expire": fmt(source.access_expire),
        "expire": fmt(source.expire),
        "next_try": fmt(source.next_try),
    }


def transaction(row: Transaction, account: BankAccount) -> dict[str, Any]:
    """A Transaction object."""
    value = money(row.value)
    return {
        "id": row.pk,
        "id_account": row.account_id,
        "application_date": fmt_date(row.date),
        "date": fmt_date(row.date),
        "datetime": None,
        "value": value,
        "gross_value": value,
        "original_value": None,
        "original_gross_value": None,
        "original_currency": None,
        "commission": None,
        "commission_currency": None,
        "type": row.type,
        "original_wording": row.wording.upper(),
        "simplified_wording": row.wording,
        "wording": row.wording,
        "id_category": None,
        "date_scraped": fmt(row.date_scraped),
        "rdate": fmt_date(row.date),
        "rdatetime": None,
        "vdate": fmt_date(row.date),
        "vdatetime": None,
        "bdate": fmt_date(row.date),
        "bdatetime": None,
        "coming": row.coming,
        "active": True,
        "id_cluster": None,
        "country": None,
        "card": None,
        "counterparty": None,
        "comment": None,
        "last_update": fmt(row.date_scraped),
        "deleted": None,
    }


def account(row: BankAccount, id_user: int) -> dict[str, Any]:
    """A BankAccount object."""
    return {
        "id": row.pk,
        "id_connection": row.connection_id,
        "id_user": id_user,
        "id_source": row.source_id,
        "id_parent": None,
        "number": row.number,
        "original_name": row.name,
        "name": row.name,
        "balance": money(row.balance),
        "coming": 0.0,
        "currency": CURRENCIES.get(row.currency, CURRENCIES["EUR"]),
        "display": True,
        "bookmarked": False,
        "usage": row.usage,
        "type": row.type,
        "id_type": ACCOUNT_TYPE_IDS.get(row.type, 1),
        "iban": row.iban,
        "bic": None,
        "loan": None,
        "error": None,
        "last_update": fmt(row.last_update),
        "deleted": None,
        "disabled": fmt(row.disabled),
        "company_name": None,
    }


def connection(
    row: Connection,
    expand: str | dict[str, str] | None = None,
    *,
    sources: list[ConnectionSource] | None = None,
    accounts: list[BankAccount] | None = None,
    connector_sources: list[ConnectorSource] | None = None,
) -> dict[str, Any]:
    """A Connection object. Related rows for expansions are passed in by the caller
    (see :func:`connections`), or fetched here for a single connection."""
    expands = expand if isinstance(expand, dict) else parse_expand(expand)
    data: dict[str, Any] = {
        "id": row.pk,
        "id_user": row.user_id,
        "id_connector": row.connector_id,
        "id_provider": row.connector_id,
        "id_bank": row.connector_id,
        "connector_uuid": str(row.connector.uuid),
        "state": row.state,
        "error": row.state,
        "error_message": row.error_message,
        "fields": row.fields,
        "last_update": fmt(row.last_update),
        "created": fmt(row.created),
        "active": row.active,
        "last_push": fmt(row.last_push),
        "expire": fmt(row.expire),
        "next_try": fmt(row.next_try),
    }
    if "connector" in expands:
        nested = parse_expand(expands["connector"])
        if "sources" in nested and connector_sources is None:
            connector_sources = list(row.connector.sources.order_by("priority", "id"))
        data["connector"] = connector(row.connector, nested, connector_sources or [])
    if "sources" in expands:
        if sources is None:
            sources = list(row.sources.all())
        data["sources"] = [connection_source(s) for s in sources]
    for key, everything in (("accounts", False), ("all_accounts", True)):
        if key in expands:
            if accounts is None:
                accounts = list(row.accounts.all())
            data[key] = [
                account(a, row.user_id) for a in accounts if everything or a.disabled is None
            ]
    for key in ("subscriptions", "all_subscriptions"):
        if key in expands:
            data[key] = []
    return data


def connections(rows: list[Connection], expand: str | None) -> list[dict[str, Any]]:
    """Connection objects for ``rows`` (fetched with ``select_related("connector")``):
    one more query per expanded relation, whatever the number of connections."""
    expands = parse_expand(expand)
    ids = [row.pk for row in rows]
    sources: dict[int, list[ConnectionSource]] = defaultdict(list)
    accounts: dict[int, list[BankAccount]] = defaultdict(list)
    connector_sources: dict[int, list[ConnectorSource]] = defaultdict(list)
    if ids and "sources" in expands:
        for source in ConnectionSource.objects.filter(connection_id__in=ids):
            sources[source.connection_id].append(source)
    if ids and ("accounts" in expands or "all_accounts" in expands):
        for bank_account in BankAccount.objects.filter(connection_id__in=ids):
            accounts[bank_account.connection_id].append(bank_account)
    if ids and "sources" in parse_expand(expands.get("connector")):
        connector_ids = {row.connector_id for row in rows}
        for offered in ConnectorSource.objects.filter(connector_id__in=connector_ids):
            connector_sources[offered.connector_id].append(offered)
    return [
        connection(
            row,
            expands,
            sources=sources[row.pk],
            accounts=accounts[row.pk],
            connector_sources=connector_sources[row.connector_id],
        )
        for row in rows
    ]


def log(row: ConnectionLog, id_user: int, id_connector: int) -> dict[str, Any]:
    """A ConnectionLog object."""
    return {
        "id": row.pk,
        "id_user": id_user,
        "id_connection": row.connection_id,
        "id_connector": id_connector,
        "id_source": row.source_id,
        "timestamp": fmt(row.timestamp),
        "state": row.state,
        "error": row.state,
        "error_message": row.error_message,
        "fields": row.fields,
        "nb_accounts": row.nb_accounts,
        "psu_requested": row.psu_requested,
    }
