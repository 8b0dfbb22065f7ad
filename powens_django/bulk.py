"""Bulk writes in a fixed number of statements, whatever the number of rows.

Django's ``bulk_create(update_conflicts=True)`` is one statement per batch, and on
SQLite a batch is capped at 999 parameters (about 40 rows of a connector): a catalogue
of 5,000 connectors would take over a hundred statements. Here:

- on PostgreSQL every row travels in a single JSON parameter that the server unpacks
  with ``jsonb_to_recordset``: one statement, one round trip (large batches travel with
  ``COPY``: :func:`load`); lookups and deletes send their keys as one array parameter;
- on SQLite (in-process, so there are no round trips to save) an upsert is one
  ``executemany`` of a prepared ``INSERT ... ON CONFLICT``, the fastest way SQLite
  writes rows; deletes pass their keys as one JSON parameter to ``json_each``;
- other databases fall back to Django's own bulk methods.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import itertools
import json
import operator
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

_FAST_VENDORS = frozenset({"sqlite", "postgresql"})


class EncodedJSON:
    """JSON already encoded (``text``) for a JSON column.

    Sync encodes each payload once, to hash it; handing that text to the upsert saves
    encoding it a second time. ``data`` is what it encodes (decoded again from the
    text, and only for the databases that need values rather than text). A wrapper
    rather than a ``str`` subclass: making one of those copies the text.
    """

    __slots__ = ("text",)

    def __init__(self, data: Any, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"EncodedJSON({self.text[:40]!r}...)"

    @property
    def data(self) -> Any:
        return orjson.loads(self.text)


class JSONTexts:
    """Values as the JSON text their column stores (None stays None): compact, with
    orjson; Django's own text when the column has an ``encoder`` or orjson refuses
    the value (an integer beyond 64 bits).

    Short lists of strings (``["PRIV"]``, ``["credentials"]``) repeat across thousands
    of rows: each distinct one is encoded once (keep an instance for one batch: what
    it remembers grows with the distinct lists it saw).
    """

    __slots__ = ("encoder", "memo")

    def __init__(self, encoder: type[json.JSONEncoder] | None = None) -> None:
        self.encoder = encoder
        self.memo: dict[tuple[str, ...], str] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is list and len(value) <= 8:
            key = tuple(value)
            try:
                text = self.memo.get(key)
            except TypeError:  # unhashable members: not one of those short lists
                return self.encode(value)
            if text is not None:
                return text
            # Strings only: [1] and [True] are equal tuples, not the same JSON.
            for item in key:
                if type(item) is not str:
                    return self.encode(value)
            self.memo[key] = text = self.encode(value)
            return text
        return self.encode(value)

    def encode(self, value: Any) -> str:
        if self.encoder is None:
            try:
                return _dumps(value)
            except TypeError:  # orjson refuses it (an integer beyond 64 bits)
                pass
        return json.dumps(value, cls=self.encoder)


def _wrap_encoded(
    rows: Sequence[dict[str, Any]], encoded: Collection[str]
) -> Sequence[dict[str, Any]]:
    """``rows`` with their already encoded JSON text wrapped in :class:`EncodedJSON`,
    for the paths that need to tell it from a JSON string."""
    names = [name for name in encoded if rows and name in rows[0]]
    if not names:
        return rows
    return [
        {
            **row,
            **{n: None if row[n] is None else EncodedJSON(None, row[n]) for n in names},
        }
        for row in rows
    ]


def _plain(value: Any) -> Any:
    return value.data if isinstance(value, EncodedJSON) else value


def _to_json(field: models.Field, value: Any) -> Any:
    """A value as PostgreSQL's ``jsonb_to_recordset`` reads it back into its column."""
    if isinstance(value, EncodedJSON):
        return orjson.Fragment(value.text)  # inserted as it is, not re-encoded
    if value is None or isinstance(field, models.JSONField):
        return value  # a jsonb member is read as jsonb
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact: numeric reads it back from its text
    return value


