"""What a person does in a real browser: link a bank through its website or its form,
answer an OTP, mistype a password, cancel at the bank, confirm in the bank's app,
disconnect."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import Connection, Connector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def connect_page(name: str) -> str:
    return reverse("powens:connect", args=[Connector.objects.get(name=name).uuid])


def fill_test_bank(site, login: str, password: str = "secret") -> None:
    site.open(connect_page("Connecteur de test"))
    site.fill("website", "par")
    site.fill("login", login)
    site.fill("password", password)
    site.click("Connect")


def test_webauth_link_through_the_bank_page(site):
    site.open(reverse("powens:picker") + "?q=sandbox+psd2")
    site.driver.find_element("partial link text", "Banque Sandbox PSD2").click()
    site.click("Continue to Banque Sandbox PSD2")
    site.wait_for_text("Share your accounts")
    assert "/sandbox/2.0/bank/" in site.driver.current_url
    site.driver.find_element("id", "approve").click()
    site.wait_for_text("Banque Sandbox PSD2 is connected.")
    connection = Connection.objects.get()
    assert site.driver.current_url.endswith(
        reverse("powens:connection", args=[connection.powens_id])
    )
    assert "Up to date" in site.text


def test_credentials_link_with_an_otp_step(site):
    fill_test_bank(site, "otp")
    site.wait_for_text("Your bank needs more information")
    site.fill("otp", "123456")
    site.click("Send")
    site.wait_for_text("Connecteur de test is connected.")
    assert Connection.objects.get().state is None


def test_wrong_password_shows_the_bank_message_and_an_empty_password(site):
    fill_test_bank(site, "wrongpass", "typed-secret")
    site.wait_for_text("Identifiant ou mot de passe incorrect.")
    assert site.driver.find_element("name", "password").get_attribute("value") == ""
    assert site.driver.find_element("name", "login").get_attribute("value") == "wrongpass"
    assert not Connection.objects.exists()


def test_cancel_at_the_bank(site):
    site.open(connect_page("Banque Sandbox PSD2"))
    site.click("Continue to Banque Sandbox PSD2")
    site.wait_for_text("Share your accounts")
    site.driver.find_element("id", "cancel").click()
    site.wait_for_text("You cancelled the connection")
    assert not Connection.objects.exists()


def test_decoupled_confirmation_then_resume(site):
    fill_test_bank(site, "decoupled")
    site.wait_for_text("approve the request")
    site.click("I have approved it")
    # The waiting page refreshes by itself until the bank has confirmed.
    site.wait_for_text("Connecteur de test is connected.", timeout=15)
    assert Connection.objects.get().state is None


def test_disconnect_a_bank(site):
    fill_test_bank(site, "alice")
    site.wait_for_text("Connecteur de test is connected.")
    site.click("Disconnect")
    site.wait_for_text("It cannot be undone.")
    site.click("Disconnect and delete")
    site.wait_for_text("Connecteur de test was disconnected and its data deleted.")
    assert "You have not connected a bank yet." in site.text
    assert not Connection.objects.exists()


def test_a_form_that_reaches_the_bank_is_sent_once_and_says_it_is_working(site):
    site.open(connect_page("Connecteur de test"))
    site.fill("website", "par")
    site.fill("login", "alice")
    site.fill("password", "secret")
    # Keep the page: the first submit must still be seen by the page's own script.
    site.driver.execute_script(
        "window.powensHold = function (e) { e.preventDefault(); };"
        "document.querySelector('form[data-powens-busy]')"
        ".addEventListener('submit', window.powensHold);"
    )
    site.click("Connect")
    button = site.driver.find_element("css selector", "form[data-powens-busy] button")
    # A synthetic submit event never sends the form: only a script can stop it.
    second = site.driver.execute_script(
        "var f = document.querySelector('form[data-powens-busy]');"
        "f.removeEventListener('submit', window.powensHold);"
        "var e = new Event('submit', {bubbles: true, cancelable: true});"
        "f.dispatchEvent(e); return e.defaultPrevented;"
    )

    assert button.get_attribute("disabled") == "true"
    assert "Contacting your bank, this can take a minute" in site.text
    assert second is True  # a second submit is stopped by the page's script
    assert not Connection.objects.exists()


def test_a_text_field_in_error_is_outlined_like_a_list_in_error(site):
    site.open(connect_page("Connecteur de test"))
    # Past the browser's own checks, so that the server's errors are drawn.
    site.driver.execute_script(
        "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'));"
        "document.querySelectorAll('form').forEach(f => f.noValidate = true);"
    )
    site.click("Connect")
    site.wait_for_text("This field is required.")

    def border(name: str) -> str:
        return site.driver.execute_script(
            "return getComputedStyle(document.getElementsByName(arguments[0])[0]).borderColor;",
            name,
        )

    danger = site.driver.execute_script(
        "var p = document.createElement('p'); p.style.color = 'var(--powens-danger)';"
        "document.querySelector('.powens').appendChild(p);"
        "return getComputedStyle(p).color;"
    )
    assert border("login") == border("website") == danger
    assert not Connection.objects.exists()
