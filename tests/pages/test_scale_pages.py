"""The picker and My banks at scale: what they derive from the whole catalogue is
kept per catalogue version (a change shows at once), and My banks reads nothing it
does not show."""

from __future__ import annotations

import contextlib
from unittest import mock

from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from powens_django import fields, services
from powens_django.models import CatalogueVersion, PowensUser
from powens_django.sync import sync_connections, sync_connectors
from tests.factories import account_payload, connection_payload, connector_payload

PICKER = reverse("powens:picker")


def country_payload(i: int, *codes: str) -> dict:
    return connector_payload(i, countries=[{"id": code, "name": code} for code in codes])


def test_the_picker_does_not_scan_the_catalogue_for_its_countries_on_every_request(browser):
    sync_connectors([country_payload(i, "FR") for i in range(1, 30)])
    browser.get(PICKER)
    with CaptureQueriesContext(db_connection) as captured:
        response = browser.get(PICKER)
    assert response.context["countries"] == ["FR"]
    assert not [q for q in captured if "DISTINCT" in q["sql"].upper()]
    assert not [q for q in captured if "COUNT(" in q["sql"].upper()]


def test_a_catalogue_refresh_shows_in_the_picker_countries_and_count_at_once(browser):
    sync_connectors([country_payload(i, "FR") for i in range(1, 30)])
    first = browser.get(PICKER)
    assert first.context["countries"] == ["FR"]
    assert first.context["page"].paginator.count == 29

    sync_connectors([country_payload(i, "FR") for i in range(1, 30)] + [country_payload(30, "BE")])
    after = browser.get(PICKER)
    assert after.context["countries"] == ["BE", "FR"]
    assert after.context["page"].paginator.count == 30

    sync_connectors([country_payload(30, "BE")])  # the others are pruned
    pruned = browser.get(PICKER)
    assert pruned.context["countries"] == ["BE"]
    assert "1 bank" in pruned.content.decode()


def test_an_identical_refresh_keeps_the_catalogue_version(db):
    payloads = [connector_payload(i) for i in range(1, 5)]
    sync_connectors(payloads)
    version = services.catalogue_version()
    sync_connectors(payloads)
    assert services.catalogue_version() == version
    sync_connectors(payloads[:3])
    assert services.catalogue_version()[0] == version[0] + 1


def test_a_failed_refresh_leaves_the_catalogue_version(db, monkeypatch):
    sync_connectors([connector_payload(i) for i in range(1, 5)])
    version = services.catalogue_version()
    from powens_django import bulk

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(bulk, "delete_in", broken)
    with contextlib.suppress(RuntimeError):
        sync_connectors([connector_payload(i) for i in range(1, 3)])
    assert services.catalogue_version() == version
    assert CatalogueVersion._default_manager.count() == 1


def test_searches_are_counted_per_query(browser):
    sync_connectors(
        [connector_payload(i) for i in range(1, 30)] + [connector_payload(30, name="Zebra Bank")]
    )
    assert browser.get(PICKER, {"q": "zebra"}).context["page"].paginator.count == 1
    assert browser.get(PICKER, {"q": "numero"}).context["page"].paginator.count == 29


def my_banks(person, count: int) -> None:
    powens_user = PowensUser.objects.create(user=person, powens_id=1, token="secret-token")
    sync_connectors([connector_payload(i) for i in range(1, 4)])
    sync_connections(
        powens_user,
        [
            connection_payload(
                100 + i,
                connector_uuid=connector_payload(i % 4 + 1)["uuid"],
                all_accounts=[account_payload((100 + i) * 10 + a, 100 + i) for a in range(2)],
                connector={"id": i % 4 + 1, "name": f"Embedded {i % 4 + 1}"},
            )
            for i in range(count)
        ],
        complete=True,
    )


def test_my_banks_neither_loads_nor_decrypts_the_token(browser, person):
    my_banks(person, 10)
    with (
        CaptureQueriesContext(db_connection) as captured,
        mock.patch.object(fields, "decrypt", side_effect=AssertionError("decrypted")),
    ):
        response = browser.get(reverse("powens:connections"))
    assert response.status_code == 200
    assert not [q for q in captured if '"token"' in q["sql"]]


def test_my_banks_still_shows_an_unknown_bank_by_its_embedded_name(browser, person):
    my_banks(person, 4)  # connector 4 is not in the catalogue
    page = browser.get(reverse("powens:connections")).content.decode()
    assert page.count('class="powens-card"') == 4
    assert "Embedded 4" in page
    assert "Banque Numéro 3" in page
