"""Refresh the local mirror of users' connections (GETs only)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Min, Q
from django.utils import timezone

from ... import services
from ...client import PowensError
from ...fields import DecryptionError
from ...models import PowensUser
from ..progress import Progress


class Command(BaseCommand):
    help = (
        "Refresh connections from Powens with GET requests only (fair use forbids bulk "
        "forced syncs; Powens syncs by itself and this reads the result). Per-user "
        "failures are reported and the rest continues; the exit status is 1 if any failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=int, help="Only this Django user (primary key).")
        parser.add_argument(
            "--stale-hours",
            type=float,
            help="Only users with a connection not refreshed for this many hours.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Tokens are read per user, so that one that cannot be decrypted (a key removed
        # before rotation) is reported as that user's failure, not the whole run's.
        users = (
            PowensUser.objects.filter(powens_id__isnull=False).defer("token").select_related("user")
        )
        if options["user"] is not None:
            users = users.filter(user_id=options["user"])
        if options["stale_hours"] is not None:
            cutoff = timezone.now() - dt.timedelta(hours=options["stale_hours"])
            users = users.annotate(oldest=Min("connections__synced_at")).filter(
                Q(oldest__lt=cutoff) | Q(oldest__isnull=True)
            )
        todo = list(users.order_by("pk"))
        started = time.monotonic()
        progress = Progress(self.stdout, "Users")
        totals = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
        failures = 0
        for done, powens_user in enumerate(todo, 1):
            try:
                result = services.fetch_connections(powens_user.user)
            except (PowensError, DecryptionError) as error:
                failures += 1
                self.stderr.write(f"User pk={powens_user.user_id}: {error}")
            else:
                for key in totals:
                    totals[key] += getattr(result, key)
            progress(done, len(todo))
        summary = ", ".join(f"{value} {key}" for key, value in totals.items())
        elapsed = time.monotonic() - started
        self.stdout.write(f"{len(todo)} users, connections: {summary}, in {elapsed:.1f} s.")
        if failures:
            raise CommandError(f"{failures} of {len(todo)} users could not be refreshed.")
