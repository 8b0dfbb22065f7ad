"""Live progress and no dead ends, in a real browser: Sync now waits on a page that
shows a spinner and lands by itself (with JavaScript and without), the forms that reach
the bank say they are working, and a bank needing the person can be repaired from its
page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from powens_django.models import Connection, Connector

from .conftest import Site, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEST_BANK = "Connecteur de test"
WEBAUTH_BANK = "Banque Sandbox PSD2"


def connect_page(name: str) -> str:
    return reverse("powens:connect", args=[Connector.objects.get(name=name).uuid])


#: What the page after linking says, by login (the sandbox's scenario).
LINKED = {
    "alice": "Connecteur de test is connected.",
    "expired": "Connecteur de test is linked, but needs attention.",
    "action": "Connecteur de test is linked, but needs attention.",
    "decoupled": "approve the request",
}


def link_test_bank(site: Site, login: str = "alice") -> Connection:
    site.open(connect_page(TEST_BANK))
    site.fill("website", "par")
    site.fill("login", login)
    site.fill("password", "secret")
    site.click("Connect")
    site.wait_for_text(LINKED[login], timeout=15)
    return Connection.objects.get()


@pytest.fixture
def slow_bank(settings: Any) -> None:
    """Background syncs take three seconds at the sandbox (long enough to be seen)."""
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "BACKGROUND_DELAY": 3}


@pytest.fixture
def driver_without_javascript(_chromium_present: None, request: Any) -> Iterator[Any]:
    """Chromium as the conftest's ``driver``, with JavaScript turned off."""
    with chromium(request, javascript=False) as browser:
        yield browser


@pytest.fixture
def site_without_javascript(
    sandbox: Any, driver_without_javascript: Any, client: Any, django_user_model: Any
) -> Site:
    person = django_user_model.objects.create_user("alice", password="unused-password")
    client.force_login(person)
    driver = driver_without_javascript
    driver.get(sandbox.url + "/static-not-found/")
    driver.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )
    return Site(driver, sandbox.url)


def sync_now_and_watch(site: Site, connection: Connection, *, javascript: bool) -> None:
    site.open(reverse("powens:connection", args=[connection.powens_id]))
    site.click("Sync now")
    site.wait_for_text("Fetching your latest data from Connecteur de test.")
    assert site.driver.current_url.endswith(
        reverse("powens:connection_syncing", args=[connection.powens_id])
    )
    spinner = site.driver.find_element("css selector", ".powens-spinner")
    assert spinner.is_displayed()
    assert spinner.get_attribute("aria-hidden") == "true"
    # A browser without scripts parses <noscript>'s content as elements (a browser with
    # scripts keeps it as text): the proof of which kind of browser this is.
    refresh = site.driver.find_elements("css selector", "noscript meta[http-equiv=refresh]")
    assert len(refresh) == (0 if javascript else 1)
    # Nobody clicks anything: the page looks again by itself until the bank is done.
    site.wait_for_text("Synchronized.", timeout=25)
    assert site.driver.current_url.endswith(
        reverse("powens:connection", args=[connection.powens_id])
    )
    assert "Up to date" in site.text


def test_sync_now_shows_a_spinner_then_lands_by_itself(site, slow_bank):
    connection = link_test_bank(site)
    before = connection.last_update

    sync_now_and_watch(site, connection, javascript=True)

    assert Connection.objects.get().last_update > before


def test_sync_now_lands_by_itself_without_javascript(site_without_javascript, slow_bank):
    site = site_without_javascript
    connection = link_test_bank(site)
    before = connection.last_update

    sync_now_and_watch(site, connection, javascript=False)

    assert Connection.objects.get().last_update > before


def wait_until_gone(site: Site, element: Any) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(site.driver, 15).until(expected_conditions.staleness_of(element))


def hold_the_next_submit(site: Site) -> None:
    """Keep the page after the next submit, so its own script is seen at work."""
    site.driver.execute_script(
        "document.addEventListener('submit', function (e) { e.preventDefault(); });"
    )


@pytest.mark.parametrize(
    ("button", "busy"),
    [
        ("Sync now", "Contacting your bank, this can take a minute"),
        ("Refresh", "Working on it"),
        ("Continue to Banque Sandbox PSD2", "Working on it"),
    ],
)
def test_a_button_that_reaches_the_bank_says_it_is_working(site, button, busy):
    if button == "Sync now":
        connection = link_test_bank(site)
        site.open(reverse("powens:connection", args=[connection.powens_id]))
    elif button == "Refresh":
        site.open(reverse("powens:connections"))
    else:
        site.open(connect_page(WEBAUTH_BANK))
    hold_the_next_submit(site)

    site.click(button)

    xpath = f"//button[normalize-space()='{button}']"
    pressed = site.driver.find_element("xpath", xpath)
    assert pressed.get_attribute("disabled") == "true"
    status = pressed.find_element("xpath", "./ancestor::form//*[@role='status']")
    assert busy in status.text
    assert status.is_displayed()


@pytest.mark.parametrize("login", ["expired", "action"])
def test_a_bank_needing_the_person_is_repaired_from_its_page(site, login):
    connection = link_test_bank(site, login)
    assert Connection.objects.get().state in ("passwordExpired", "actionNeeded")

    site.click("Enter your credentials again")
    site.wait_for_text("Enter your credentials again")
    site.fill("website", "par")
    site.fill("login", "alice")  # the password changed at the bank, the terms accepted
    site.fill("password", "new-secret")
    site.click("Send")

    site.wait_for_text("Connecteur de test is connected.", timeout=15)
    assert site.driver.current_url.endswith(
        reverse("powens:connection", args=[connection.powens_id])
    )
    assert Connection.objects.get().state is None
    assert "Up to date" in site.text


def test_trying_again_after_acting_at_the_bank_comes_back_to_the_bank_page(site):
    connection = link_test_bank(site, "action")

    page = site.driver.find_element("tag name", "html")
    site.click("Sync now")  # the bank still wants its terms accepted
    wait_until_gone(site, page)

    site.wait_for_text("Connecteur de test is linked, but needs attention.", timeout=15)
    assert site.driver.current_url.endswith(
        reverse("powens:connection", args=[connection.powens_id])
    )
    assert "Enter your credentials again" in site.text


def test_the_cancelled_page_leads_back_to_my_banks(site):
    site.open(connect_page(WEBAUTH_BANK))
    site.click("Continue to Banque Sandbox PSD2")
    site.wait_for_text("Share your accounts")
    site.driver.find_element("id", "cancel").click()
    site.wait_for_text("You cancelled the connection")

    site.click("Back")

    site.wait_for_text("You have not connected a bank yet.")
    assert site.driver.current_url.endswith(reverse("powens:connections"))


def test_the_decoupled_waiting_page_leads_back_to_my_banks(site):
    link_test_bank(site, "decoupled")

    site.click("My banks")

    site.wait_for_text("Waiting for your confirmation")
    assert site.driver.current_url.endswith(reverse("powens:connections"))
    assert "Connecteur de test" in site.text
