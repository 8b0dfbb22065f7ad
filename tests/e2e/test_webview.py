"""Webview mode in a real browser: the site's page, the sandbox's Webview, two banks
linked in one visit (one with a one-time code), back on My banks with both; and a
cancel that changes nothing.

``POWENS_WEBVIEW_SCREENSHOTS=<dir>`` also saves the screenshots of docs/webview.md there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from powens_django.models import Connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webview_site(site, settings):
    settings.POWENS = {**settings.POWENS, "LINK_MODE": "webview", "WEBVIEW_PICKER": "powens"}
    return site


def choose(site, name: str) -> None:
    site.fill("q", name)
    site.driver.find_element("css selector", "form[role=search] button").click()
    site.wait_for_text(name)
    site.driver.find_element(
        "xpath", f"//li[span[normalize-space()='{name}']]//a[normalize-space()='Choose']"
    ).click()


SHOTS = os.environ.get("POWENS_WEBVIEW_SCREENSHOTS")


def shot(site, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        site.driver.set_window_size(1000, 760)
        site.driver.save_screenshot(str(Path(SHOTS) / f"webview-{name}.png"))


def test_two_banks_linked_in_one_visit_are_both_on_my_banks(webview_site):
    site = webview_site
    site.open(reverse("powens:picker"))
    site.wait_for_text("secure page of Powens")
    shot(site, "continue")
    site.click("Continue to the secure page")
    site.wait_for_text("Choose")
    assert "/sandbox/webview/" in site.driver.current_url
    shot(site, "sandbox-picker")

    # A credentials bank that asks for a one-time code.
    choose(site, "Connecteur de test")
    site.fill("website", "par")
    site.fill("login", "otp")
    site.fill("password", "secret")
    site.driver.find_element("id", "connect").click()
    site.wait_for_text("Send")
    site.fill("otp", "123456")
    site.driver.find_element("id", "send").click()
    site.wait_for_text("Link another bank")

    # A bank with its own website.
    site.driver.find_element("id", "link-another").click()
    choose(site, "Banque Sandbox PSD2")
    site.driver.find_element("id", "approve").click()
    site.wait_for_text("Finish")
    site.driver.find_element("id", "finish").click()

    site.wait_for_text("is connected.")
    assert sorted(c.connector_name for c in Connection.objects.all()) == [
        "Banque Sandbox PSD2",
        "Connecteur de test",
    ]
    site.open(reverse("powens:connections"))
    assert "Banque Sandbox PSD2" in site.text and "Connecteur de test" in site.text
    assert "Manage my banks" in site.text
    shot(site, "my-banks")


def test_a_cancel_in_the_webview_comes_back_with_nothing_connected(webview_site):
    site = webview_site
    site.open(reverse("powens:picker"))
    site.click("Continue to the secure page")
    site.wait_for_text("Choose")
    site.driver.find_element("id", "cancel").click()

    site.wait_for_text("You cancelled the connection")
    assert not Connection.objects.exists()
