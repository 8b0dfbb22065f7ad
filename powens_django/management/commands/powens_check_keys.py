"""Prove that ``POWENS["TOKEN_ENCRYPTION_KEYS"]`` opens the stored Powens tokens."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...fields import check_stored_values
from ...models import PowensUser


class Command(BaseCommand):
    help = (
        'Try POWENS["TOKEN_ENCRYPTION_KEYS"] on the stored Powens user tokens and say how '
        "many no key decrypts (a key removed before powens_rotate_keys). Prints counts "
        "only, never a token or a ciphertext; fails when a token cannot be decrypted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sample",
            type=int,
            default=None,
            help="Try at most this many tokens, half the oldest and half the newest "
            "(default: all).",
        )

    def handle(self, *args: Any, sample: int | None = None, **options: Any) -> None:
        if sample is not None and sample < 1:
            raise CommandError("--sample must be at least 1.")
        found = check_stored_values(PowensUser.objects.all(), "token", sample=sample)
        of = f"{found.checked} of {found.total}" if found.checked < found.total else found.total
        if found.unreadable:
            raise CommandError(
                f"{found.unreadable} of the {found.checked} Powens tokens tried cannot be "
                'decrypted with any key in POWENS["TOKEN_ENCRYPTION_KEYS"] (checked '
                f"{of} stored tokens). Put back the key they were encrypted with (keep it "
                "after the newest one), then run powens_rotate_keys before removing it."
            )
        self.stdout.write(
            self.style.SUCCESS(f"The configured keys decrypt all {of} stored Powens tokens tried.")
        )
