"""Powens payloads -> rows. The only code that writes the mirrored models.

Every function here works in bulk and in one transaction: the number of queries does
not depend on the number of objects (see :mod:`powens_django.bulk`), a payload whose
hash did not change writes nothing, child rows Powens stopped listing are removed,
and a failure half-way leaves the previous rows intact. Odd values are coerced
(unknown states are kept as they are; an unparseable date becomes None), and an item
that cannot be identified is skipped and counted rather than failing the whole batch.
"""

from __future__ import annotations

import bisect
import contextlib
import decimal
import functools
import gc
import hashlib
import json
import logging
import math
import operator
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connections, models, router, transaction
from django.utils import timezone

from . import bulk, signals
from .client.api import RESERVED_CONNECTION_KEYS
from .client.dates import parse_datetime
from .models import (
    BankAccount,
    CatalogueVersion,
    Connection,
    ConnectionSource,
    Connector,
    ConnectorCountry,
    ConnectorSource,
    LinkState,
    PowensUser,
)

logger = logging.getLogger("powens_django.sync")


@dataclass
class SyncResult:
    """What a sync did, for command summaries and tests."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    #: Bank accounts written (created or changed).
    accounts: int = 0
    #: Powens ids (connections) or uuids (connectors) written by this sync.
    written: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed" + (f", {self.skipped} skipped" if self.skipped else "")
        )


# -- coercion -------------------------------------------------------------------------


def encode_payload(payload: Any) -> tuple[bulk.EncodedJSON, str]:
    """The payload encoded once (keys sorted, compact, UTF-8) for storage, and its
    stable hash.

    ``NaN`` and infinities (which Python's JSON parser accepts, but JSON columns do
    not) are stored as null. Encoded with orjson (about ten times faster than the
    standard library); a payload orjson refuses (an integer beyond 64 bits) falls back
    to the standard library, with the same text for everything else.
    """
    try:
        data = orjson.dumps(payload, option=_ORJSON_OPTIONS, default=str)
    except TypeError:  # orjson.JSONEncodeError
        pass
    else:
        return bulk.EncodedJSON(None, data.decode("utf-8")), hashlib.sha256(data).hexdigest()
    try:
        text = json.dumps(
            payload,
            sort_keys=True,
            separators=(",", ":"),
            default=str,
            allow_nan=False,
            ensure_ascii=False,
        )
    except ValueError:
        payload = _finite(payload)
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False
        )
    return bulk.EncodedJSON(None, text), hashlib.sha256(text.encode("utf-8")).hexdigest()


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _raw(payload: Mapping[str, Any]) -> dict[str, Any]:
    raw, digest = encode_payload(payload)
    return {"raw": raw, "raw_hash": digest}


def payload_hash(payload: Any) -> str:
    """A stable hash of a payload (key order does not matter)."""
    return encode_payload(payload)[1]


class _Uncombined(dict[int, int | None]):
    """A ``str.translate`` table deleting combining characters (accents once
    decomposed), filled as characters are met; kept for the first 4,096 code points
    only (Latin, Greek, Cyrillic... and the common accents), so it stays small."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if code < 4096:
            self[code] = kept
        return kept


_UNCOMBINED = _Uncombined()


def search_key(text: str) -> str:
    """Casefolded text without accents: "Crédit Agricole" -> "credit agricole"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = decomposed if decomposed.isascii() else decomposed.translate(_UNCOMBINED)
    return " ".join(stripped.casefold().split())


@functools.cache
def _max_length(model: type[models.Model], name: str) -> int | None:
    return model._meta.get_field(name).max_length  # type: ignore[union-attr]


def _str(model: type[models.Model], name: str, value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    max_length = _max_length(model, name)
    return text[:max_length] if max_length else text


def _nullable_str(model: type[models.Model], name: str, value: Any) -> str | None:
    return None if value is None else _str(model, name, value)


# Column ranges on PostgreSQL, where a number out of range fails the whole batch.
_SMALLINT_MAX, _INTEGER_MAX, _BIGINT_MAX = 2**15 - 1, 2**31 - 1, 2**63 - 1


def _int(value: Any, maximum: int = _BIGINT_MAX) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 <= number <= maximum else None


def _bool(value: Any, default: bool = False) -> bool:
    return default if value is None else bool(value)


def _list(value: Any) -> list[Any]:
    if type(value) is list:
        return value  # stored as it is: rows are never changed after they are built
    return list(value) if isinstance(value, list | tuple) else []


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


#: Money columns: 28 digits, 8 after the point (the finest currency precision Powens uses).
_MONEY_PLACES = decimal.Decimal("1e-8")
_MONEY_LIMIT = decimal.Decimal("1e20")


def _money(value: Any) -> decimal.Decimal | None:
    """A monetary amount as an exact Decimal (floats through their shortest repr:
    ``0.1`` is ``Decimal("0.1")``); None when it is not a finite number in range."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = decimal.Decimal(str(value) if isinstance(value, float) else value)
    except (decimal.InvalidOperation, TypeError, ValueError):
        return None
    if not amount.is_finite() or abs(amount) >= _MONEY_LIMIT:
        return None
    return amount.quantize(_MONEY_PLACES, rounding=decimal.ROUND_HALF_EVEN)


