"""The adapter example of docs/customising.md, run as written: a site that offers only
French banks, keeps staff from linking, and sends people to its own dashboard."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from django.urls import reverse

from powens_django import services
from powens_django.adapter import DefaultPowensAdapter, get_adapter
from powens_django.models import Connection
from powens_django.sandbox import faults

from .conftest import bank_redirect, callback, connect_test_bank, connect_url, connector

DOC = Path(__file__).resolve().parents[2] / "docs" / "customising.md"
MODULE = "customising_doc_example"


def doc_example() -> types.ModuleType:
    """The first Python block of docs/customising.md, as an importable module."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    module = types.ModuleType(MODULE)
    exec(compile(blocks[0], str(DOC), "exec"), module.__dict__)
    return module


@pytest.fixture
def french_banks(sandbox, settings, monkeypatch):
    monkeypatch.setitem(sys.modules, MODULE, doc_example())
    settings.POWENS = {**settings.POWENS, "ADAPTER": f"{MODULE}.FrenchBanksAdapter"}
    return sandbox


def test_the_documented_adapter_is_the_one_in_use(french_banks):
    adapter = get_adapter()

    assert type(adapter).__name__ == "FrenchBanksAdapter"
    assert isinstance(adapter, DefaultPowensAdapter)


def test_the_picker_offers_only_french_banks(french_banks, browser):
    html = browser.get(reverse("powens:picker")).content.decode()

    assert "Connecteur de test" in html
    assert "Banque Multi-Pays" in html  # French customers among others
    assert "Deutsche Sandbox Bank" not in html
    assert "Banco Sandbox" not in html
    assert services.search_connectors().filter(name="Deutsche Sandbox Bank").count() == 0
    countries = re.findall(r'<option value="([A-Z]{2})"', html)
    assert "FR" in countries


def test_a_bank_left_out_cannot_be_connected(french_banks, browser):
    url = connect_url("Deutsche Sandbox Bank")

    assert browser.get(url).status_code == 404
    assert browser.post(url).status_code == 404


def test_a_linked_bank_lands_on_the_sites_dashboard(french_banks, browser):
    response = connect_test_bank(browser)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?bank=linked"
    assert Connection.objects.count() == 1


def test_a_cancelled_link_lands_on_the_sites_dashboard(french_banks, browser):
    params = bank_redirect(browser, "Banque Sandbox PSD2", "cancel")

    response = callback(browser, params)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?bank=cancelled"


def test_staff_cannot_link_a_bank(french_banks, browser, person):
    person.is_staff = True
    person.save()

    assert browser.get(reverse("powens:picker")).status_code == 403
    assert browser.post(connect_url("Banque Sandbox PSD2")).status_code == 403
    assert connect_test_bank(browser).status_code == 403
    with pytest.raises(services.NotAllowed):
        services.start_webauth(person, connector=connector("Banque Sandbox PSD2"))
    assert not Connection.objects.exists()


def test_an_outage_is_worded_by_the_adapter(french_banks, browser, settings):
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "FAULTS": "503:1"}
    faults.reset()

    html = connect_test_bank(browser).content.decode()

    assert "Our banking partner is down for a moment." in html
    assert not Connection.objects.exists()
