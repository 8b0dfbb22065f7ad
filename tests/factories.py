"""Powens payloads for tests, shaped like the reference objects."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1000)


def connector_payload(i: int, *, sources: int = 3, fields: int = 5, **extra: Any) -> dict[str, Any]:
    """A Connector as ``GET /connectors?expand=fields,sources,countries`` gives it."""
    payload: dict[str, Any] = {
        "id": i,
        "uuid": f"00000000-0000-4000-8000-{i:012d}",
        "name": f"Banque Numéro {i}",
        "hidden": False,
        "charged": True,
        "code": f"{30000 + i}",
        "beta": i % 7 == 0,
        "color": "0b57d0",
        "slug": f"B{i}",
        "sync_frequency": None,
        "months_to_fetch": 12,
        "auth_mechanism": "webauth" if i % 2 else "credentials",
        "available_auth_mechanisms": ["webauth", "credentials"],
        "transfer_mechanism": None,
        "siret": None,
        "restricted": False,
        "capabilities": ["bank", "document"],
        "account_usages": ["PRIV"],
        "products": ["bank"],
        "urls": [f"https://bank{i}.example"],
        "countries": [{"id": "FR", "name": "France"}]
        + ([{"id": "ES", "name": "Spain"}] if i % 3 == 0 else []),
        "fields": [
            {
                "name": f"field{f}",
                "label": f"Field {f}",
                "type": ["text", "password", "date", "list", "number"][f % 5],
                "required": f < 2,
                "regex": None,
                "connector_sources": ["directaccess"],
                "auth_mechanisms": ["credentials"],
                "values": [{"label": "A", "value": "a"}] if f % 5 == 3 else [],
            }
            for f in range(fields)
        ],
        "sources": [
            {
                "id": i * 10 + s,
                "id_connector": i,
                "name": ["openapi", "directaccess", "fallback"][s % 3] + (str(s) if s >= 3 else ""),
                "auth_mechanism": "webauth" if s == 0 else "credentials",
                "available_auth_mechanisms": ["webauth"] if s == 0 else ["credentials"],
                "disabled": None,
                "priority": s + 1,
                "account_usages": ["PRIV"],
            }
            for s in range(sources)
        ],
    }
    payload.update(extra)
    return payload


def connection_payload(
    connection_id: int | None = None,
    *,
    connector_uuid: str = "00000000-0000-4000-8000-000000000001",
    state: str | None = None,
    sources: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A Connection as ``GET /users/me/connections?expand=sources`` gives it."""
    connection_id = connection_id or next(_ids)
    payload: dict[str, Any] = {
        "id": connection_id,
        "id_user": 1,
        "id_connector": 1,
        "connector_uuid": connector_uuid,
        "state": state,
        "error": state,
        "error_message": None,
        "fields": None,
        "last_update": "2026-11-20 10:00:00",
        "created": "2026-11-01 09:30:00",
        "active": True,
        "last_push": None,
        "expire": None,
        "next_try": "2026-11-21 10:00:00",
        "sources": [
            {
                "id": connection_id * 10 + s,
                "id_connection": connection_id,
                "id_connector_source": 10 + s,
                "name": ["openapi", "directaccess"][s % 2],
                "last_update": "2026-11-20 10:00:00",
                "disabled": None,
                "created": "2026-11-01 09:30:00",
                "state": state,
                "access_expire": "2027-02-01 00:00:00",
                "expire": None,
                "next_try": "2026-11-21 10:00:00",
            }
            for s in range(sources)
        ],
    }
    payload.update(extra)
    return payload


def account_payload(
    account_id: int,
    connection_id: int,
    *,
    balance: float | str = 1234.56,
    currency: str = "EUR",
    transactions: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A BankAccount as Powens sends it (with ``transactions`` like a webhook's)."""
    payload: dict[str, Any] = {
        "id": account_id,
        "id_connection": connection_id,
        "id_user": 1,
        "id_source": connection_id * 10,
        "id_parent": None,
        "number": f"3002900000{account_id:07d}",
        "original_name": f"Compte {account_id}",
        "name": f"Account {account_id}",
        "balance": balance,
        "coming": 0.0,
        "currency": {"id": currency, "name": currency, "symbol": "€", "precision": 2},
        "display": True,
        "bookmarked": False,
        "usage": "PRIV",
        "type": "checking",
        "id_type": 1,
        "iban": f"FR76300040000312345{account_id:08d}",
        "bic": None,
        "loan": None,
        "error": None,
        "last_update": "2026-11-20 10:00:00",
        "deleted": None,
        "disabled": None,
        "company_name": None,
    }
    if transactions:
        payload["transactions"] = [
            {
                "id": account_id * 100_000 + t,
                "id_account": account_id,
                "date": "2026-11-19",
                "value": -12.5,
                "original_wording": f"CARD PAYMENT {t} SHOP NAME PARIS",
                "wording": f"Shop {t}",
                "type": "card",
            }
            for t in range(transactions)
        ]
    payload.update(extra)
    return payload