# -- connector fields -----------------------------------------------------------------

#: The longest field name kept (Powens' are short technical words: "login", "website").
FIELD_NAME_MAX = 255
_FIELD_LISTS = ("connector_sources", "auth_mechanisms")


def clean_field_definition(
    definition: Any, *, problems: list[str] | None = None, reserved: bool = False
) -> dict[str, Any] | None:
    """One ConnectorField definition made renderable, or None when it cannot be.

    Dropped (None): anything but an object, a field without a usable ``name`` (a
    non-empty string), and with ``reserved`` a name that is a key of the connection
    request itself (:data:`~powens_django.client.api.RESERVED_CONNECTION_KEYS`: its value
    would be read as ``source``, ``connector_uuid``...). Repaired in a copy: ``values``
    becomes a list of objects (``[]`` when it is not a list); ``connector_sources`` and
    ``auth_mechanisms`` lists of strings (a lone string becomes a one-item list, any
    other value is removed: the field then applies everywhere); a ``type``, ``label`` or
    ``regex`` that is not a string is removed (a number label becomes text); ``required``
    becomes a boolean. Other keys are kept as they are. What was wrong is appended to
    ``problems`` (short texts naming the field, never a value typed by anyone).
    """
    report = problems if problems is not None else []
    if not isinstance(definition, Mapping):
        report.append("a field that is not an object was dropped")
        return None
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > FIELD_NAME_MAX:
        report.append("a field without a usable name was dropped")
        return None
    if reserved and name in RESERVED_CONNECTION_KEYS:
        report.append(f"field {name!r} was dropped: its name is a key of the request itself")
        return None
    if type(definition) is dict and _already_clean(definition):
        return dict(definition)  # the common case: nothing to repair
    cleaned = dict(definition)
    if "values" in cleaned:
        values = cleaned["values"]
        if not isinstance(values, list | tuple):
            report.append(f"field {name!r}: 'values' is not a list")
            cleaned["values"] = []
        elif not all(isinstance(v, Mapping) for v in values):
            report.append(f"field {name!r}: 'values' holds entries that are not objects")
            cleaned["values"] = [v for v in values if isinstance(v, Mapping)]
        else:
            cleaned["values"] = list(values)
    for key in _FIELD_LISTS:
        items = cleaned.get(key)
        if items is None:
            continue
        if isinstance(items, str):
            report.append(f"field {name!r}: {key!r} is a string, not a list")
            cleaned[key] = [items]
        elif isinstance(items, list | tuple):
            kept = [item for item in items if isinstance(item, str)]
            if len(kept) != len(items):
                report.append(f"field {name!r}: {key!r} holds entries that are not strings")
            cleaned[key] = kept
        else:
            report.append(f"field {name!r}: {key!r} is not a list")
            del cleaned[key]
    label = cleaned.get("label")
    if isinstance(label, int | float) and not isinstance(label, bool):
        cleaned["label"] = str(label)
    for key in ("type", "label", "regex"):
        if cleaned.get(key) is not None and not isinstance(cleaned[key], str):
            report.append(f"field {name!r}: {key!r} is not a string")
            del cleaned[key]
    required = cleaned.get("required")
    if required is not None and not isinstance(required, bool):
        report.append(f"field {name!r}: 'required' is not a boolean")
        text = str(required).strip().lower()
        cleaned["required"] = text not in ("", "0", "false", "no", "none", "null")
    return cleaned


def _already_clean(definition: dict[str, Any]) -> bool:
    # Plain loops: this runs for every field of every connector of a refresh.
    values = definition.get("values", ())
    if type(values) is not list:
        if values != ():
            return False
    else:
        for value in values:
            if type(value) is not dict:
                return False
    for key in _FIELD_LISTS:
        items = definition.get(key)
        if items is None:
            continue
        if type(items) is not list:
            return False
        for item in items:
            if type(item) is not str:
                return False
    for key in ("type", "label", "regex"):
        value = definition.get(key)
        if value is not None and type(value) is not str:
            return False
    required = definition.get("required")
    return required is None or type(required) is bool


