"""Catalogue refresh of N connectors against the floor of the same database.

Times ``sync_connectors`` loading N connectors (3 sources and 5 fields each, shaped like
``GET /connectors?expand=fields,sources,countries``) into an empty catalogue, then a
second refresh with identical payloads, then the floor: exactly the rows the refresh
wrote (read back from the tables), inserted again with one ``executemany`` of the
driver's own cursor per table (connector, source, country; ``COPY`` on PostgreSQL) in one
transaction, after the work every implementation does: decoding the wire bytes,
encoding each stored JSON value (the payloads, hashed too, and the other JSON columns)
with orjson. The refresh times everything from the wire bytes to the commit. Each
figure is the best of ``--repeat`` runs, the tables emptied in between; the refresh and
the floor take turns run by run (the median of the ratios of those pairs is printed
too).

SQLite (a temporary file) by default; with ``DATABASE_URL=postgres://...`` a throwaway
database ``powens_bench`` is created on that server and dropped at the end (the database
named in the URL is only used to run CREATE/DROP DATABASE).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "powens_bench"
TABLES = (
    "powens_django_connector",
    "powens_django_connectorsource",
    "powens_django_connectorcountry",
)


def connector_payload(i: int, *, sources: int = 3, fields: int = 5) -> dict[str, Any]:
    """A Connector as Powens lists it with ``expand=fields,sources,countries``."""
    return {
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
                "name": ["openapi", "directaccess", "fallback"][s % 3],
                "auth_mechanism": "webauth" if s == 0 else "credentials",
                "available_auth_mechanisms": ["webauth"] if s == 0 else ["credentials"],
                "disabled": None,
                "priority": s + 1,
                "account_usages": ["PRIV"],
            }
            for s in range(sources)
        ],
    }


def throwaway_database() -> Callable[[], None]:
    """Point DATABASE_URL at a database of our own; return what removes it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        directory = tempfile.mkdtemp(prefix="powens-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
        return lambda: shutil.rmtree(directory, ignore_errors=True)

    import psycopg

    parts = urlsplit(url)
    if parts.path.lstrip("/") == BENCH_DATABASE:
        sys.exit(f"DATABASE_URL must name another database than {BENCH_DATABASE}")

    def admin(statement: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)

    # A leftover from an interrupted run is ours to drop.
    admin(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
    admin(f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")

    return drop


def best(runs: int, prepare: Callable[[], Any], measured: Callable[[Any], Any]) -> float:
    """The shortest of ``runs`` timings of ``measured(prepare())``."""
    timings = []
    for _ in range(runs):
        prepared = prepare()
        gc.collect()
        started = time.perf_counter()
        measured(prepared)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--memory",
        default="",
        help="catalogue sizes to measure peak memory at, e.g. 5000,50000 (slow)",
    )
    args = parser.parse_args()

    cleanup = throwaway_database()
    try:
        run(args.connectors, args.repeat, [int(n) for n in args.memory.split(",") if n])
    finally:
        cleanup()


def run(count: int, repeat: int, memory: list[int]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from powens_django.sync import encode_payload, sync_connectors

    call_command("migrate", run_syncdb=True, verbosity=0)
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # The tables are emptied and filled again and again: autovacuum would analyze
        # them at random moments of some runs (of the refresh or of the floor) and
        # weigh on those alone. Off for this throwaway database's tables.
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")

    def empty_catalogue() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
            else:
                for table in reversed(TABLES):
                    cursor.execute(f"DELETE FROM {table}")

    def wire(size: int) -> bytes:
        # What Powens sends: the body the client decodes (as requests does, json.loads).
        body = {"connectors": [connector_payload(i) for i in range(1, size + 1)]}
        return json.dumps(body).encode()

    body = wire(count)

    def decode(raw: bytes) -> list[dict[str, Any]]:
        return json.loads(raw)["connectors"]

    def emptied() -> bytes:
        empty_catalogue()
        return body

    def refresh(raw: bytes) -> None:
        result = sync_connectors(decode(raw))
        assert result.created + result.unchanged == count, result

    refresh(emptied())  # the rows the floor writes are those this first load wrote

    # The floor: the very rows the refresh wrote, their stored JSON and hashes computed
    # again from the wire bytes, written with the database's fastest bulk path.
    written: dict[str, tuple[list[str], list[list[Any]]]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")
            columns = [c[0] for c in cursor.description]
            written[table] = (columns, [list(row) for row in cursor.fetchall()])
    counts = {table: len(rows) for table, (_, rows) in written.items()}
    connector_columns, connector_rows = written[TABLES[0]]
    source_columns, source_rows = written[TABLES[1]]
    by_uuid = {row[connector_columns.index("uuid")]: row for row in connector_rows}
    by_source = {row[source_columns.index("powens_id")]: row for row in source_rows}
    json_columns = {
        table: [
            i
            for i, column in enumerate(columns)
            if column
            in (
                "raw",
                "fields",
                "capabilities",
                "products",
                "account_usages",
                "urls",
                "available_auth_mechanisms",
                "payment_settings",
            )
        ]
        for table, (columns, _) in written.items()
    }

    def stored_rows(payloads: list[dict[str, Any]]) -> None:
        # What every implementation does: encode each decoded payload as stored, hash.
        c_raw, c_hash = connector_columns.index("raw"), connector_columns.index("raw_hash")
        s_raw, s_hash = source_columns.index("raw"), source_columns.index("raw_hash")
        for payload in payloads:
            text, digest = encode_payload(payload)
            row = by_uuid[payload["uuid"]]
            row[c_raw], row[c_hash] = str(text), digest
            for source in payload["sources"]:
                text, digest = encode_payload(source)
                row = by_source[source["id"]]
                row[s_raw], row[s_hash] = str(text), digest

    # The other JSON columns (field definitions, short lists) as Python values: the
    # floor encodes them too, as every implementation must (orjson, the fastest).
    to_encode: list[tuple[list[Any], int, Any]] = []
    for table, (columns, rows) in written.items():
        raw_index = columns.index("raw") if "raw" in columns else -1
        for row in rows:
            for i in json_columns[table]:
                if i != raw_index and row[i] is not None:
                    value = json.loads(row[i]) if isinstance(row[i], str) else row[i]
                    to_encode.append((row, i, value))

    def encode_columns() -> None:
        for row, i, value in to_encode:
            row[i] = orjson.dumps(value).decode()

    def write_rows() -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                cursor = connection.connection.cursor()
                for table in TABLES:
                    columns, rows = written[table]
                    names = ", ".join(q(c) for c in columns)
                    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                cursor.close()
                return
            cursor = connection.connection.cursor()
            for table in TABLES:
                columns, rows = written[table]
                sql = (
                    f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
                    f"VALUES ({', '.join(['?'] * len(columns))})"
                )
                cursor.executemany(sql, rows)
            cursor.close()

    def floor_run(raw: bytes) -> None:
        # As the refresh does while it builds and writes rows: the cyclic collector
        # paused after decoding (fair to the floor, though it allocates few containers).
        payloads = decode(raw)
        gc.disable()
        try:
            stored_rows(payloads)
            encode_columns()
            write_rows()
        finally:
            gc.enable()

    # The refresh and its floor take turns, so that a change in the machine's load
    # weighs on both alike.
    loads, floors = [], []
    for _ in range(repeat):
        loads.append(best(1, emptied, refresh))
        floors.append(best(1, emptied, floor_run))
    load, floor = min(loads), min(floors)
    refresh(emptied())
    again = best(repeat, lambda: body, refresh)  # the catalogue is loaded: nothing changed
    empty_catalogue()

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
        path = "COPY"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (file)"
        path = "executemany"
    rows = ", ".join(f"{n} {t.removeprefix('powens_django_')}" for t, n in counts.items())
    print(f"catalogue_sync: {count} connectors on {database}, best of {repeat}")
    print(f"  load average: {os.getloadavg()[0]:.2f}; wire body {len(body) / 1e6:.1f} MB")
    print(f"  rows: {rows}")
    print(f"  decode + sync_connectors into an empty catalogue   {load:8.3f} s")
    print(f"  decode + sync_connectors again, identical payloads {again:8.3f} s")
    print(f"  floor: decode, encode (+ hash) each JSON value, {path:<11} {floor:8.3f} s")
    for size in memory:
        peak = memory_peak(size, empty_catalogue, wire, decode, sync_connectors)
        print(f"  peak memory of sync_connectors at {size} connectors: {peak / 1e6:8.1f} MB")
        memory_peaks.append(peak)
    if len(memory_peaks) >= 2:
        print(
            f"  memory ratio {memory[-1]} / {memory[0]}: {memory_peaks[-1] / memory_peaks[0]:.2f}"
        )
    # The best runs of each may come from different moments of a noisy machine; each
    # refresh and the floor run right after it share theirs. Printed for information.
    paired = statistics.median(a / b for a, b in zip(loads, floors, strict=True))
    print(f"  median of {repeat} paired ratios (refresh ÷ the floor right after it): {paired:.2f}")
    print(f"ratio: {load / floor:.2f}")


memory_peaks: list[int] = []


def memory_peak(
    size: int,
    empty: Callable[[], None],
    wire: Callable[[int], bytes],
    decode: Callable[[bytes], Any],
    sync: Callable[..., Any],
) -> int:
    """Python memory allocated at the peak of a load of ``size`` connectors, over the
    parsed payloads (``tracemalloc``; the database's own memory is not counted)."""
    import tracemalloc

    empty()
    payloads = decode(wire(size))
    gc.collect()
    tracemalloc.start()
    sync(payloads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del payloads
    empty()
    return peak


if __name__ == "__main__":
    main()
