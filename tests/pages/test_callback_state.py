"""A callback whose state is missing, reused, another person's or expired changes
nothing and says so."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from powens_django.models import Connection, LinkState

from .conftest import bank_redirect, callback


def assert_link_invalid(response) -> None:
    assert response.status_code == 400
    assert "This link is no longer valid" in response.content.decode()


def test_callback_without_state_is_refused(sandbox, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    del params["state"]
    assert_link_invalid(callback(browser, params))
    assert not Connection.objects.exists()


def test_callback_with_an_unknown_state_is_refused(sandbox, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    params["state"] = "forged-" + params["state"]
    assert_link_invalid(callback(browser, params))
    assert not Connection.objects.exists()


def test_a_state_cannot_be_used_twice(sandbox, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    assert callback(browser, params).status_code == 302
    Connection.objects.all().delete()
    assert_link_invalid(callback(browser, params))
    assert not Connection.objects.exists()


def test_another_persons_state_is_refused_and_stays_usable_by_its_owner(
    sandbox, browser, someone_else
):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    intruder = Client()
    intruder.force_login(someone_else)
    assert_link_invalid(callback(intruder, params))
    assert not Connection.objects.exists()
    assert callback(browser, params).status_code == 302


def test_a_state_from_another_session_of_the_same_person_is_refused(sandbox, browser, person):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    other_session = Client()
    other_session.force_login(person)
    assert_link_invalid(callback(other_session, params))
    assert not Connection.objects.exists()


def test_an_expired_state_is_refused_but_what_the_bank_linked_shows_on_my_banks(
    sandbox, browser, settings
):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    LinkState.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))

    assert_link_invalid(callback(browser, params))

    # The person took too long, but the bank linked the account at Powens: it is
    # adopted rather than left where nothing can show or delete it.
    adopted = Connection.objects.get()
    assert str(adopted.powens_id) == params["id_connection"]
    assert "Banque Sandbox PSD2" in browser.get(reverse("powens:connections")).content.decode()


def test_a_state_younger_than_the_limit_is_accepted(sandbox, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "approve")
    LinkState.objects.update(created_at=timezone.now() - dt.timedelta(minutes=14))
    assert callback(browser, params).status_code == 302


def test_an_expired_cancel_is_refused_too(sandbox, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "cancel")
    LinkState.objects.update(created_at=timezone.now() - dt.timedelta(hours=1))
    assert_link_invalid(callback(browser, params))
