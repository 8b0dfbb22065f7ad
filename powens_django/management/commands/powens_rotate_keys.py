"""Re-encrypt every stored Powens token with the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ...fields import DecryptionError, get_fernet
from ...models import PowensUser

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every Powens user token with the first key of "
        'POWENS["TOKEN_ENCRYPTION_KEYS"]. Run it after adding a new key in front; then '
        "the old keys can be removed. All or nothing: one token that no key decrypts "
        "stops the run and changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        get_fernet()  # no keys configured: ImproperlyConfigured before touching anything
        pks = list(
            PowensUser.objects.filter(token__isnull=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        count = 0
        try:
            with transaction.atomic():
                # Batches by primary key rather than a server-side cursor, which an
                # error would leave open inside the rolled-back transaction.
                for start in range(0, len(pks), BATCH):
                    # Loading decrypts with any key; saving encrypts with the newest.
                    batch = list(PowensUser.objects.filter(pk__in=pks[start : start + BATCH]))
                    PowensUser.objects.bulk_update(batch, ["token"])
                    count += len(batch)
        except DecryptionError as error:
            raise CommandError(f"{error} Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} Powens tokens."))
