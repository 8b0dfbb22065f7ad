"""``manage.py sandbox_load_catalogue``: load the shipped connectors (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from ...catalogue import load_catalogue, shipped_catalogue


class Command(BaseCommand):
    help = "Create or update the sandbox's shipped connector catalogue. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = load_catalogue()
        shipped = len(shipped_catalogue())
        hidden = sum(1 for entry in shipped_catalogue() if entry.get("hidden"))
        message = (
            f"Sandbox catalogue: {shipped} connectors ({created} created, {updated} updated, "
            f"{shipped - created - updated} unchanged)"
            + (f"; {hidden} hidden, as Powens hides some: not offered to people" if hidden else "")
            + "."
        )
        self.stdout.write(self.style.SUCCESS(message))
