"""The admin in a real browser against the sandbox: an action run from the change
list through its confirmation page, and no admin page showing a Powens token.

``POWENS_ADMIN_SCREENSHOTS=<dir>`` also saves the screenshots of docs/admin.md there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from selenium.webdriver.support.ui import Select

from powens_django import services
from powens_django.models import BankAccount, Connection, Connector, PowensUser
from powens_django.sandbox import models as powens

from .conftest import Site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_site(sandbox, driver, client, django_user_model) -> Site:
    """The browser, logged in as a superuser on the live server."""
    staff = django_user_model.objects.create_superuser("admin", password="unused-password")
    client.force_login(staff)
    driver.get(sandbox.url + "/static-not-found/")  # a page on the domain, to set the cookie
    driver.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )
    return Site(driver, sandbox.url)


def link(person, login: str = "alice", bank: str = "Connecteur de test") -> Connection | None:
    """``person`` links a credentials bank of the sandbox (the login picks a scenario)."""
    outcome = services.add_credentials_connection(
        person,
        Connector.objects.get(name=bank),
        {"website": "par", "login": login, "password": "secret"},
    )
    return outcome.connection


@pytest.fixture
def demo(django_user_model):
    person = django_user_model.objects.create_user(
        "demo", email="demo@example.com", password="unused-password"
    )
    link(person)
    return person


def test_sync_now_from_the_list_through_its_confirmation_page(admin_site, demo):
    connection = Connection.objects.get()
    admin_site.open(reverse("admin:powens_django_connection_changelist"))
    admin_site.driver.find_element(
        "css selector", f"input.action-select[value='{connection.pk}']"
    ).click()
    Select(admin_site.driver.find_element("name", "action")).select_by_value("sync_now")
    admin_site.driver.find_element("css selector", "button[name='index']").click()

    admin_site.wait_for_text("Sync these connections now?")
    assert "fair-use policy" in admin_site.text
    assert "psu_requested=false" in admin_site.text
    assert not powens.ConnectionLog.objects.filter(psu_requested=False).exists()
    admin_site.driver.find_element("css selector", "input[type='submit']").click()

    admin_site.wait_for_text(f"Connecteur de test #{connection.powens_id}: now “Up to date”.")
    assert powens.ConnectionLog.objects.filter(psu_requested=False).count() == 1


def test_the_token_is_on_no_admin_page(admin_site, demo):
    connection = Connection.objects.get()
    powens_user = PowensUser.objects.get()
    token = powens_user.token
    assert token
    pages = [
        reverse("admin:index"),
        reverse("admin:powens_django_connection_changelist"),
        reverse("admin:powens_django_connection_change", args=[connection.pk]),
        reverse("admin:powens_django_connection_logs", args=[connection.pk]),
        reverse("admin:powens_django_powensuser_changelist"),
        reverse("admin:powens_django_powensuser_change", args=[powens_user.pk]),
        reverse("admin:powens_django_bankaccount_changelist"),
        reverse("admin:powens_django_connector_changelist"),
        reverse("admin:powens_django_connector_change", args=[connection.connector.pk]),
        reverse("admin:auth_user_change", args=[demo.pk]),
        reverse("admin:auth_user_delete", args=[demo.pk]),
    ]
    account = BankAccount.objects.first()
    if account is not None:
        pages.append(reverse("admin:powens_django_bankaccount_change", args=[account.pk]))
    for page in pages:
        admin_site.open(page)
        admin_site.wait_for_text("Django administration")
        assert "Server Error" not in admin_site.text, page
        assert token not in admin_site.driver.page_source, page

    # The deletion's confirmation page, through the change list.
    admin_site.open(reverse("admin:powens_django_powensuser_changelist"))
    admin_site.driver.find_element("css selector", "input.action-select").click()
    Select(admin_site.driver.find_element("name", "action")).select_by_value("delete_at_powens")
    admin_site.driver.find_element("css selector", "button[name='index']").click()
    admin_site.wait_for_text("Delete these users' data at Powens?")
    assert token not in admin_site.driver.page_source


@pytest.mark.skipif(
    not os.environ.get("POWENS_ADMIN_SCREENSHOTS"),
    reason="POWENS_ADMIN_SCREENSHOTS=<dir> saves the screenshots of docs/admin.md",
)
def test_screenshots_for_the_docs(admin_site, demo, django_user_model):
    directory = Path(os.environ["POWENS_ADMIN_SCREENSHOTS"])
    directory.mkdir(parents=True, exist_ok=True)
    for username, login in (("claire", "expired"), ("dan", "otp"), ("erin", "unavailable")):
        person = django_user_model.objects.create_user(username, password="unused-password")
        link(person, login)
    connection = Connection.objects.filter(powens_user__user=demo).get()
    admin_site.driver.set_window_size(1500, 820)
    admin_site.open(reverse("admin:index"))
    admin_site.driver.execute_script(
        "localStorage.setItem('django.admin.navSidebarIsOpen', 'false')"
    )

    admin_site.open(reverse("admin:powens_django_connection_changelist"))
    admin_site.wait_for_text("Up to date")
    admin_site.driver.save_screenshot(str(directory / "admin-connections.png"))
    admin_site.driver.set_window_size(1400, 1300)
    admin_site.open(reverse("admin:powens_django_connection_change", args=[connection.pk]))
    admin_site.wait_for_text("Fetch them from Powens")
    admin_site.driver.save_screenshot(str(directory / "admin-connection.png"))

    assert Connection.objects.count() >= 3
