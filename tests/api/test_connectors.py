"""The catalogue over the API: search the banks a person may link, and how to link one."""

from __future__ import annotations

import pytest

from .conftest import API, CREDENTIALS_BANK, WEBAUTH_BANK

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [c["name"] for c in response.json()["results"]]


def test_the_list_offers_connectable_banks_by_name(api, catalogue):
    response = api.get(API + "connectors/")

    assert response.status_code == 200
    assert names(response) == ["Banque Populaire", "Crédit Agricole"]
    first = response.json()["results"][0]
    assert first["uuid"] == CREDENTIALS_BANK
    assert first["countries"] == ["FR"]


def test_the_search_ignores_case_and_accents(api, catalogue):
    assert names(api.get(API + "connectors/", {"q": "CREDIT agri"})) == ["Crédit Agricole"]


def test_the_country_filter_keeps_that_countrys_banks(api, catalogue, settings):
    # connector 3 (Spain too) is hidden: no Spanish bank is offered.
    assert names(api.get(API + "connectors/", {"country": "es"})) == []
    assert len(names(api.get(API + "connectors/", {"country": "FR"}))) == 2


def test_the_list_is_paginated(api, catalogue, settings):
    settings.POWENS = {**settings.POWENS, "PICKER_PAGE_SIZE": 1}

    first = api.get(API + "connectors/").json()
    second = api.get(API + "connectors/", {"page": 2}).json()

    assert first["count"] == 2
    assert [c["name"] for c in first["results"]] == ["Banque Populaire"]
    assert [c["name"] for c in second["results"]] == ["Crédit Agricole"]
    assert second["next"] is None


@pytest.mark.parametrize(
    "query",
    [{"country": "FRA"}, {"q": "x" * 101}, {"q": "bad\x00"}, {"page": 9}, {"page": "x"}],
    ids=["country", "long-query", "nul", "page-out-of-range", "page-not-a-number"],
)
def test_a_bad_query_is_refused_clearly(api, catalogue, query):
    response = api.get(API + "connectors/", query)

    assert response.status_code in (400, 404)
    assert response.json()["code"] in ("invalid", "not_found")
    assert response.json()["message"]


def test_a_person_the_site_does_not_let_link_gets_403(api, catalogue, alice):
    alice.is_active = False  # the default adapter refuses inactive users
    alice.save()
    api.force_authenticate(alice)

    response = api.get(API + "connectors/")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


def test_the_countries_of_the_banks_offered(api, catalogue):
    assert api.get(API + "connectors/countries/").json() == ["FR"]


def test_the_detail_gives_the_form_of_a_credentials_source(api, catalogue):
    response = api.get(API + f"connectors/{CREDENTIALS_BANK}/", {"source": "directaccess"})

    assert response.status_code == 200
    body = response.json()
    assert body["login"] == "credentials"
    assert body["source"] == "directaccess"
    assert [s["name"] for s in body["sources"]] == ["openapi", "directaccess", "fallback"]
    fields = {f["name"]: f for f in body["fields"]}
    assert [f["type"] for f in body["fields"]] == ["text", "password", "date", "list", "number"]
    assert fields["field0"]["required"] is True
    assert fields["field3"]["values"] == [{"value": "a", "label": "A"}]


def test_the_detail_of_a_website_bank_asks_no_fields(api, catalogue):
    body = api.get(API + f"connectors/{WEBAUTH_BANK}/").json()

    assert body["login"] == "webauth"
    assert body["fields"] == []


def test_a_field_pattern_and_an_unknown_type_are_given_as_the_form_reads_them(api, db):
    from powens_django import sync

    from ..factories import connector_payload

    payload = connector_payload(4, sources=1)
    payload["sources"][0]["auth_mechanism"] = "credentials"
    payload["fields"] = [
        {"name": "login", "type": "text", "regex": "^[0-9]{8}$", "label": "Identifiant"},
        {"name": "mood", "type": "emoji", "label": "Humeur"},
        {"name": "kind", "type": "list", "values": []},
    ]
    sync.sync_connectors([payload])

    fields = api.get(API + f"connectors/{payload['uuid']}/").json()["fields"]

    assert fields[0]["regex"] == "^[0-9]{8}$"
    assert fields[1]["type"] == "emoji"  # rendered as text, as documented
    assert fields[2]["type"] == "text"  # a list without values cannot be answered


@pytest.mark.parametrize(
    "uuid",
    ["00000000-0000-4000-8000-000000000003", "nope", "x" * 65],
    ids=["hidden", "unknown", "too-long"],
)
def test_a_bank_not_offered_is_not_found(api, catalogue, uuid):
    response = api.get(API + f"connectors/{uuid}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_source_is_refused(api, catalogue):
    response = api.get(API + f"connectors/{CREDENTIALS_BANK}/", {"source": "nope"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"source": ["This bank has no such source."]}
