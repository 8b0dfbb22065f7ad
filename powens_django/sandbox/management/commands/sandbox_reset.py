"""``manage.py sandbox_reset``: empty the sandbox's state."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...state import reset


class Command(BaseCommand):
    help = (
        "Delete every sandbox user with its tokens, connections, accounts, logs, bank pages "
        "and webhook deliveries. --all also deletes the connectors and the RSA key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Also delete the connector catalogue and the sandbox's RSA key.",
        )

    def handle(self, *args: Any, everything: bool = False, **options: Any) -> None:
        reset(everything=everything)
        what = "everything" if everything else "users, connections and webhooks"
        self.stdout.write(self.style.SUCCESS(f"Sandbox emptied ({what})."))
