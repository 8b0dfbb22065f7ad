"""The connection sweep (``powens_sync_connections``): users refreshed per second.

The sandbox is served over real HTTP by threaded servers in --processes child processes (Powens
is another machine: it must not share the sweep's interpreter), with its
``slow`` fault adding ``--latency`` seconds (0.2 by default) to every call, as a far
away Powens would. ``--users`` Powens users (each with one connection and two
accounts) are refreshed with ``services.refresh_powens_users`` over the streamed
queryset the command uses, first one call at a time on ``--sequential`` of them (the
sweep as it was), then with ``--concurrency`` calls in flight on all of them. Then
again with 10% of the answers a 429 with ``Retry-After: 1``: every user must still be
refreshed (the sweep slows down instead of failing them).

Goal: 100,000 users in under an hour, i.e. at least 30 users per second. The last line
is ``ratio: X``, users per second with concurrency over the goal (at least 1 to meet it).

SQLite (a temporary file) by default; with ``DATABASE_URL=postgres://...`` a throwaway
database is created on that server and dropped at the end (as catalogue_sync.py does).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue_sync import throwaway_database  # noqa: E402

GOAL = 30.0  # users per second: 100,000 in under an hour


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--sequential", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a child process
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_sandbox(args.serve, args.latency, args.port)
        return

    global PROCESSES
    PROCESSES = args.processes
    cleanup = throwaway_database()
    try:
        run(args.users, args.sequential, args.concurrency, args.latency)
    finally:
        cleanup()


def serve_sandbox(faults: str, latency: float, port: int) -> None:
    """The child process: the sandbox alone, over a threaded HTTP server, until killed.
    Powens is another machine: it must not share the sweep's interpreter (and GIL)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.test.utils import override_settings

    from powens_django.testing import SANDBOX_TEST_SETTINGS

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    override_settings(
        POWENS_SANDBOX={
            **settings.POWENS_SANDBOX,
            **SANDBOX_TEST_SETTINGS,
            "ALLOW_WITHOUT_DEBUG": True,
            "FAULTS": faults,
            "FAULT_SLOW_SECONDS": latency,
            "FAULT_RETRY_AFTER": 1,
            "FAULTS_SEED": 14,
        }
    ).enable()
    logging.disable(logging.WARNING)

    class Server(ThreadedWSGIServer):
        # Several processes listen on one port (the kernel spreads the connections):
        # the sandbox must not be what limits the sweep, as Powens is not.
        allow_reuse_port = True
        daemon_threads = True

    server = Server(("127.0.0.1", port), Quiet, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    print(server.server_address[1], flush=True)
    server.serve_forever()


class Sandbox:
    """The sandbox served by ``PROCESSES`` child processes on one port, with ``faults``."""

    def __init__(self, faults: str, latency: float) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        port = 0
        for _ in range(PROCESSES):
            process = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--serve",
                    faults,
                    "--latency",
                    str(latency),
                    "--port",
                    str(port),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            port = int(process.stdout.readline())
            self.processes.append(process)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(10)


PROCESSES = 2


def run(count: int, sequential: int, concurrency: int | None, latency: float) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from powens_django import services
    from powens_django.conf import powens_settings
    from powens_django.models import BankAccount, Connection, PowensUser
    from powens_django.sandbox import models as sandbox
    from powens_django.sandbox.catalogue import load_catalogue
    from powens_django.testing import sandbox_overrides

    logging.disable(logging.WARNING)
    call_command("migrate", run_syncdb=True, verbosity=0)
    sandbox_process = Sandbox("", latency)
    overrides = sandbox_overrides(sandbox_process.url)
    overrides["POWENS"]["MAX_RETRIES"] = 3
    override_settings(**overrides).enable()
    load_catalogue()
    connector = sandbox.Connector.objects.order_by("pk").first()
    assert connector is not None

    now = timezone.now()
    people = get_user_model()._default_manager
    for i in range(count):
        user = sandbox.User.objects.create(client_id=settings.POWENS["CLIENT_ID"], signin=now)
        token = secrets.token_urlsafe(32)
        sandbox.AccessToken.objects.create(token=token, user=user, created=now)
        link = sandbox.Connection.objects.create(
            user=user, connector=connector, created=now, last_update=now
        )
        for a in range(2):
            sandbox.BankAccount.objects.create(
                connection=link, **bank_account_fields(sandbox.BankAccount, i, a, now)
            )
        person = people.create_user(f"sweep{i}", password=None)
        PowensUser.objects.create(user=person, powens_id=user.pk, token=token)

    cpu: list[float] = []

    def sweep(users: Any, **kwargs: Any) -> tuple[float, Any]:
        started, processor = time.perf_counter(), time.process_time()
        result = services.refresh_powens_users(users, **kwargs)
        cpu.append(time.process_time() - processor)
        return time.perf_counter() - started, result

    def faults(spec: str) -> None:
        nonlocal sandbox_process
        sandbox_process.stop()
        sandbox_process = Sandbox(spec, latency)
        overrides = sandbox_overrides(sandbox_process.url)
        overrides["POWENS"]["MAX_RETRIES"] = 3
        override_settings(**overrides).enable()

    faults("slow:1" if latency else "")
    everyone = services.powens_users_to_refresh()
    first = list(everyone.values_list("pk", flat=True)[:sequential])
    one_by_one, result = sweep(everyone.filter(pk__in=first), concurrency=1)
    assert not result.failed, [i.error for i in result.failed]
    flight = concurrency or int(powens_settings.SYNC_CONCURRENCY)
    elapsed, result = sweep(everyone, concurrency=flight)
    assert not result.failed, [i.error for i in result.failed][:3]
    assert Connection.objects.count() == count and BankAccount.objects.count() == 2 * count

    Connection.objects.all().delete()
    faults("slow:1,429:0.1" if latency else "429:0.1")
    limited, result_429 = sweep(everyone, concurrency=flight)
    refused = len(result_429.failed)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (file)"
    sandbox_process.stop()
    rate = count / elapsed
    print(f"sync_sweep: {count} users on {database}, sandbox latency {latency * 1000:.0f} ms")
    print(f"  load average: {os.getloadavg()[0]:.2f}")
    print(f"  one call at a time ({sequential} users)     {sequential / one_by_one:7.1f} users/s")
    print(f"  {flight} calls in flight                  {rate:7.1f} users/s")
    print(
        f"  {flight} in flight, 10% answered 429 (Retry-After 1 s) "
        f"{count / limited:7.1f} users/s, {refused} user(s) failed"
    )
    per_user = cpu[1] / count
    print(
        f"  CPU of the sweep's own process: {per_user * 1000:.1f} ms per user "
        f"(at most {1 / per_user:.0f} users/s on one core)"
    )
    print(f"  100,000 users would take {100_000 / rate / 60:.0f} min (goal: under 60)")
    print(f"ratio: {rate / GOAL:.2f}")


def bank_account_fields(model: Any, i: int, a: int, now: Any) -> dict[str, Any]:
    """Values for the sandbox's BankAccount, whatever optional fields it has."""
    from decimal import Decimal

    names = {f.name for f in model._meta.get_fields()}
    values: dict[str, Any] = {
        "name": f"Compte {i}-{a}",
        "balance": Decimal("1234.56") + a,
        "number": f"{i:08d}{a}",
        "iban": f"FR76{i:020d}{a}",
        "currency": "EUR",
        "type": "checking",
        "created": now,
        "last_update": now,
    }
    return {k: v for k, v in values.items() if k in names}


if __name__ == "__main__":
    main()
