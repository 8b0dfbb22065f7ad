"""Mirror the catalogue into the app once the demo server (and its sandbox) answers.

`make demo` starts this beside `runserver`: the sandbox is served by the very server
being started, so the app's catalogue can only be refreshed over HTTP once it is up.
"""

import time
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from powens_django import services
from powens_django.conf import powens_settings


class Command(BaseCommand):
    help = "Wait for the Powens API (the demo's sandbox) to answer, then mirror its catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", type=float, default=60.0, help="Seconds to wait at most.")

    def handle(self, *args: Any, **options: Any) -> None:
        url = f"{powens_settings.api_root}connectors"
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"{url} did not answer within {options['wait']:.0f} s.")
            time.sleep(0.5)
        result = services.refresh_catalogue()
        self.stdout.write(self.style.SUCCESS(f"Catalogue mirrored: {result}."))
