"""Process recorded webhook events again (after a bug fix, or when processing runs in
tasks and a worker was down)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import services


class Command(BaseCommand):
    help = (
        "Process the recorded webhook events that were never processed (--failed: only "
        "those whose last attempt failed), or the events --ids names (processed ones "
        "included: processing is idempotent). Refused deliveries are never processed. "
        "The exit status is 1 when any event fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--failed", action="store_true", help="Only events whose last attempt failed."
        )
        parser.add_argument(
            "--ids", nargs="+", type=int, metavar="ID", help="These events (primary keys)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        events = services.events_to_reprocess(failed_only=options["failed"], ids=options["ids"])
        result = services.reprocess_webhook_events(events, force=bool(options["ids"]))
        for item in result.failed:
            self.stderr.write(f"Event {item.key}: {item.error.detail if item.error else ''}")
        self.stdout.write(
            f"{len(result.succeeded)} webhook events processed, {len(result.failed)} failed."
        )
        if result.failed:
            raise CommandError(f"{len(result.failed)} webhook events failed.")