def clean_connector_fields(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    """A connector's ``fields`` as the forms can render them (see
    :func:`clean_field_definition`); names that are request keys are dropped."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        problems.append("'fields' is not a list")
        return []
    cleaned = (clean_field_definition(d, problems=problems, reserved=True) for d in value)
    return [d for d in cleaned if d is not None]


# -- connectors -----------------------------------------------------------------------


#: The JSON columns of the catalogue's rows, encoded by the row builders themselves
#: (``encoded`` of :func:`bulk.load`): every value is JSON text, or None.
_CONNECTOR_JSON = (
    "available_auth_mechanisms",
    "capabilities",
    "products",
    "account_usages",
    "urls",
    "fields",
    "payment_settings",
    "raw",
)
_CONNECTOR_SOURCE_JSON = ("available_auth_mechanisms", "account_usages", "raw")


@functools.cache
def _max_lengths(model: type[models.Model]) -> dict[str, int | None]:
    return {f.name: getattr(f, "max_length", None) for f in model._meta.concrete_fields}


def _text(value: Any, max_length: int | None) -> str:
    """``_str`` with the column's length given (the row builders look them up once)."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    return text[:max_length] if max_length else text


def _stored_fields(value: Any, problems: list[str]) -> Any:
    """:func:`clean_connector_fields`, without copying a list that needs no repair (the
    common case: its JSON text is the same, and it is encoded right away)."""
    if type(value) is list:
        for definition in value:
            name = definition.get("name") if type(definition) is dict else None
            if (
                type(name) is not str
                or not name.strip()
                or len(name) > FIELD_NAME_MAX
                or name in RESERVED_CONNECTION_KEYS
                or not _already_clean(definition)
            ):
                break
        else:
            return value
    return clean_connector_fields(value, problems)


def _connector_row(
    payload: Mapping[str, Any],
    raw: str,
    digest: str,
    now: Any,
    texts: bulk.JSONTexts,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    """The row of a connector, its JSON columns encoded (:data:`_CONNECTOR_JSON`)."""
    length = _max_lengths(Connector)
    get = payload.get
    name = _text(get("name"), length["name"])
    return {
        "uuid": _text(payload["uuid"], length["uuid"]),
        "powens_id": _int(get("id"), _INTEGER_MAX),
        "name": name,
        "search_name": _text(search_key(name), length["search_name"]),
        "slug": _text(get("slug"), length["slug"]),
        "code": _text(get("code"), length["code"]),
        "color": _text(get("color"), length["color"]),
        "hidden": _bool(get("hidden")),
        "beta": _bool(get("beta")),
        "charged": _bool(get("charged")),
        "restricted": _bool(get("restricted")),
        "auth_mechanism": _text(get("auth_mechanism"), length["auth_mechanism"]),
        "available_auth_mechanisms": texts(_list(get("available_auth_mechanisms"))),
        "transfer_mechanism": _text(get("transfer_mechanism"), length["transfer_mechanism"]),
        "siret": _text(get("siret"), length["siret"]),
        "months_to_fetch": _int(get("months_to_fetch"), _SMALLINT_MAX),
        "capabilities": texts(_list(get("capabilities"))),
        "products": texts(_list(get("products"))),
        "account_usages": texts(_list(get("account_usages"))),
        "urls": texts(_list(get("urls"))),
        "fields": texts.encode(
            _stored_fields(get("fields"), problems if problems is not None else [])
        ),
        "payment_settings": texts(_dict_or_none(get("payment_settings"))),
        "raw": raw,
        "raw_hash": digest,
        "synced_at": now,
    }


def _connector_source_row(
    connector_pk: int, powens_id: int, payload: Mapping[str, Any], now: Any, texts: bulk.JSONTexts
) -> dict[str, Any]:
    """The row of a connector source, its JSON columns encoded (:data:`_CONNECTOR_SOURCE_JSON`)."""
    length = _max_lengths(ConnectorSource)
    get = payload.get
    raw, digest = encode_payload(payload)
    priority = get("priority")
    disabled = get("disabled")
    return {
        "powens_id": powens_id,
        "connector_id": connector_pk,
        "name": _text(get("name"), length["name"]),
        "auth_mechanism": _text(get("auth_mechanism"), length["auth_mechanism"]),
        "available_auth_mechanisms": texts(_list(get("available_auth_mechanisms"))),
        "disabled": None if disabled is None else parse_datetime(disabled),
        "priority": priority if isinstance(priority, int) else None,
        "account_usages": texts(_list(get("account_usages"))),
        "raw": raw.text,
        "raw_hash": digest,
        "synced_at": now,
    }


def _country_rows(connector_pk: int, countries: list[Any]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    max_length = _max_lengths(ConnectorCountry)["name"]
    for item in countries:
        mapping = isinstance(item, Mapping)
        code = item.get("id") if mapping else item
        if not isinstance(code, str) or len(code) != 2:
            continue
        name = item.get("name") if mapping else ""
        code = code.upper()
        rows[code] = {"connector_id": connector_pk, "code": code, "name": _text(name, max_length)}
    return list(rows.values())


def sync_connectors(
    payloads: Iterable[Mapping[str, Any]],
    *,
    prune: bool = True,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int | None = None,
) -> SyncResult:
    """Mirror a list of Connector payloads (ideally ``expand=fields,sources,countries``).

    Connectors are matched on ``uuid``. With ``prune``, connectors absent from
    ``payloads`` are deleted (pass ``prune=False`` for a partial list, e.g. filtered
    by country). Sources and countries are replaced only for connectors whose payload
    carries them. ``progress(done, total)`` is called while payloads are compared.

    Streams: payloads are compared and written ``chunk_size`` at a time
    (:data:`CATALOGUE_CHUNK_SIZE` by default), each payload JSON-encoded once, so the
    memory used does not grow with the catalogue; on PostgreSQL the rows travel with
    ``COPY``. The number of queries is a constant plus a constant per chunk. It is all
    one transaction, under an advisory lock on PostgreSQL: a failure at any chunk
    leaves the previous catalogue as it was, and two refreshes run one after the other.
    """
    result = SyncResult()
    now = timezone.now()
    size = max(1, chunk_size or CATALOGUE_CHUNK_SIZE)
    total = len(payloads) if isinstance(payloads, Sized) else 0
    problems = _ProblemLog()
    seen = _SeenUuids()
    counter = _Progress(progress, total)
    with transaction.atomic():
        _lock_catalogue()
        for chunk in _chunks(payloads, size):
            with _collector_paused():
                _sync_connector_chunk(chunk, now, seen, result, problems, counter)
        problems.log()
        if prune:
            gone = [pk for uuid, pk in _connector_keys(size) if not seen.contains(uuid)]
            bulk.delete_in(ConnectorSource, field="connector", values=gone)
            bulk.delete_in(ConnectorCountry, field="connector", values=gone)
            result.removed = bulk.delete_in(Connector, field="pk", values=gone)
        if result.created or result.updated or result.removed:
            _catalogue_changed(now)
    return result


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one chunk, then as it was.

    A chunk allocates tens of thousands of short-lived, acyclic rows (dicts, strings,
    tuples), freed by reference counting as soon as they are written; the collector
    would walk them again and again for nothing (a quarter of the refresh's time). Any
    cycle is collected once the chunk is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _connector_keys(size: int) -> Iterable[tuple[str, int]]:
    """(uuid, pk) of every mirrored connector, ``size`` rows at a time (a plain cursor:
    the ORM's iterator costs three times as much per row, for two columns)."""
    connection = connections[router.db_for_write(Connector)]
    q = connection.ops.quote_name
    meta = Connector._meta
    columns = f"{q(str(meta.get_field('uuid').column))}, {q(str(meta.pk.column))}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {q(meta.db_table)}")  # noqa: S608
        while rows := cursor.fetchmany(size):
            yield from rows


#: Connectors compared and written per step of a catalogue sync: the memory a sync
#: uses is bounded by this, not by the size of the catalogue.
CATALOGUE_CHUNK_SIZE = 1000


class _Progress:
    def __init__(self, report: Callable[[int, int], None] | None, total: int) -> None:
        self.report, self.total, self.done = report, total, 0
        self.step = max(1, total // 100)

    def tick(self) -> None:
        self.done += 1
        if self.report is not None and (self.done % self.step == 0 or self.done == self.total):
            self.report(self.done, max(self.total, self.done))


class _SeenUuids:
    """The uuids of a sync's payloads so far, as one sorted list (8 bytes each: a set
    would take five times that, for a catalogue of any size)."""

    def __init__(self) -> None:
        self.sorted: list[str] = []

    def contains(self, uuid: str) -> bool:
        at = bisect.bisect_left(self.sorted, uuid)
        return at < len(self.sorted) and self.sorted[at] == uuid

    def add(self, uuids: set[str]) -> None:
        # Two sorted runs: the sort merges them in linear time.
        self.sorted += sorted(uuids)
        self.sorted.sort()


class _ProblemLog:
    """Field problems of a sync, per distinct problem (bounded in memory); logged
    once per sync, each with how many connectors have it."""

    def __init__(self) -> None:
        self.by_problem: dict[str, tuple[int, list[str]]] = {}

    def add(self, uuid: str, texts: list[str]) -> None:
        for text in dict.fromkeys(texts):
            count, examples = self.by_problem.get(text, (0, []))
            if len(examples) < 3:
                examples.append(uuid)
            self.by_problem[text] = (count + 1, examples)

    def log(self) -> None:
        for text, (count, uuids) in self.by_problem.items():
            logger.warning(
                "Connector fields: %s in %d connector(s) (%s%s); stored repaired, raw payload kept",
                text,
                count,
                ", ".join(uuids),
                ", ..." if count > 3 else "",
            )


def _chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sync_connector_chunk(
    chunk: list[Any],
    now: Any,
    seen: _SeenUuids,
    result: SyncResult,
    problems: _ProblemLog,
    counter: _Progress,
) -> None:
    valid: list[tuple[str, Mapping[str, Any]]] = []
    chunk_uuids: set[str] = set()
    uuid_length = _max_lengths(Connector)["uuid"] or math.inf
    for payload in chunk:
        counter.tick()
        mapping = type(payload) is dict or isinstance(payload, Mapping)
        uuid = payload.get("uuid") if mapping else None
        if (
            not isinstance(uuid, str)
            or not uuid
            # A uuid the column would cut cannot identify a connector (cut ones collide).
            or len(uuid) > uuid_length
            or uuid in chunk_uuids
            or seen.contains(uuid)
        ):
            result.skipped += 1
            logger.warning("Skipping a connector payload without a usable uuid")
            continue
        chunk_uuids.add(uuid)
        valid.append((uuid, payload))
    seen.add(chunk_uuids)
    if not valid:
        return
    existing = dict(
        bulk.select_in(
            Connector, field="uuid", values=[u for u, _ in valid], columns=("uuid", "raw_hash")
        )
    )
    # First what changed (the hash of each payload against the stored one); the rows
    # themselves are built as they are written (``bulk.load`` takes generators), so on
    # PostgreSQL Python builds them while the server writes the ones before.
    created: list[tuple[int, str, Mapping[str, Any], str, str]] = []
    updated: list[tuple[int, str, Mapping[str, Any], str, str]] = []
    changed: list[tuple[str, Mapping[str, Any]]] = []
    for uuid, payload in valid:
        raw, digest = encode_payload(payload)
        known = existing.get(uuid)
        if known == digest:
            result.unchanged += 1
            continue
        item = (len(changed), uuid, payload, raw.text, digest)
        (created if known is None else updated).append(item)
        changed.append((uuid, payload))
    if not changed:
        return
    result.created += len(created)
    result.updated += len(updated)
    texts = bulk.JSONTexts()  # one per chunk: the short lists it remembers stay few
    # Field problems are logged with the first connectors that have them, in the
    # catalogue's order (new connectors are written before updated ones).
    found_problems: list[tuple[int, str, list[str]]] = []

    def connector_rows(
        items: list[tuple[int, str, Mapping[str, Any], str, str]],
    ) -> Iterator[dict[str, Any]]:
        for index, uuid, payload, raw, digest in items:
            found: list[str] = []
            row = _connector_row(payload, raw, digest, now, texts, found)
            if found:
                found_problems.append((index, uuid, found))
            yield row

    # Under the catalogue lock, and sync being the only writer: what was not there
    # when we looked is still not there.
    bulk.load(
        Connector, connector_rows(created), unique_fields="uuid", new=True, encoded=_CONNECTOR_JSON
    )
    bulk.load(Connector, connector_rows(updated), unique_fields="uuid", encoded=_CONNECTOR_JSON)
    del created, updated
    for _, uuid, found in sorted(found_problems, key=operator.itemgetter(0)):
        problems.add(uuid, found)
    result.written += [uuid for uuid, _ in changed]
    pks = dict(
        bulk.select_in(
            Connector, field="uuid", values=[u for u, _ in changed], columns=("uuid", "pk")
        )
    )
    # Source ids are unique across connectors: a duplicate in one batch would make
    # ON CONFLICT update a row twice (the last one listed wins, in the first's place).
    sources: dict[int, tuple[int, Mapping[str, Any]]] = {}
    countries: list[tuple[int, list[Any]]] = []
    source_parents: list[int] = []
    country_parents: list[int] = []
    for uuid, payload in changed:
        pk = pks[uuid]
        # A connector created just now has no sources or countries to replace.
        replaced = uuid in existing
        if isinstance(payload.get("sources"), list):
            if replaced:
                source_parents.append(pk)
            for source in payload["sources"]:
                if type(source) is dict or isinstance(source, Mapping):
                    powens_id = _int(source.get("id"), _INTEGER_MAX)
                    if powens_id:
                        sources[powens_id] = (pk, source)
        if isinstance(payload.get("countries"), list):
            if replaced:
                country_parents.append(pk)
            countries.append((pk, payload["countries"]))
    # Sources already mirrored are upserted; the others (all of them on a first load)
    # are copied straight in. A source id is unique across connectors: look, don't guess.
    known_sources = {
        powens_id
        for (powens_id,) in bulk.select_in(
            ConnectorSource, field="powens_id", values=list(sources), columns=("powens_id",)
        )
    }

    def source_rows(known: bool) -> Iterator[dict[str, Any]]:
        for powens_id, (pk, source) in sources.items():
            if (powens_id in known_sources) is known:
                yield _connector_source_row(pk, powens_id, source, now, texts)

    bulk.load(
        ConnectorSource,
        source_rows(known=False),
        unique_fields="powens_id",
        new=True,
        encoded=_CONNECTOR_SOURCE_JSON,
    )
    bulk.load(
        ConnectorSource,
        source_rows(known=True),
        unique_fields="powens_id",
        encoded=_CONNECTOR_SOURCE_JSON,
    )
    bulk.delete_missing(
        ConnectorSource,
        parent_field="connector",
        parent_ids=source_parents,
        keep_field="powens_id",
        keep_values=list(sources),
    )
    bulk.delete_in(ConnectorCountry, field="connector", values=country_parents)
    # Just emptied for these connectors, and one row per code each (_country_rows).
    bulk.load(
        ConnectorCountry,
        (row for pk, listed in countries for row in _country_rows(pk, listed)),
        unique_fields=("connector", "code"),
        new=True,
    )


def _catalogue_changed(now: Any) -> None:
    # In the sync's transaction: pages see the new version when the rows commit. One
    # statement whether or not the row exists yet.
    connection = connections[router.db_for_write(CatalogueVersion)]
    if connection.vendor in ("sqlite", "postgresql"):
        q = connection.ops.quote_name
        table = q(CatalogueVersion._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (id, version, changed_at) VALUES (1, 1, %s) "  # noqa: S608
                f"ON CONFLICT (id) DO UPDATE SET version = {table}.version + 1, "
                "changed_at = excluded.changed_at",
                [connection.ops.adapt_datetimefield_value(now)],
            )
        return
    bumped = CatalogueVersion._default_manager.filter(pk=1).update(
        version=models.F("version") + 1, changed_at=now
    )
    if not bumped:
        CatalogueVersion._default_manager.create(pk=1, version=1, changed_at=now)


#: The key of PostgreSQL's transaction-level advisory lock held by a catalogue sync.
CATALOGUE_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"powens_django.sync_connectors").digest()[:8], "big", signed=True
)


def _lock_catalogue() -> None:
    # Two catalogue refreshes at once (a command and a task) would both read the old
    # rows and write over each other in another order (deadlocks, counts twice): on
    # PostgreSQL the second waits for the first to commit. Readers are not blocked.
    # SQLite serialises writers itself.
    connection = connections[router.db_for_write(Connector)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CATALOGUE_LOCK_KEY])


def _lock_powens_user(powens_user: PowensUser) -> None:
    # Two requests mirroring the same user's connections at once would both read the
    # rows as they were, then both write (counted and signalled twice, or deadlocked):
    # the user's row is locked first, so the second waits for the first to commit.
    # On SQLite (no SELECT ... FOR UPDATE) the database serialises writers itself.
    connection = connections[router.db_for_write(PowensUser)]
    if connection.features.has_select_for_update:
        no_key = connection.features.has_select_for_no_key_update
        list(
            PowensUser.objects.select_for_update(no_key=no_key)
            .filter(pk=powens_user.pk)
            .values_list("pk", flat=True)
        )


def _unique(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    # A duplicated id inside one batch would make ON CONFLICT update a row twice.
    return list({row[key]: row for row in rows}.values())


# -- connections ----------------------------------------------------------------------


def _connector_uuid(payload: Mapping[str, Any]) -> str | None:
    uuid = payload.get("connector_uuid")
    if not uuid and isinstance(payload.get("connector"), Mapping):
        uuid = payload["connector"].get("uuid")
    return str(uuid)[:64] if uuid else None


def _connection_row(
    powens_user: PowensUser,
    payload: Mapping[str, Any],
    raw: bulk.EncodedJSON,
    digest: str,
    now: Any,
) -> dict[str, Any]:
    c = Connection
    fields = payload.get("fields")
    return {
        "powens_id": _int(payload["id"]),
        "powens_user_id": powens_user.pk,
        "connector_id": _connector_uuid(payload),
        "powens_connector_id": _int(payload.get("id_connector"), _INTEGER_MAX),
        "state": _nullable_str(c, "state", payload.get("state")),
        "error_message": _nullable_str(c, "error_message", payload.get("error_message")),
        "fields": fields if isinstance(fields, list) else None,
        "active": _bool(payload.get("active"), default=True),
        "last_update": parse_datetime(payload.get("last_update")),
        "created": parse_datetime(payload.get("created")),
        "last_push": parse_datetime(payload.get("last_push")),
        "expire": parse_datetime(payload.get("expire")),
        "next_try": parse_datetime(payload.get("next_try")),
        "raw": raw,
        "raw_hash": digest,
        "synced_at": now,
    }


def _connection_source_row(
    connection_pk: int, payload: Mapping[str, Any], now: Any
) -> dict[str, Any]:
    s = ConnectionSource
    return {
        "powens_id": _int(payload["id"]),
        "connection_id": connection_pk,
        "connector_source_id": _int(payload.get("id_connector_source"), _INTEGER_MAX),
        "name": _str(s, "name", payload.get("name")),
        "state": _nullable_str(s, "state", payload.get("state")),
        "last_update": parse_datetime(payload.get("last_update")),
        "created": parse_datetime(payload.get("created")),
        "disabled": parse_datetime(payload.get("disabled")),
        "access_expire": parse_datetime(payload.get("access_expire")),
        "expire": parse_datetime(payload.get("expire")),
        "next_try": parse_datetime(payload.get("next_try")),
        **_raw(payload),
        "synced_at": now,
    }


#: Keys of a Connection payload holding its accounts: ``all_accounts`` lists every one
#: (disabled included), ``accounts`` only the enabled ones (webhooks, ``expand=accounts``).
_ACCOUNT_LISTS = ("all_accounts", "accounts")
#: Heavy children of an account (a webhook carries the sync's new transactions): handed
#: to the host by the webhook signal, never stored in ``BankAccount.raw``.
ACCOUNT_CHILDREN = ("transactions", "investments", "market_orders", "pockets")


def _split_accounts(
    payload: Mapping[str, Any],
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]] | None, bool]:
    """``(connection payload without its accounts, accounts or None, complete)``."""
    for key in _ACCOUNT_LISTS:
        if isinstance(payload.get(key), list):
            rest = {k: v for k, v in payload.items() if k not in _ACCOUNT_LISTS}
            accounts = [a for a in payload[key] if isinstance(a, Mapping)]
            return rest, accounts, key == "all_accounts"
    if any(key in payload for key in _ACCOUNT_LISTS):
        return {k: v for k, v in payload.items() if k not in _ACCOUNT_LISTS}, None, False
    return payload, None, False