def _sqlite_converter(field: models.Field, connection: BaseDatabaseWrapper) -> Any:
    """One function per column turning a value into what SQLite stores, chosen once:
    the same results as ``field.get_db_prep_save`` without its per-value dispatch."""
    if isinstance(field, models.JSONField):
        texts = JSONTexts(field.encoder)

        def to_json(value: Any) -> Any:
            if isinstance(value, EncodedJSON):
                return value.text
            return texts(value)

        return to_json
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        last: list[Any] = [object(), None]  # every row of a sync shares its synced_at

        def to_datetime(value: Any) -> Any:
            if value is None:
                return None
            if value is not last[0]:
                last[0], last[1] = value, adapt(value)
            return last[1]

        return to_datetime
    if isinstance(field, models.DateField):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(
        field, models.BooleanField | models.IntegerField | models.CharField | models.TextField
    ):
        return None  # stored as given
    return lambda value: field.get_db_prep_save(value, connection)


def _column_type(field: models.Field, connection: BaseDatabaseWrapper) -> str:
    db_type = field.db_type(connection)
    if not db_type:
        raise ValueError(f"{field} has no database type")
    # "serial"/"bigserial" are only valid in CREATE TABLE.
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(
        db_type, db_type
    )


def upsert(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    unique_fields: str | Sequence[str],
    using: str = "default",
    new: bool = False,
    encoded: Collection[str] = (),
) -> None:
    """Insert ``rows`` (dicts of field names to values) or update them in place.

    Rows are matched on ``unique_fields`` (a unique column, or the columns of a unique
    constraint); every other given column is overwritten. One statement on PostgreSQL,
    one ``executemany`` on SQLite. All rows must have the same keys. With ``new`` (the
    caller knows none exists) they are only inserted: one that exists fails the
    statement instead of being overwritten. ``encoded`` names JSON columns whose values
    are already JSON text (a ``str``, or None for SQL NULL; see :class:`JSONTexts`):
    stored as they are.
    """
    if not rows:
        return
    connection = connections[using]
    if connection.vendor != "sqlite":
        rows = _wrap_encoded(rows, encoded)
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    attnames = [str(f.attname) for f in fields]  # type: ignore[union-attr]
    columns = [str(f.column) for f in fields]  # type: ignore[union-attr]
    unique_names = [unique_fields] if isinstance(unique_fields, str) else list(unique_fields)
    unique_columns = [str(model._meta.get_field(n).column) for n in unique_names]  # type: ignore[union-attr]
    if connection.vendor not in _FAST_VENDORS:
        objects = [
            model(**{a: _plain(row[n]) for a, n in zip(attnames, names, strict=True)})
            for row in rows
        ]
        model._default_manager.db_manager(using).bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=unique_names,
            update_fields=[n for n in names if n not in unique_names],
        )
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    column_list = ", ".join(q(c) for c in columns)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c not in unique_columns)
    conflict = f"ON CONFLICT ({', '.join(q(c) for c in unique_columns)}) DO " + (
        f"UPDATE SET {updates}" if updates else "NOTHING"
    )
    if connection.vendor == "sqlite":
        convert = [
            None if name in encoded else _sqlite_converter(f, connection)  # type: ignore[arg-type]
            for name, f in zip(names, fields, strict=True)
        ]
        # Columns stored as given are picked by one C call per row; only the others
        # go through their converter.
        pick = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        converted = [(i, c) for i, c in enumerate(convert) if c is not None]
        params: list[Any]
        if not converted:
            params = list(map(pick, rows))
        else:
            params = []
            for row in rows:
                values = list(pick(row))
                for i, c in converted:
                    values[i] = c(values[i])
                params.append(values)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            cursor.executemany(sql if new else f"{sql} {conflict}", params)
        return
    records = [
        {
            column: _to_json(field, row[name])  # type: ignore[arg-type]
            for name, field, column in zip(names, fields, columns, strict=True)
        }
        for row in rows
    ]
    try:
        payload = _dumps(records)
    except TypeError:  # orjson refuses a value (an integer beyond 64 bits)
        payload = json.dumps(
            [
                {
                    column: _plain(row[name]) if isinstance(row[name], EncodedJSON) else value
                    for (column, value), name in zip(record.items(), names, strict=True)
                }
                for record, row in zip(records, rows, strict=True)
            ],
            separators=(",", ":"),
        )
    record = ", ".join(
        f"{q(c)} {_column_type(f, connection)}"  # type: ignore[arg-type]
        for c, f in zip(columns, fields, strict=True)
    )
    sql = (
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({record}) {conflict}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])


