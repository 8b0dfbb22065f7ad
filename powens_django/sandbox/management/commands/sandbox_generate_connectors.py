"""``manage.py sandbox_generate_connectors N``: add N synthetic connectors."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...catalogue import generate_connectors


class Command(BaseCommand):
    help = "Add N synthetic connectors (3 sources and 5 fields each), e.g. for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int, help="How many connectors to add.")

    def handle(self, *args: Any, count: int, **options: Any) -> None:
        if count < 1:
            raise CommandError("count must be at least 1")
        made = generate_connectors(count)
        self.stdout.write(self.style.SUCCESS(f"Added {made} synthetic connectors."))