def _currency(value: Any) -> tuple[str, int | None]:
    if isinstance(value, Mapping):
        code, precision = value.get("id"), _int(value.get("precision"), 18)
    else:
        code, precision = value, None
    return _str(BankAccount, "currency", code if isinstance(code, str) else None), precision


def _account_row(connection_pk: int, payload: Mapping[str, Any], now: Any) -> dict[str, Any]:
    a = BankAccount
    stored = {k: v for k, v in payload.items() if k not in ACCOUNT_CHILDREN}
    currency, precision = _currency(payload.get("currency"))
    return {
        "powens_id": _int(payload["id"]),
        "connection_id": connection_pk,
        "powens_source_id": _int(payload.get("id_source")),
        "name": _str(a, "name", payload.get("name")),
        "original_name": _str(a, "original_name", payload.get("original_name")),
        "number": _str(a, "number", payload.get("number")),
        "iban": _str(a, "iban", payload.get("iban")),
        "balance": _money(payload.get("balance")),
        "coming": _money(payload.get("coming")),
        "currency": currency,
        "currency_precision": precision,
        "type": _str(a, "type", payload.get("type")),
        "usage": _str(a, "usage", payload.get("usage")),
        "display": _bool(payload.get("display"), default=True),
        "disabled": parse_datetime(payload.get("disabled")),
        "deleted": parse_datetime(payload.get("deleted")),
        "last_update": parse_datetime(payload.get("last_update")),
        **_raw(stored),
        "synced_at": now,
    }