def _in_list(column: str, connection: BaseDatabaseWrapper, cast: str) -> str:
    """``column`` among the values of one parameter (:func:`_list_param`).

    PostgreSQL gets an array (``= ANY``), not a set-returning function: the planner
    knows its length and hashes it or walks the index, so a lookup stays linear even
    when the table's statistics say it is empty. An ``IN (SELECT
    jsonb_array_elements...)`` planned on such statistics (an ANALYZE that ran while a
    refresh was writing, its rows not yet visible) became a nested loop re-reading the
    whole list for every row: 33 s instead of 1.7 for a catalogue of 5,000.
    """
    if connection.vendor == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(%s))"
    return f"{column} = ANY(%s::{cast}[])"


def _list_param(items: list[Any], connection: BaseDatabaseWrapper) -> Any:
    """The values as :func:`_in_list` reads them: JSON on SQLite; on PostgreSQL a text
    array that the server casts to the column's type element by element, so a list
    mixing types (``[10, "11"]``, which psycopg cannot send as one typed array) is
    read as it always was."""
    if connection.vendor == "sqlite":
        return json.dumps(items)
    return [None if item is None else str(item) for item in items]


def delete_missing(
    model: type[models.Model],
    *,
    parent_field: str,
    parent_ids: Iterable[Any],
    keep_field: str,
    keep_values: Iterable[Any],
    using: str = "default",
) -> int:
    """Delete the rows of the given parents whose ``keep_field`` is not in
    ``keep_values`` (children Powens no longer lists). One statement; returns the
    number of rows deleted. Does not cascade: use it on leaf tables."""
    parents, keep = list(parent_ids), list(keep_values)
    if not parents:
        return 0
    connection = connections[using]
    parent = model._meta.get_field(parent_field)
    kept = model._meta.get_field(keep_field)
    if connection.vendor not in _FAST_VENDORS:
        deleted, _ = (
            model._default_manager.db_manager(using)
            .filter(**{f"{parent.attname}__in": parents})  # type: ignore[union-attr]
            .exclude(**{f"{keep_field}__in": keep})
            .delete()
        )
        return deleted
    q = connection.ops.quote_name
    parent_column, kept_column = str(parent.column), str(kept.column)  # type: ignore[union-attr]
    parent_cast = _column_type(parent.target_field, connection) if parent.is_relation else "bigint"  # type: ignore[union-attr]
    keep_cast = _column_type(kept, connection)  # type: ignore[arg-type]
    sql = (
        f"DELETE FROM {q(model._meta.db_table)} WHERE "
        f"{_in_list(q(parent_column), connection, parent_cast)} AND NOT "
        f"{_in_list(q(kept_column), connection, keep_cast)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_list_param(parents, connection), _list_param(keep, connection)])
        return cursor.rowcount


def delete_in(
    model: type[models.Model], *, field: str, values: Iterable[Any], using: str = "default"
) -> int:
    """Delete rows whose ``field`` is in ``values``, in one statement (no cascade)."""
    items = list(values)
    if not items:
        return 0
    connection = connections[using]
    target = model._meta.pk if field == "pk" else model._meta.get_field(field)
    if connection.vendor not in _FAST_VENDORS:
        deleted, _ = (
            model._default_manager.db_manager(using).filter(**{f"{field}__in": items}).delete()
        )
        return deleted
    q = connection.ops.quote_name
    cast = _column_type(target, connection)  # type: ignore[arg-type]
    column = str(target.column)  # type: ignore[union-attr]
    sql = f"DELETE FROM {q(model._meta.db_table)} WHERE " + _in_list(q(column), connection, cast)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_list_param(items, connection)])
        return cursor.rowcount


def _dumps(value: Any) -> str:
    """Compact JSON text (orjson: NaN and infinities become null)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _copy_text(field: models.Field, value: Any) -> Any:
    """A value as COPY's text format reads it into its column (psycopg adapts the rest)."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        if isinstance(value, EncodedJSON):
            return value.text  # the text sync already encoded: not encoded again
        if field.encoder is None:
            try:
                return _dumps(value)
            except TypeError:
                pass
        return json.dumps(value, cls=field.encoder, separators=(",", ":"))
    return value


