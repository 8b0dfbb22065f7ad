"""Catalogue refresh of N connectors against the floor of the same database.

Times ``sync_connectors`` loading N connectors (3 sources and 5 fields each, shaped like
``GET /connectors?expand=fields,sources,countries``) into an empty catalogue, then a
second refresh with identical payloads, then the floor: exactly the rows the refresh
wrote (read back from the tables), inserted again with one ``executemany`` of the
driver's own cursor per table (connector, source, country) in one transaction. The
floor times only the ``executemany`` calls and the commit; the refresh times everything
from the payloads to the commit. Each figure is the best of ``--repeat`` runs, the
tables emptied in between.

SQLite (a temporary file) by default; with ``DATABASE_URL=postgres://...`` a throwaway
database ``powens_bench`` is created on that server and dropped at the end (the database
named in the URL is only used to run CREATE/DROP DATABASE).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
    args = parser.parse_args()

    cleanup = throwaway_database()
    try:
        run(args.connectors, args.repeat)
    finally:
        cleanup()


def run(count: int, repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from powens_django.sync import sync_connectors

    call_command("migrate", run_syncdb=True, verbosity=0)
    q = connection.ops.quote_name

    def empty_catalogue() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
            else:
                for table in reversed(TABLES):
                    cursor.execute(f"DELETE FROM {table}")

    def catalogue() -> list[dict[str, Any]]:
        return [connector_payload(i) for i in range(1, count + 1)]

    def fresh_catalogue() -> list[dict[str, Any]]:
        empty_catalogue()
        return catalogue()

    def refresh(payloads: list[dict[str, Any]]) -> None:
        result = sync_connectors(payloads)
        assert result.created + result.unchanged == count, result

    load = best(repeat, fresh_catalogue, refresh)
    again = best(repeat, catalogue, refresh)  # the catalogue is loaded: nothing changed

    # The floor: the very rows the refresh wrote, inserted again with executemany.
    written: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table}")
            columns = [c[0] for c in cursor.description]
            written[table] = (columns, cursor.fetchall())
    counts = {table: len(rows) for table, (_, rows) in written.items()}

    def raw_cursor() -> Any:
        # The driver's own cursor: with psycopg, server-side binding (Django's cursors
        # inline parameters client-side, which makes executemany several times slower).
        if connection.vendor == "postgresql":
            import psycopg

            return psycopg.Cursor(connection.connection)
        return connection.connection.cursor()

    placeholder = "%s" if connection.vendor == "postgresql" else "?"

    def insert_rows(_: None) -> None:
        with transaction.atomic():
            cursor = raw_cursor()
            for table in TABLES:
                columns, rows = written[table]
                sql = (
                    f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
                    f"VALUES ({', '.join([placeholder] * len(columns))})"
                )
                cursor.executemany(sql, rows)
            cursor.close()

    floor = best(repeat, empty_catalogue, insert_rows)
    empty_catalogue()

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (file)"
    rows = ", ".join(f"{n} {t.removeprefix('powens_django_')}" for t, n in counts.items())
    print(f"catalogue_sync: {count} connectors on {database}, best of {repeat}")
    print(f"  rows: {rows}")
    print(f"  sync_connectors into an empty catalogue   {load:8.3f} s")
    print(f"  sync_connectors again, identical payloads {again:8.3f} s")
    print(f"  floor: one executemany per table          {floor:8.3f} s")
    print(f"  ratio refresh / floor                     {load / floor:8.1f}x")


if __name__ == "__main__":
    main()
