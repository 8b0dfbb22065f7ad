"""Mirror the Powens connector catalogue."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import services
from ...conf import powens_settings
from ..progress import Progress


class Command(BaseCommand):
    help = (
        "Refresh the local connector catalogue from Powens (GET /connectors with fields, "
        "sources and countries). Without --country, connectors Powens no longer lists "
        "are removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--country",
            default="",
            help="Comma-separated ISO country codes, e.g. fr,es (no pruning then).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes = services.parse_country_codes(options["country"])
        started = time.monotonic()
        where = f" for {','.join(codes)}" if codes else ""
        self.stdout.write(f"Fetching the Powens catalogue{where}...")
        progress = Progress(self.stdout, "Comparing")
        try:
            result = services.refresh_catalogue(country_codes=codes, progress=progress)
        except services.ServiceError as error:
            where = powens_settings.api_root or "(no API root: set DOMAIN or API_URL)"
            if error.transient:
                raise CommandError(
                    f"Powens could not be reached at {where}: {error.detail}. Is it up "
                    "(with the sandbox: is the server running)?"
                ) from None
            raise CommandError(
                f"Powens at {where} refused the catalogue request: {error.detail}"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(f"Catalogue: {result} in {time.monotonic() - started:.1f} s.")
        )
