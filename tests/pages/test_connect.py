"""Connecting a bank: webauth through the bank's website, credentials through the
connector's form, and the steps a bank may ask for (OTP, decoupled confirmation)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from powens_django.models import Connection, LinkState
from powens_django.sandbox import models as bank

from .conftest import (
    callback,
    connect_test_bank,
    connect_url,
    connector,
    credentials,
    only_connection,
)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- webauth ------------------------------------------------------------------------


def test_webauth_bank_page_shows_a_button_and_starts_nothing(sandbox, browser):
    response = browser.get(connect_url("Banque Sandbox PSD2"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post" data-powens-busy=' in html
    assert "Continue to Banque Sandbox PSD2" in html
    assert not LinkState.objects.exists()
    assert not bank.WebauthFlow.objects.exists()


def test_webauth_post_redirects_to_the_bank_website(sandbox, browser):
    response = browser.post(connect_url("Banque Sandbox PSD2"))
    assert response.status_code == 302
    assert response["Location"].startswith(sandbox.url + "/sandbox/2.0/bank/")
    assert bank.WebauthFlow.objects.count() == 1


def test_webauth_start_needs_the_csrf_token(sandbox, person):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person)
    assert strict.post(connect_url("Banque Sandbox PSD2")).status_code == 403
    assert not bank.WebauthFlow.objects.exists()


def test_credentials_bank_page_shows_the_connector_form(sandbox, browser):
    html = browser.get(connect_url("Connecteur de test")).content.decode()
    assert 'name="website"' in html and 'name="login"' in html
    assert 'type="password"' in html and 'name="password"' in html
    assert "Professionnels" in html


# -- credentials --------------------------------------------------------------------


def test_credentials_success_leads_to_the_connection_page_with_a_message(sandbox, browser):
    response = connect_test_bank(browser)
    connection = only_connection()
    assert response.status_code == 302
    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    page = browser.get(response["Location"])
    assert "Connecteur de test is connected." in messages_of(page)
    assert connection.state is None


def test_wrong_password_shows_the_form_again_with_the_bank_message(sandbox, browser):
    response = connect_test_bank(browser, login="wrongpass", password="typed-password")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in html
    assert 'value="wrongpass"' in html  # the login is kept
    assert "typed-password" not in html  # the password is not
    assert not Connection.objects.exists()


def test_otp_asks_the_code_then_completes(sandbox, browser):
    response = connect_test_bank(browser, login="otp")
    connection = only_connection()
    answer = reverse("powens:connection_fields", args=[connection.powens_id])
    assert response["Location"] == answer
    page = browser.get(answer)
    assert "Your bank needs more information" in page.content.decode()
    assert "Code reçu par SMS" in page.content.decode()

    done = browser.post(answer, {"otp": "123456"})
    assert done["Location"] == reverse("powens:connection", args=[connection.powens_id])
    connection.refresh_from_db()
    assert connection.state is None


def test_a_wrong_otp_stays_on_the_code_step_with_the_bank_message(sandbox, browser):
    connect_test_bank(browser, login="otp")
    connection = only_connection()
    answer = reverse("powens:connection_fields", args=[connection.powens_id])
    response = browser.post(answer, {"otp": "000000"})
    assert response.status_code == 200
    assert "Code incorrect." in response.content.decode()
    connection.refresh_from_db()
    assert connection.state == "additionalInformationNeeded"


def test_an_otp_in_the_wrong_format_is_refused_before_reaching_the_bank(sandbox, browser):
    connect_test_bank(browser, login="otp")
    connection = only_connection()
    syncs = bank.Connection.objects.get().sync_count
    answer = reverse("powens:connection_fields", args=[connection.powens_id])
    response = browser.post(answer, {"otp": "12ab"})
    assert "Enter a value in the format your bank expects." in response.content.decode()
    assert bank.ConnectionLog.objects.count() == 1  # only the creation
    assert bank.Connection.objects.get().sync_count == syncs


def test_decoupled_leads_to_the_waiting_page(sandbox, browser):
    response = connect_test_bank(browser, login="decoupled")
    connection = only_connection()
    wait = reverse("powens:connection_wait", args=[connection.powens_id])
    assert response["Location"] == wait
    page = browser.get(wait).content.decode()
    assert "I have approved it" in page
    assert "data-powens-refresh" not in page  # nothing moves before the person resumes


def test_decoupled_resume_polls_until_the_bank_confirms(sandbox, browser, sandbox_settings):
    sandbox_settings(BACKGROUND_DELAY=600)
    connect_test_bank(browser, login="decoupled")
    connection = only_connection()
    wait = reverse("powens:connection_wait", args=[connection.powens_id])

    resumed = browser.post(wait)
    assert resumed["Location"] == wait  # a reload of the page never resumes twice
    polling = browser.get(wait).content.decode()
    assert 'data-powens-refresh="3"' in polling
    assert "I have approved it" not in polling

    bank.Connection.objects.update(pending_until=timezone.now())  # the bank confirms
    done = browser.get(wait)
    assert done["Location"] == reverse("powens:connection", args=[connection.powens_id])
    connection.refresh_from_db()
    assert connection.state is None


def test_wrongpass_on_an_existing_connection_asks_credentials_again(sandbox, browser):
    connect_test_bank(browser)
    connection = only_connection()
    answer = reverse("powens:connection_fields", args=[connection.powens_id])
    response = browser.post(answer, credentials(login="wrongpass"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Identifiant ou mot de passe incorrect." in html
    assert 'name="password"' in html
    assert bank.Connection.objects.get().state == "wrongpass"

    fixed = browser.post(answer, credentials(login="alice"))
    assert fixed["Location"] == reverse("powens:connection", args=[connection.powens_id])
    connection.refresh_from_db()
    assert connection.state is None


def test_a_required_field_left_empty_is_reported_without_calling_the_bank(sandbox, browser):
    response = browser.post(connect_url("Connecteur de test"), {"website": "par", "login": "x"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not bank.Connection.objects.exists()


# -- callback -----------------------------------------------------------------------


def test_callback_with_a_valid_state_fetches_the_connection_and_redirects(sandbox, browser):
    from .conftest import bank_redirect

    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    response = callback(browser, params)
    connection = Connection.objects.get(powens_id=int(params["id_connection"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("powens:connection", args=[connection.powens_id])
    assert connection.connector == connector("Banque Sandbox PSD2")
    assert connection.powens_user.user.username == "alice"


def test_callback_after_a_cancel_shows_the_cancelled_page(sandbox, browser):
    from .conftest import bank_redirect

    params = bank_redirect(browser, "Banque Sandbox PSD2", "cancel")
    response = callback(browser, params)
    assert response.status_code == 200
    assert "You cancelled the connection" in response.content.decode()
    assert not Connection.objects.exists()


def test_callback_failure_page_hides_the_description_and_logs_it(sandbox, browser, caplog):
    from .conftest import bank_redirect

    params = bank_redirect(browser, "Banque Sandbox PSD2", "fail")
    params.update(error="server_error", error_description="SECRETDETAIL")
    response = callback(browser, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The connection did not work" in html
    assert "SECRETDETAIL" not in html
    assert "SECRETDETAIL" in caplog.text


def test_open_redirect_is_refused(sandbox, browser):
    from .conftest import bank_redirect

    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve", next="https://evil.example/")
    response = callback(browser, params)
    assert response["Location"] == reverse("powens:connection", args=[int(params["id_connection"])])


def test_a_safe_next_is_followed(sandbox, browser):
    from .conftest import bank_redirect

    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve", next="/dashboard/")
    assert callback(browser, params)["Location"] == "/dashboard/"


def test_success_url_setting_is_where_people_land(sandbox, browser, settings):
    from .conftest import bank_redirect

    settings.POWENS = {**settings.POWENS, "SUCCESS_URL": "/welcome/"}
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    assert callback(browser, params)["Location"] == "/welcome/"
