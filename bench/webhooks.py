"""Webhook receiver: deliveries per second, and a large CONNECTION_SYNCED against json.loads.

Every delivery goes through the whole receiver (Django's test client: middleware, URL,
HMAC check, the recorded event, processing in one transaction with the mirror and the
``webhook_received`` signal), each with a new ``id_webhook_data``:

- small deliveries: a CONNECTION_SYNCED of 1 account with 10 transactions, ``--small``
  of them in a row; prints deliveries per second;
- the large payload: 20 accounts x 500 transactions (about 3 MB of JSON), processed
  into a mirror that holds none of its accounts yet (the mirror is emptied between
  runs); its time is compared with just parsing the same body with ``json.loads``.
  Each figure is the best of ``--repeat`` runs. The last line is ``ratio: X``
  (the goal is at most 3).

SQLite (a temporary file) by default; with ``DATABASE_URL=postgres://...`` a throwaway
database is created on that server and dropped at the end (as catalogue_sync.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue_sync import best, throwaway_database  # noqa: E402


def body(webhook_id: int, *, accounts: int, transactions: int) -> bytes:
    from tests.factories import account_payload, connection_payload

    connection = connection_payload(
        7,
        id_user=501,
        accounts=[
            account_payload(700 + a, 7, balance=1000 + webhook_id + a, transactions=transactions)
            for a in range(accounts)
        ],
    )
    data = {"id_webhook_data": webhook_id, "user": {"id": 501}, "connection": connection}
    return json.dumps(data).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    cleanup = throwaway_database()
    try:
        run(args.small, args.repeat)
    finally:
        cleanup()


def run(small: int, repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from powens_django.models import BankAccount, Connection, PowensUser, WebhookEvent
    from powens_django.testing import webhook_signature_headers

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", run_syncdb=True, verbosity=0)
    user = get_user_model().objects.create_user("alice")
    PowensUser.objects.create(user=user, powens_id=501, token="bench-token")
    client = Client()
    path = "/powens/webhooks/connection-synced/"
    secret = settings.POWENS["WEBHOOK_SECRETS"][0]
    ids = iter(range(1, 10**9))

    def deliver(raw: bytes) -> None:
        headers = webhook_signature_headers(raw, path=path, secret=secret)
        response = client.post(path, data=raw, content_type="application/json", headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"delivery answered {response.status_code}: {response.content!r}")

    def empty_mirror() -> None:
        BankAccount.objects.all().delete()
        Connection.objects.all().delete()
        WebhookEvent.objects.all().delete()

    print(f"database: {connection.vendor}")

    # Small deliveries, one after the other.
    bodies = [body(next(ids), accounts=1, transactions=10) for _ in range(small)]
    deliver(body(next(ids), accounts=1, transactions=10))  # warm up
    started = time.perf_counter()
    for raw in bodies:
        deliver(raw)
    elapsed = time.perf_counter() - started
    print(
        f"small deliveries (1 account, 10 transactions, {len(bodies[0]):,} bytes): "
        f"{small / elapsed:,.0f} per second ({elapsed / small * 1000:.2f} ms each)"
    )

    # The large payload, into a mirror without its accounts.
    def large() -> bytes:
        empty_mirror()
        return body(next(ids), accounts=20, transactions=500)

    sample = large()
    parse = best(repeat, lambda: sample, json.loads)
    process = best(repeat, large, deliver)
    assert BankAccount.objects.count() == 20
    print(f"large delivery: 20 accounts x 500 transactions, {len(sample) / 1e6:.1f} MB")
    print(f"  json.loads alone:        {parse * 1000:8.1f} ms")
    print(f"  received and processed:  {process * 1000:8.1f} ms")
    # The same payload again (accounts unchanged but for the balances: an update).
    again = best(repeat, lambda: body(next(ids), accounts=20, transactions=500), deliver)
    print(f"  again, mirror up to date: {again * 1000:7.1f} ms")
    print(f"ratio: {process / parse:.2f}")


if __name__ == "__main__":
    main()
