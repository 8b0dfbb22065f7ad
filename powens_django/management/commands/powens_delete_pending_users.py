"""Delete at Powens the Powens users of deleted Django users whose deletion failed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...services import users as user_services
from ..progress import Progress


class Command(BaseCommand):
    help = (
        "Delete at Powens (DELETE /users/me) the Powens users of deleted Django users "
        "that are still pending (Powens could not be reached when the Django user was "
        "deleted). Only those due for a retry, unless --all. The exit status is 1 while "
        "any deletion keeps failing, so a cron wrapper can alert."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Try every pending deletion now, not only those due for a retry.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = user_services.retry_powens_user_deletions(
            due_only=not options["all"], progress=Progress(self.stdout, "Powens users")
        )
        failing = list(user_services.pending_powens_user_deletions(failing=True))
        waiting = user_services.pending_powens_user_deletions().count()
        self.stdout.write(
            f"{len(result.succeeded)} Powens users deleted, {len(result.failed)} failed, "
            f"{waiting} still pending."
        )
        if failing:
            for pending in failing:
                self.stderr.write(
                    f"Powens user {pending.powens_id}: {pending.attempts} attempts, last "
                    f"error {pending.last_error}"
                    + (f" (HTTP {pending.last_status})" if pending.last_status else "")
                    + f", next try at {pending.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
                )
            raise CommandError(f"{len(failing)} Powens user deletions are still failing.")
