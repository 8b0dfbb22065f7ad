"""End-user pages: CPU per request of the picker and My banks against trivial views.

Each page is requested through Django's test client (middleware, session, login,
template rendering; no network), by a logged-in person, and compared with a trivial
view that renders the same rows in the same base template with nothing else:

- the picker, page 1 with no search, over a catalogue of ``--sizes`` connectors
  (5,000 and 50,000 by default, 2 sources and 3 fields each) against a view listing
  the same 24 connectors (one query besides the session and the user);
- My banks with ``--connections`` connections (3 accounts and 2 sources each) to
  ``--banks`` banks (95 by default: five banks linked twice, so ten cards point out a
  duplicate; the goal was first measured with 40, every card a duplicate) against
  a view listing the same connections with their bank's name and state (``My banks
  ratio``), and, for information, against the same view also listing the balances of
  their accounts (the rows behind the balance My banks shows per bank since the goal
  was set).

Each figure is the best of ``--repeat`` rounds of ``--requests`` requests, a page and
its baseline taking turns round by round: CPU per
request of this process (``time.process_time``, so other processes on the machine
count little) and wall time per request. Ratios use CPU on SQLite (in-process) and
wall time on PostgreSQL, whose queries run in the server's process. The last line is
``ratio: X``, the largest of the ratios (the goal is at most 2).

SQLite (a temporary file) by default; with ``DATABASE_URL=postgres://...`` a throwaway
database is created on that server and dropped at the end (as catalogue_sync.py does).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue_sync import throwaway_database  # noqa: E402

TRIVIAL_PICKER = """{% extends "powens_django/base.html" %}
{% block powens_content %}<ul class="powens-banks">{% for connector in connectors %}
<li><a class="powens-bank" href="{% url 'powens:connect' connector.uuid %}">
{% include "powens_django/_bank_badge.html" with connector_name=connector.name \
connector_color=connector.color %}
<span class="powens-bank-name">{{ connector.name }}</span></a></li>{% endfor %}</ul>
{% endblock %}"""

TRIVIAL_BANKS = """{% extends "powens_django/base.html" %}
{% block powens_content %}<ul class="powens-connections">{% for connection in connections %}
<li class="powens-card"><h2><a href="{% url 'powens:connection' connection.powens_id %}">\
{{ connection.connector.name }}</a></h2>
<p>{{ connection.state_info.label }}</p>\
<p>{{ connection.last_update|date:"DATETIME_FORMAT" }}</p>
<p>{% for source in connection.sources.all %}{{ source.name }} \
{% endfor %}</p></li>{% endfor %}</ul>
{% endblock %}"""

# The same, with the balances of the accounts My banks sums per connection: the rows the
# page has read since it shows a balance (the goal was set before it did).
TRIVIAL_BANKS_ACCOUNTS = TRIVIAL_BANKS.replace(
    "{% endfor %}</p></li>",
    "{% endfor %}</p><p>{% for account in connection.accounts.all %}{{ account.balance }} "
    "{{ account.currency }} {% endfor %}</p></li>",
)

urlpatterns: list[Any] = []


def cpu_per_request(
    client: Any, urls: tuple[str, ...], requests: int, repeat: int
) -> list[tuple[float, float]]:
    """Best of ``repeat`` rounds for each URL: CPU seconds per request of this process,
    and wall seconds per request (which include the database server's work on
    PostgreSQL). The URLs take turns round by round, so that a change in the machine's
    load weighs on a page and its baseline alike."""
    for url in urls:
        assert client.get(url).status_code == 200
    cpu: list[list[float]] = [[] for _ in urls]
    wall: list[list[float]] = [[] for _ in urls]
    for _ in range(repeat):
        for index, url in enumerate(urls):
            started, processor = time.perf_counter(), time.process_time()
            for _ in range(requests):
                client.get(url)
            cpu[index].append((time.process_time() - processor) / requests)
            wall[index].append((time.perf_counter() - started) / requests)
    return [(min(c), min(w)) for c, w in zip(cpu, wall, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--banks", type=int, default=95, help="distinct banks among them")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    cleanup = throwaway_database()
    try:
        run(
            [int(s) for s in args.sizes.split(",")],
            args.connections,
            args.requests,
            args.repeat,
            banks=args.banks,
        )
    finally:
        cleanup()


def run(sizes: list[int], connections: int, requests: int, repeat: int, *, banks: int = 95) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.decorators import login_required
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Prefetch
    from django.template import engines
    from django.test import Client
    from django.urls import include, path

    from powens_django.models import BankAccount, ConnectionSource, Connector, PowensUser
    from powens_django.sync import sync_connections, sync_connectors
    from tests.factories import account_payload, connection_payload, connector_payload

    call_command("migrate", run_syncdb=True, verbosity=0)
    engine = engines["django"]
    trivial_picker = engine.from_string(TRIVIAL_PICKER)
    trivial_banks = engine.from_string(TRIVIAL_BANKS)
    trivial_banks_accounts = engine.from_string(TRIVIAL_BANKS_ACCOUNTS)

    @login_required
    def picker_baseline(request: Any) -> Any:
        connectors = (
            Connector.objects.filter(hidden=False, restricted=False)
            .order_by("search_name", "uuid")
            .only("uuid", "name", "color")[:24]
        )
        return render_string(trivial_picker, request, {"connectors": connectors})

    @login_required
    def banks_baseline(request: Any) -> Any:
        rows = (
            request.user.powens_user.connections.select_related("connector")
            .only("powens_id", "state", "last_update", "powens_user_id", "connector__name")
            .prefetch_related(
                Prefetch("sources", ConnectionSource.objects.only("connection", "name"))
            )
            .order_by("-created", "-powens_id")
        )
        return render_string(trivial_banks, request, {"connections": rows})

    @login_required
    def banks_accounts_baseline(request: Any) -> Any:
        rows = (
            request.user.powens_user.connections.select_related("connector")
            .only("powens_id", "state", "last_update", "powens_user_id", "connector__name")
            .prefetch_related(
                Prefetch("sources", ConnectionSource.objects.only("connection", "name")),
                Prefetch(
                    "accounts",
                    BankAccount.objects.only("connection", "balance", "currency"),
                ),
            )
            .order_by("-created", "-powens_id")
        )
        return render_string(trivial_banks_accounts, request, {"connections": rows})

    def render_string(template: Any, request: Any, context: dict[str, Any]) -> Any:
        from django.http import HttpResponse

        return HttpResponse(template.render(context, request))

    urlpatterns[:] = [
        path("baseline/picker/", picker_baseline),
        path("baseline/banks/", banks_baseline),
        path("baseline/banks-accounts/", banks_accounts_baseline),
        path("", include("tests.urls")),
    ]
    settings.ROOT_URLCONF = __name__ if __name__ != "__main__" else "__main__"
    settings.DEBUG = False

    person = get_user_model()._default_manager.create_user("bench", password="unused")
    client = Client()
    client.force_login(person)

    lines: list[str] = []
    ratios: list[float] = []
    banks_ratios: list[float] = []

    def compare(label: str, page: str, baseline: str) -> None:
        (cpu, wall), (cpu_floor, wall_floor) = cpu_per_request(
            client, (page, baseline), requests, repeat
        )
        # On PostgreSQL the queries run in the server's process: only wall time sees them.
        measured, floor = (
            (wall, wall_floor) if connection.vendor == "postgresql" else (cpu, cpu_floor)
        )
        ratios.append(measured / floor)
        lines.append(
            f"  {label:<34} CPU {cpu * 1000:7.2f} ms, wall {wall * 1000:7.2f} ms;"
            f"  trivial view CPU {cpu_floor * 1000:6.2f} ms, wall {wall_floor * 1000:6.2f} ms;"
            f"  ratio {measured / floor:5.2f}x"
        )

    loaded = 0
    for size in sorted(sizes):
        chunk = 5000
        for start in range(loaded + 1, size + 1, chunk):
            stop = min(size, start + chunk - 1)
            sync_connectors(
                [connector_payload(i, sources=2, fields=3) for i in range(start, stop + 1)],
                prune=False,
            )
        loaded = size
        compare(f"picker page 1, {size} connectors", "/banks/connect/", "/baseline/picker/")

    powens_user = PowensUser.objects.create(user=person, powens_id=1, token="bench-token")
    payloads: list[dict[str, Any]] = [
        connection_payload(
            100 + i,
            connector_uuid=connector_payload(i % banks + 1)["uuid"],
            state=[None, "wrongpass", "SCARequired", "decoupled", "whatever"][i % 5],
            sources=2,
            all_accounts=[account_payload((100 + i) * 10 + a, 100 + i) for a in range(3)],
        )
        for i in range(connections)
    ]
    sync_connections(powens_user, payloads, complete=True)
    timings = cpu_per_request(
        client, ("/banks/", "/baseline/banks/", "/baseline/banks-accounts/"), requests, repeat
    )
    index = 1 if connection.vendor == "postgresql" else 0  # wall time on PostgreSQL
    (cpu, wall) = timings[0]
    for (cpu_floor, wall_floor), label in (
        (timings[1], "trivial view"),
        (timings[2], "trivial view with the accounts"),
    ):
        ratio = timings[0][index] / (cpu_floor, wall_floor)[index]
        banks_ratios.append(ratio)
        lines.append(
            f"  {f'My banks, {connections} connections':<34} CPU {cpu * 1000:7.2f} ms, wall "
            f"{wall * 1000:7.2f} ms;  {label} CPU {cpu_floor * 1000:6.2f} ms, wall "
            f"{wall_floor * 1000:6.2f} ms;  ratio {ratio:5.2f}x"
        )

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (file)"
    load = os.getloadavg()[0]
    print(f"pages: per request on {database}, best of {repeat} x {requests} requests")
    print(f"  load average at the end: {load:.2f}")
    for line in lines:
        print(line)
    for size, ratio in zip(sorted(sizes), ratios, strict=False):
        print(f"picker ratio at {size}: {ratio:.2f}")
    print(f"My banks ratio over the view with the accounts: {banks_ratios[1]:.2f}")
    print(f"My banks ratio: {banks_ratios[0]:.2f}")
    print(f"ratio: {max(*ratios, banks_ratios[0]):.2f}")


if __name__ == "__main__":
    main()