def _sync_accounts(
    powens_user: PowensUser,
    accounts: dict[int, tuple[list[Mapping[str, Any]], bool]],
    pks: dict[int, int],
    now: Any,
    result: SyncResult,
) -> None:
    """Upsert the accounts of the connections in ``accounts`` (powens id -> (account
    payloads, complete)); with ``complete``, the connection's accounts not listed are
    removed. Three queries whatever the number of accounts."""
    listed = {
        _int(a.get("id")) for items, _ in accounts.values() for a in items if _int(a.get("id"))
    }
    existing: dict[int, tuple[int, str]] = {}
    held: set[int] = set()
    for held_id, held_parent, owner, digest in BankAccount.objects.filter(
        models.Q(connection_id__in=[pks[pid] for pid in accounts]) | models.Q(powens_id__in=listed)
    ).values_list("powens_id", "connection_id", "connection__powens_user_id", "raw_hash"):
        if owner == powens_user.pk:
            existing[held_id] = (held_parent, digest)
        else:
            held.add(held_id)
    rows: list[dict[str, Any]] = []
    keep: list[int] = []
    complete_parents: list[int] = []
    for powens_id, (items, complete) in accounts.items():
        connection_pk = pks[powens_id]
        if complete:
            complete_parents.append(connection_pk)
        for item in items:
            account_id = _int(item.get("id"))
            if not account_id:
                result.skipped += 1
                continue
            if account_id in held:
                # Another local Powens user holds this account id: never move it across.
                result.skipped += 1
                logger.warning(
                    "Account %s is listed on connection %s but belongs locally to another "
                    "Powens user; left as it is",
                    account_id,
                    powens_id,
                )
                continue
            keep.append(account_id)
            row = _account_row(connection_pk, item, now)
            if existing.get(account_id) == (connection_pk, row["raw_hash"]):
                continue
            rows.append(row)
    rows = _unique(rows, "powens_id")
    bulk.upsert(BankAccount, rows, unique_fields="powens_id")
    result.accounts += len(rows)
    if complete_parents:
        bulk.delete_missing(
            BankAccount,
            parent_field="connection",
            parent_ids=complete_parents,
            keep_field="powens_id",
            keep_values=keep,
        )


