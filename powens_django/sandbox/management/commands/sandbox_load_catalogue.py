"""``manage.py sandbox_load_catalogue``: load the shipped connectors (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from ...catalogue import load_catalogue


class Command(BaseCommand):
    help = "Create or update the sandbox's shipped connector catalogue. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = load_catalogue()
        message = f"Sandbox catalogue: {created} connectors created, {updated} updated."
        self.stdout.write(self.style.SUCCESS(message))
