"""Delete old webhook events (POWENS["WEBHOOK_RETENTION_DAYS"])."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ... import services


class Command(BaseCommand):
    help = (
        "Delete processed and refused webhook events received more than --days ago "
        '(default: POWENS["WEBHOOK_RETENTION_DAYS"]). Events never processed are kept.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="Keep events younger than this.")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = services.prune_webhook_events(days=options["days"])
        self.stdout.write(f"{deleted} webhook events deleted.")