def sync_connections(
    powens_user: PowensUser,
    payloads: Iterable[Mapping[str, Any]],
    *,
    complete: bool = False,
    sources_complete: bool = False,
) -> SyncResult:
    """Mirror Connection payloads belonging to ``powens_user``.

    ``complete=True`` means ``payloads`` is the user's whole list: local connections
    missing from it were deleted at Powens and are deleted here too. Sources are
    upserted for payloads that carry them; local sources missing from a payload are
    removed only with ``sources_complete=True`` (the payload listed disabled sources
    too, which ``expand=sources`` and webhooks leave out). Accounts are upserted for
    payloads carrying ``all_accounts`` (the connection's complete list: accounts not in
    it are removed) or ``accounts`` (the enabled ones), even when the connection itself
    did not change; their transactions are not stored. Host-project signals
    (created, synced, state changed, deleted) are sent after the transaction commits.
    """
    result = SyncResult()
    now = timezone.now()
    pending: list[tuple[str, int, str | None]] = []  # (event, powens_id, old state)
    deleted_ids: list[int] = []
    accounts: dict[int, tuple[list[Mapping[str, Any]], bool]] = {}
    payloads = list(payloads)
    listed = [_int(p.get("id")) if isinstance(p, Mapping) else None for p in payloads]
    with transaction.atomic():
        _lock_powens_user(powens_user)
        # The user's rows, and any row of a listed id held by another local user (one
        # query: the count stays fixed).
        existing: dict[int, tuple[int, str | None, str, Any]] = {}
        held: dict[int, int] = {}
        for row_id, owner, pk, state, digest, last_update in Connection.objects.filter(
            models.Q(powens_user=powens_user)
            | models.Q(powens_id__in={pid for pid in listed if pid})
        ).values_list("powens_id", "powens_user_id", "pk", "state", "raw_hash", "last_update"):
            if owner == powens_user.pk:
                existing[row_id] = (pk, state, digest, last_update)
            else:
                held[row_id] = owner
        rows, changed, seen = [], {}, set()
        for payload, powens_id in zip(payloads, listed, strict=True):
            if not powens_id or powens_id in seen:
                result.skipped += 1
                logger.warning("Skipping a connection payload without a usable id")
                continue
            seen.add(powens_id)
            payload, account_items, accounts_complete = _split_accounts(payload)
            if powens_id in held:
                # Powens lists it for this user while another local user holds it: a
                # mix-up somewhere (a token pasted on the wrong user, a reused id).
                # Moving it would hand one person's bank to another: leave it.
                result.skipped += 1
                logger.warning(
                    "Connection %s is listed for Powens user %s but belongs locally to "
                    "another Powens user (pk=%s); left as it is",
                    powens_id,
                    powens_user.powens_id,
                    held[powens_id],
                )
                continue
            if account_items is not None:
                accounts[powens_id] = (account_items, accounts_complete)
            raw, digest = encode_payload(payload)
            before = existing.get(powens_id)
            if before is not None and before[2] == digest:
                result.unchanged += 1
                continue
            row = _connection_row(powens_user, payload, raw, digest, now)
            rows.append(row)
            changed[powens_id] = payload
            if before is None:
                result.created += 1
                pending.append(("created", powens_id, None))
            else:
                result.updated += 1
                if before[1] != row["state"]:
                    pending.append(("state_changed", powens_id, before[1]))
            if row["last_update"] and (before is None or before[3] != row["last_update"]):
                pending.append(("synced", powens_id, None))
        bulk.upsert(Connection, rows, unique_fields="powens_id")
        result.written = list(changed)

        with_sources = [pid for pid, p in changed.items() if isinstance(p.get("sources"), list)]
        pks: dict[int, int] = {}
        if with_sources or accounts:
            pks = dict(
                Connection.objects.filter(powens_user=powens_user).values_list("powens_id", "pk")
            )
        if with_sources:
            source_rows = [
                _connection_source_row(pks[pid], s, now)
                for pid in with_sources
                for s in changed[pid]["sources"]
                if isinstance(s, Mapping) and _int(s.get("id"))
            ]
            bulk.upsert(
                ConnectionSource, _unique(source_rows, "powens_id"), unique_fields="powens_id"
            )
            if sources_complete:
                bulk.delete_missing(
                    ConnectionSource,
                    parent_field="connection",
                    parent_ids=[pks[pid] for pid in with_sources],
                    keep_field="powens_id",
                    keep_values=[r["powens_id"] for r in source_rows],
                )

        if accounts:
            _sync_accounts(powens_user, accounts, pks, now, result)

        if complete:
            gone = {pid: v[0] for pid, v in existing.items() if pid not in seen}
            if gone:
                deleted_ids = list(gone)
                bulk.delete_in(ConnectionSource, field="connection", values=list(gone.values()))
                bulk.delete_in(BankAccount, field="connection", values=list(gone.values()))
                result.removed = bulk.delete_in(Connection, field="pk", values=list(gone.values()))

        if pending or deleted_ids:
            transaction.on_commit(lambda: _send_signals(powens_user, pending, deleted_ids))
    return result


