"""The bank picker, and the login every page requires."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import Connector

from .conftest import connect_url

PICKER = reverse("powens:picker")


@pytest.mark.parametrize(
    ("name", "method", "args"),
    [
        ("connections", "get", []),
        ("refresh", "post", []),
        ("picker", "get", []),
        ("connect", "get", ["00000000-0000-4000-8000-000000000001"]),
        ("connect", "post", ["00000000-0000-4000-8000-000000000001"]),
        ("callback", "get", []),
        ("connection", "get", [1]),
        ("connection_sync", "post", [1]),
        ("connection_reconnect", "post", [1]),
        ("connection_fields", "get", [1]),
        ("connection_fields", "post", [1]),
        ("connection_wait", "get", [1]),
        ("connection_wait", "post", [1]),
        ("source_toggle", "post", [1, 10]),
        ("connection_delete", "get", [1]),
        ("connection_delete", "post", [1]),
        ("connection_logs", "get", [1]),
    ],
)
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(client, db, name, method, args):
    url = reverse(f"powens:{name}", args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def test_picker_lists_the_catalogue(sandbox, browser):
    response = browser.get(PICKER)
    assert response.status_code == 200
    assert "Connecteur de test" in names(response)
    assert "Banque Sandbox PSD2" in names(response)


def test_picker_search_ignores_case_and_accents(sandbox, browser):
    response = browser.get(PICKER, {"q": "CREDIT"})
    assert sorted(names(response)) == [
        "Crédit Régional Multisource",
        "Crédit Ünïcode & Épargne « Test »",
    ]


def test_picker_search_with_accents_finds_names_without(sandbox, browser):
    assert names(browser.get(PICKER, {"q": "connécteur"})) == ["Connecteur de test"]


def test_picker_search_without_match_says_so(sandbox, browser):
    response = browser.get(PICKER, {"q": "zzz no such bank"})
    assert names(response) == []
    assert "No bank matches your search." in response.content.decode()


def test_picker_filters_by_country(sandbox, browser):
    response = browser.get(PICKER, {"country": "DE"})
    assert sorted(names(response)) == ["Banque Multi-Pays", "Deutsche Sandbox Bank", "Sandbox Pay"]


def test_picker_offers_the_countries_of_the_catalogue(sandbox, browser):
    countries = browser.get(PICKER).context["countries"]
    assert {"FR", "DE", "ES", "GB"} <= set(countries)


@pytest.fixture
def hidden_bank(sandbox):
    """The sandbox does not list hidden connectors; mark one hidden as Powens would."""
    Connector.objects.filter(name="Caisse des Champs").update(hidden=True)
    return "Caisse des Champs"


def test_picker_does_not_offer_hidden_or_restricted_banks(sandbox, hidden_bank, browser):
    assert Connector.objects.filter(name="Banque Fermée", restricted=True).exists()
    response = browser.get(PICKER)
    assert "Caisse des Champs" not in names(response)
    assert "Banque Fermée" not in names(response)
    assert "Banque Fermée" not in response.content.decode()


@pytest.mark.parametrize("name", ["Caisse des Champs", "Banque Fermée"])
def test_hidden_or_restricted_bank_cannot_be_opened_directly(hidden_bank, browser, name):
    assert browser.get(connect_url(name)).status_code == 404
    assert browser.post(connect_url(name)).status_code == 404


def test_beta_bank_carries_a_beta_badge(sandbox, browser):
    html = browser.get(PICKER, {"q": "Néobanque"}).content.decode()
    assert "Néobanque Bêta" in html
    assert '<span class="powens-tag">beta</span>' in html


def test_non_beta_bank_has_no_beta_badge(sandbox, browser):
    html = browser.get(PICKER, {"q": "Connecteur de test"}).content.decode()
    assert "Connecteur de test" in html
    assert "powens-tag" not in html


def test_each_bank_shows_its_initials_and_colour(sandbox, browser):
    color = Connector.objects.get(name="Connecteur de test").color
    html = browser.get(PICKER, {"q": "Connecteur de test"}).content.decode()
    assert f"background:#{color.lower()}" in html
    assert ">CD</span>" in html


def test_picker_is_paginated(sandbox, browser, settings):
    settings.POWENS = {**settings.POWENS, "PICKER_PAGE_SIZE": 5}
    first = browser.get(PICKER)
    second = browser.get(PICKER, {"page": 2})
    assert len(names(first)) == 5
    assert set(names(first)).isdisjoint(names(second))
    assert 'rel="next"' in first.content.decode()
