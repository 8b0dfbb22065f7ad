"""The screenshots of docs/pages.md, on a desktop and a 375 px phone:
``POWENS_PAGES_SCREENSHOTS=<dir>`` saves them there (skipped otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from powens_django.models import Connection, Connector

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("POWENS_PAGES_SCREENSHOTS"),
        reason="POWENS_PAGES_SCREENSHOTS=<dir> saves the screenshots of docs/pages.md",
    ),
]

SIZES = {"desktop": (1000, 800), "phone": (375, 740)}


def test_screenshots_for_the_docs(site):
    directory = Path(os.environ["POWENS_PAGES_SCREENSHOTS"])
    directory.mkdir(parents=True, exist_ok=True)
    bank = Connector.objects.get(name="Connecteur de test")
    connect = reverse("powens:connect", args=[bank.uuid])
    site.open(connect)
    site.fill("website", "par")
    site.fill("login", "alice")
    site.fill("password", "secret")
    site.click("Connect")
    site.wait_for_text("is connected.")
    connection = Connection.objects.get()
    pages = {
        "picker": reverse("powens:picker"),
        "connect": connect,
        "connection": reverse("powens:connection", args=[connection.powens_id]),
        "my-banks": reverse("powens:connections"),
    }
    for size, (width, height) in SIZES.items():
        site.driver.set_window_size(width, height)
        for name, path in pages.items():
            site.open(path)
            site.driver.save_screenshot(str(directory / f"pages-{name}-{size}.png"))
