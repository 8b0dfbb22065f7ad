"""Refresh the local mirror of users' connections (GETs only)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import services
from ..progress import Progress


class Command(BaseCommand):
    help = (
        "Refresh connections from Powens with GET requests only (fair use forbids bulk "
        "forced syncs; Powens syncs by itself and this reads the result), several users "
        "at once. Per-user failures are reported and the rest continues; the exit "
        "status is 1 if any failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=int, help="Only this Django user (primary key).")
        parser.add_argument(
            "--stale-hours",
            type=float,
            help="Only users with a connection not refreshed for this many hours.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            help='Powens calls in flight at once (default: POWENS["SYNC_CONCURRENCY"]); '
            "fewer are kept while Powens answers 429.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = services.powens_users_to_refresh(
            user_id=options["user"], stale_hours=options["stale_hours"]
        )
        started = time.monotonic()
        concurrency = options["concurrency"]
        if concurrency is not None and not 1 <= concurrency <= 64:
            raise CommandError("--concurrency must be from 1 to 64.")
        result = services.refresh_powens_users(
            users, progress=Progress(self.stdout, "Users"), concurrency=concurrency
        )
        totals = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
        for item in result.succeeded:
            for key in totals:
                totals[key] += getattr(item.result, key)
        for item in result.failed:
            assert item.error is not None
            self.stderr.write(f"User pk={item.key}: {item.error.detail or item.error.code}")
        summary = ", ".join(f"{value} {key}" for key, value in totals.items())
        elapsed = time.monotonic() - started
        self.stdout.write(f"{len(result)} users, connections: {summary}, in {elapsed:.1f} s.")
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} of {len(result)} users could not be refreshed."
            )
