"""Re-encrypt every stored Powens token with the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from ...models import PowensUser


class Command(BaseCommand):
    help = (
        'Re-encrypt every Powens user token with the first key of POWENS["TOKEN_ENCRYPTION_KEYS"]. '
        "Run it after adding a new key in front; then the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            # Loading decrypts with any key; saving encrypts with the newest one.
            batch: list[PowensUser] = []
            for powens_user in PowensUser.objects.filter(token__isnull=False).iterator(2000):
                batch.append(powens_user)
                if len(batch) >= 500:
                    count += self._save(batch)
            count += self._save(batch)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} Powens tokens."))

    @staticmethod
    def _save(batch: list[PowensUser]) -> int:
        saved = len(batch)
        if batch:
            PowensUser.objects.bulk_update(batch, ["token"])
            batch.clear()
        return saved