def load(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    unique_fields: str | Sequence[str],
    new: bool = False,
    using: str = "default",
    encoded: Collection[str] = (),
) -> None:
    """:func:`upsert` for large batches (a chunk of a streamed catalogue).

    On PostgreSQL the rows are streamed with ``COPY`` into a temporary table (dropped
    at commit) and upserted from it: no statement grows with the batch, JSON already
    encoded (:class:`EncodedJSON`, or in the columns named in ``encoded``) is sent as it
    is. Elsewhere, :func:`upsert`. Must run inside a transaction on PostgreSQL (the
    temporary table lives until commit).

    ``rows`` may be a generator (all rows with the keys of the first): on PostgreSQL
    each row is then built while ``COPY`` carries the ones before it, so the server
    parses and indexes them while Python builds the next, on another core.

    ``new`` says the caller knows none of the rows exists (it looked, under a lock):
    on PostgreSQL they are then copied straight into the table. Should one exist after
    all, the statement fails (and the caller's transaction with it) rather than
    overwrite it silently.
    """
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    names = list(first)
    every = itertools.chain((first,), iterator)
    connection = connections[using]
    if connection.vendor != "postgresql":
        upsert(
            model, list(every), unique_fields=unique_fields, using=using, new=new, encoded=encoded
        )
        return
    if new:
        _copy_into(connection, model, names, every, str(model._meta.db_table), encoded)
        return
    fields = [model._meta.get_field(name) for name in names]
    columns = [str(f.column) for f in fields]  # type: ignore[union-attr]
    unique_names = [unique_fields] if isinstance(unique_fields, str) else list(unique_fields)
    unique_columns = [str(model._meta.get_field(n).column) for n in unique_names]  # type: ignore[union-attr]
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    # One staging table per table and column set, reused by the chunks of one transaction.
    shape = hashlib.sha256(" ".join(columns).encode()).hexdigest()[:8]
    staging = q(f"powens_load_{model._meta.db_table}_{shape}")
    column_list = ", ".join(q(c) for c in columns)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c not in unique_columns)
    conflict = f"ON CONFLICT ({', '.join(q(c) for c in unique_columns)}) DO " + (
        f"UPDATE SET {updates}" if updates else "NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS "
            f"SELECT {column_list} FROM {table} WITH NO DATA"
        )
    _copy_into(connection, model, names, every, staging.strip('"'), encoded)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} {conflict}"
        )
        cursor.execute(f"TRUNCATE {staging}")


def _copy_into(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    names: list[str],
    rows: Iterable[dict[str, Any]],
    table: str,
    encoded: Collection[str] = (),
) -> None:
    fields = [model._meta.get_field(name) for name in names]
    q = connection.ops.quote_name
    column_list = ", ".join(q(str(f.column)) for f in fields)  # type: ignore[union-attr]
    converters = [
        (name, field)
        if isinstance(field, models.JSONField) and name not in encoded
        else (name, None)
        for name, field in zip(names, fields, strict=True)
    ]
    # Errors as Django's own (IntegrityError...), as every other statement raises them.
    # An exception while the rows are built aborts the COPY (psycopg sends CopyFail)
    # and is raised as it is.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {q(table)} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[name] if field is None else _copy_text(field, row[name])
                        for name, field in converters
                    ]
                )


def select_in(
    model: type[models.Model],
    *,
    field: str,
    values: Iterable[Any],
    columns: Sequence[str],
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """``columns`` (field names, ``pk`` allowed) of the rows whose ``field`` is in
    ``values``: one query whatever the number of values (they travel as one
    parameter, an array on PostgreSQL and JSON on SQLite, so no database limit on
    parameters applies)."""
    items = list(values)
    if not items:
        return []
    connection = connections[using]
    manager = model._default_manager.db_manager(using)
    if connection.vendor not in _FAST_VENDORS:
        return list(manager.filter(**{f"{field}__in": items}).values_list(*columns))
    target = model._meta.pk if field == "pk" else model._meta.get_field(field)
    q = connection.ops.quote_name
    selected = ", ".join(
        q(str((model._meta.pk if c == "pk" else model._meta.get_field(c)).column))  # type: ignore[union-attr]
        for c in columns
    )
    condition = _in_list(
        q(str(target.column)),  # type: ignore[union-attr]
        connection,
        _column_type(target, connection),  # type: ignore[arg-type]
    )
    sql = f"SELECT {selected} FROM {q(model._meta.db_table)} WHERE {condition}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_list_param(items, connection)])
        return [tuple(row) for row in cursor.fetchall()]