def forget_powens_user(powens_user: PowensUser) -> list[int]:
    """Delete a Powens user's local rows: its connections and their sources, its
    unfinished browser flows, and the :class:`PowensUser` with its token (after Powens
    confirmed the user is gone). The Django user stays. Returns the connection ids
    removed; ``connection_deleted`` and ``powens_user_deleted`` are sent after commit.
    """
    user_id, powens_id = powens_user.user_id, powens_user.powens_id
    with transaction.atomic():
        _lock_powens_user(powens_user)  # first, as sync_connections does: no deadlock
        ids = list(powens_user.connections.values_list("powens_id", flat=True))
        ConnectionSource.objects.filter(connection__powens_user=powens_user).delete()
        BankAccount.objects.filter(connection__powens_user=powens_user).delete()
        Connection.objects.filter(powens_user=powens_user).delete()
        LinkState.objects.filter(user_id=user_id).delete()
        PowensUser.objects.filter(pk=powens_user.pk).delete()

        def send() -> None:
            send_deleted(powens_user, ids)
            signals.powens_user_deleted.send(
                PowensUser, user_id=user_id, powens_id=powens_id, connection_ids=ids
            )

        transaction.on_commit(send)
    return ids


def forget_connection(connection: Connection) -> None:
    """Delete a connection's local rows (after Powens confirmed it is gone)."""
    powens_user, powens_id = connection.powens_user, connection.powens_id
    with transaction.atomic():
        ConnectionSource.objects.filter(connection=connection).delete()
        BankAccount.objects.filter(connection=connection).delete()
        Connection.objects.filter(pk=connection.pk).delete()
        transaction.on_commit(lambda: send_deleted(powens_user, [powens_id]))


def _send_signals(
    powens_user: PowensUser,
    pending: list[tuple[str, int, str | None]],
    deleted_ids: list[int],
) -> None:
    connections = {}
    if pending:
        connections = Connection.objects.select_related("connector").in_bulk(
            {pid for _, pid, _ in pending}, field_name="powens_id"
        )
    for event, powens_id, old_state in pending:
        connection = connections.get(powens_id)
        if connection is None:
            continue
        if event == "created":
            signals.connection_created.send(Connection, connection=connection)
        elif event == "synced":
            signals.connection_synced.send(Connection, connection=connection)
        else:
            signals.connection_state_changed.send(
                Connection, connection=connection, old_state=old_state, new_state=connection.state
            )
    send_deleted(powens_user, deleted_ids)


def send_deleted(powens_user: PowensUser, powens_ids: Iterable[int]) -> None:
    """Send ``connection_deleted`` for connections removed from the mirror."""
    for powens_id in powens_ids:
        signals.connection_deleted.send(Connection, powens_id=powens_id, powens_user=powens_user)
