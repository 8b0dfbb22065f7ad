"""The connector catalogue: the shipped one (``data/catalogue.json``) and synthetic ones."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from .models import Connector, ConnectorSource
from .wire import POWENS_TZ

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.json"

_CONNECTOR_KEYS = (
    "name",
    "slug",
    "code",
    "color",
    "hidden",
    "charged",
    "beta",
    "restricted",
    "sync_frequency",
    "months_to_fetch",
    "auth_mechanism",
    "available_auth_mechanisms",
    "transfer_mechanism",
    "siret",
    "capabilities",
    "account_usages",
    "products",
    "payment_settings",
    "countries",
    "urls",
    "fields",
    "payment_fields",
)


@cache
def shipped_catalogue() -> tuple[dict[str, Any], ...]:
    """The connectors of ``data/catalogue.json``, as plain dicts."""
    with CATALOGUE_PATH.open(encoding="utf-8") as handle:
        return tuple(json.load(handle)["connectors"])


def _disabled(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=POWENS_TZ)


@transaction.atomic
def load_catalogue(entries: tuple[dict[str, Any], ...] | None = None) -> tuple[int, int]:
    """Create or update the shipped connectors, matched on ``uuid``; idempotent.

    Returns ``(created, updated)``: ``updated`` counts only connectors whose stored
    values changed (a second run reports 0). Connectors that are not in the catalogue
    (synthetic ones) are left alone.
    """
    created = updated = 0
    for entry in entries if entries is not None else shipped_catalogue():
        defaults = {key: entry.get(key) for key in _CONNECTOR_KEYS}
        for key in ("available_auth_mechanisms", "capabilities", "account_usages", "products"):
            defaults[key] = defaults[key] or []
        for key in ("countries", "urls", "fields", "payment_fields"):
            defaults[key] = defaults[key] or []
        connector_uuid = uuid.UUID(entry["uuid"])
        connector = Connector.objects.filter(uuid=connector_uuid).first()
        changed = connector is None or any(
            getattr(connector, name) != value for name, value in defaults.items()
        )
        if connector is None:
            connector = Connector.objects.create(uuid=connector_uuid, **defaults)
            created += 1
        elif changed:
            Connector.objects.filter(pk=connector.pk).update(**defaults)
            updated += 1
        for source in entry["sources"]:
            values = {
                "auth_mechanism": source.get("auth_mechanism"),
                "available_auth_mechanisms": source.get("available_auth_mechanisms") or [],
                "priority": source.get("priority", 1),
                "account_usages": source.get("account_usages") or [],
                "disabled": _disabled(source.get("disabled")),
            }
            row = ConnectorSource.objects.filter(connector=connector, name=source["name"]).first()
            if row is None:
                ConnectorSource.objects.create(connector=connector, name=source["name"], **values)
            elif any(getattr(row, name) != value for name, value in values.items()):
                ConnectorSource.objects.filter(pk=row.pk).update(**values)
                if not changed:
                    updated += 1
                    changed = True
    return created, updated


_SYNTHETIC_COUNTRIES = ("FR", "DE", "ES", "IT", "BE", "NL", "PT", "GB")


def _synthetic_fields() -> list[dict[str, Any]]:
    def field(name: str, label: str, type_: str, sources: list[str], **extra: Any) -> dict:
        return {
            "name": name,
            "label": label,
            "type": type_,
            "required": extra.pop("required", True),
            "regex": extra.pop("regex", None),
            "values": extra.pop("values", []),
            "connector_sources": sources,
            "auth_mechanisms": ["credentials"],
            "description": None,
        }

    both = ["directaccess", "ebics"]
    return [
        field(
            "website",
            "Space",
            "list",
            both,
            values=[{"value": "par", "label": "Personal"}, {"value": "pro", "label": "Business"}],
        ),
        field("login", "Login", "text", both, regex=r"^\p{L}[\p{L}\p{N}._-]*$"),
        field("password", "Password", "password", both),
        field("birthdate", "Date of birth", "date", ["directaccess"], required=False),
        field("pin", "PIN", "number", ["ebics"], regex=r"^[[:digit:]]{4,8}$"),
    ]


@transaction.atomic
def generate_connectors(count: int, *, batch_size: int = 500) -> int:
    """Add ``count`` synthetic connectors (3 sources and 5 fields each) for benchmarks.

    Inserts in bulk: a few queries per ``batch_size`` connectors.
    """
    start = Connector.objects.filter(synthetic=True).count()
    fields = _synthetic_fields()
    made = 0
    while made < count:
        size = min(batch_size, count - made)
        numbers = range(start + made + 1, start + made + size + 1)
        connectors = [
            Connector(
                uuid=uuid.uuid4(),
                name=f"Synthetic Bank {number:05d}",
                slug=f"S{number:05d}",
                code=f"{number:05d}",
                color=f"{(number * 2654435761) % 0xFFFFFF:06x}",
                auth_mechanism="webauth",
                available_auth_mechanisms=["webauth", "credentials"],
                capabilities=["bank", "profile"],
                account_usages=["PRIV", "ORGA"],
                products=["bank"],
                countries=[_SYNTHETIC_COUNTRIES[number % len(_SYNTHETIC_COUNTRIES)]],
                urls=[f"https://synthetic-{number:05d}.example"],
                fields=fields,
                months_to_fetch=12,
                sync_frequency=1.0,
                synthetic=True,
            )
            for number in numbers
        ]
        Connector.objects.bulk_create(connectors)
        if any(c.pk is None for c in connectors):
            # Databases that cannot return ids from a bulk insert: read them back.
            ids = dict(
                Connector.objects.filter(uuid__in=[c.uuid for c in connectors]).values_list(
                    "uuid", "id"
                )
            )
            for connector in connectors:
                connector.pk = ids[connector.uuid]
        ConnectorSource.objects.bulk_create(
            ConnectorSource(
                connector_id=connector.pk,
                name=name,
                auth_mechanism=mechanism,
                available_auth_mechanisms=[mechanism],
                priority=priority,
                account_usages=["PRIV", "ORGA"],
            )
            for connector in connectors
            for priority, (name, mechanism) in enumerate(
                (("openapi", "webauth"), ("directaccess", "credentials"), ("ebics", "credentials")),
                start=1,
            )
        )
        made += size
    return made
