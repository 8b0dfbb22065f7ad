"""Re-encrypt every stored Powens token with the newest key: those of Powens users and
those of deleted Django users' Powens users still to delete at Powens."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ...fields import DecryptionError, get_fernet
from ...models import PendingPowensUserDeletion, PowensUser

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every Powens user token (those of Powens users still to delete at "
        "Powens included) with the first key of "
        'POWENS["TOKEN_ENCRYPTION_KEYS"]. Run it after adding a new key in front; then '
        "the old keys can be removed. All or nothing: one token that no key decrypts "
        "stops the run and changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        get_fernet()  # no keys configured: ImproperlyConfigured before touching anything
        count = 0
        try:
            with transaction.atomic():
                for model in (PowensUser, PendingPowensUserDeletion):
                    count += self.reencrypt(model)
        except DecryptionError as error:
            raise CommandError(f"{error} Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} Powens tokens."))

    def reencrypt(self, model: type[PowensUser] | type[PendingPowensUserDeletion]) -> int:
        manager: Any = model._default_manager
        pks = list(manager.filter(token__isnull=False).order_by("pk").values_list("pk", flat=True))
        # Batches by primary key rather than a server-side cursor, which an error would
        # leave open inside the rolled-back transaction.
        for start in range(0, len(pks), BATCH):
            # Loading decrypts with any key; saving encrypts with the newest.
            batch = list(manager.filter(pk__in=pks[start : start + BATCH]))
            manager.bulk_update(batch, ["token"])
        return len(pks)
