"""Connectors and connector sources: readable by anyone, updated with the config token."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from powens_django.sandbox.catalogue import generate_connectors, load_catalogue
from powens_django.sandbox.models import Connector, ConnectorSource

from .conftest import CONFIG_TOKEN, SANDBOX_DB

pytestmark = SANDBOX_DB

ALL_EXPANDS = "fields,sources,countries,urls,payment_fields"


def by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


def test_connectors_are_listed_without_authentication(api, catalogue):
    response = api.get("connectors")

    assert response.status_code == 200
    names = [c["name"] for c in response.json()["connectors"]]
    assert "Connecteur de test" in names
    assert len(names) >= 20


def test_connector_list_validates_against_the_openapi_schema(api, catalogue, schema):
    response = api.get("connectors", params={"expand": ALL_EXPANDS, "all": ""})

    schema("connectors.yml", "ConnectorsList", response.json())


def test_every_connector_carries_every_reference_property(api, catalogue):
    connectors = api.get("connectors", params={"expand": ALL_EXPANDS}).json()["connectors"]

    reference = {
        "id", "uuid", "name", "hidden", "charged", "code", "beta", "color", "slug",
        "sync_frequency", "months_to_fetch", "auth_mechanism", "available_auth_mechanisms",
        "transfer_mechanism", "siret", "restricted", "capabilities", "account_usages",
        "products", "sources", "fields", "payment_fields", "countries", "urls",
    }  # fmt: skip
    source_keys = {
        "id", "id_connector", "name", "auth_mechanism", "available_auth_mechanisms",
        "disabled", "priority", "account_usages",
    }  # fmt: skip
    field_keys = {
        "name", "connector_sources", "auth_mechanisms", "type", "label", "required", "regex",
        "values",
    }  # fmt: skip
    for item in connectors:
        assert set(item) >= reference, item["name"]
        assert item["sources"], item["name"]
        for source in item["sources"]:
            assert set(source) >= source_keys
        for field in item["fields"]:
            assert set(field) >= field_keys


def test_hidden_connectors_are_left_out_unless_all_is_given(api, catalogue):
    visible = by_name(api.get("connectors").json()["connectors"])
    everything = by_name(api.get("connectors?all").json()["connectors"])

    assert "Banque Discrète" not in visible
    assert everything["Banque Discrète"]["hidden"] is True


def test_country_codes_filter_the_list(api, catalogue):
    response = api.get("connectors", params={"country_codes": "de,gb", "expand": "countries"})

    connectors = response.json()["connectors"]
    assert {"Deutsche Sandbox Bank", "Sandbox Bank UK", "Banque Multi-Pays"} <= {
        c["name"] for c in connectors
    }
    for item in connectors:
        assert {"DE", "GB"} & {country["id"] for country in item["countries"]}


def test_expansions_are_absent_unless_asked(api, catalogue):
    item = api.get("connectors").json()["connectors"][0]

    assert not {"fields", "sources", "countries", "urls", "payment_fields"} & set(item)


@pytest.mark.parametrize("route", ["banks", "providers"])
def test_deprecated_routes_answer_with_the_banks_key(api, catalogue, route):
    response = api.get(route, params={"expand": "fields"})

    assert response.status_code == 200
    data = response.json()
    assert "connectors" not in data
    assert len(data["banks"]) == len(api.get("connectors").json()["connectors"])


def test_a_connector_is_found_by_uuid_and_by_deprecated_id(api, test_connector):
    by_uuid = api.get(f"connectors/{test_connector.uuid}", params={"expand": "fields"})
    by_id = api.get(f"connectors/{test_connector.pk}")
    by_bank_alias = api.get(f"banks/{test_connector.pk}")

    assert by_uuid.status_code == by_id.status_code == by_bank_alias.status_code == 200
    assert by_uuid.json()["id"] == by_id.json()["id"] == by_bank_alias.json()["id"]
    assert [f["name"] for f in by_uuid.json()["fields"]] == ["website", "login", "password"]


def test_an_unknown_connector_is_a_404_in_powens_error_format(api, catalogue, schema):
    response = api.get("connectors/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    schema("core.yml", "ServiceError", response.json())
    assert set(response.json()) == {"code", "description", "message", "request_id"}


def test_nested_expansion_with_brackets_is_tolerated(api, test_connector):
    response = api.get(f"connectors/{test_connector.uuid}", params={"expand": "fields[values]"})

    assert response.status_code == 200
    assert "fields" in response.json()


# -- the shipped catalogue ------------------------------------------------------------


def test_the_test_connector_has_powens_sandbox_fields(api, test_connector):
    fields = api.get(f"connectors/{test_connector.uuid}?expand=fields").json()["fields"]

    website, login, password = fields
    assert website["type"] == "list"
    assert website["values"] == [
        {"value": "par", "label": "Particuliers"},
        {"value": "pro", "label": "Professionnels"},
    ]
    assert (login["label"], login["type"]) == ("Identifiant", "text")
    assert (password["label"], password["type"]) == ("Mot de passe", "password")


def test_catalogue_exercises_every_field_type_and_mechanism(shipped):
    types = {f["type"] for c in shipped for f in c["fields"]}
    mechanisms = {c["auth_mechanism"] for c in shipped}
    countries = {country for c in shipped for country in c["countries"]}

    assert types == {"text", "password", "date", "list", "number"}
    assert mechanisms == {"credentials", "webauth"}
    assert {"FR", "DE", "ES", "IT", "GB"} <= countries
    assert any(c["hidden"] for c in shipped)
    assert any(c["beta"] for c in shipped)
    assert any(c["restricted"] for c in shipped)
    assert any(c["charged"] for c in shipped)
    assert any(not f["required"] for c in shipped for f in c["fields"])
    assert any(f["connector_sources"] for c in shipped for f in c["fields"])


def test_catalogue_has_pcre_regexes_python_re_cannot_read(shipped):
    regexes = [f["regex"] for c in shipped for f in c["fields"] if f["regex"]]

    assert any(r"\p{L}" in r for r in regexes)
    assert any("[[:digit:]]" in r for r in regexes)

    def re_rejects(pattern: str) -> bool:
        try:
            re.compile(pattern)
        except re.error:
            return True
        return False

    assert any(re_rejects(r) for r in regexes)


def test_multi_source_connector_lists_sources_by_priority(api, catalogue):
    row = catalogue["Crédit Régional Multisource"]

    sources = api.get(f"connectors/{row.uuid}/sources").json()["sources"]

    assert [(s["name"], s["auth_mechanism"], s["priority"]) for s in sources] == [
        ("openapi", "webauth", 1),
        ("directaccess", "credentials", 2),
        ("legacy", "credentials", 3),
    ]
    assert sources[2]["disabled"] is not None


def test_pay_connector_has_full_payment_settings(api, catalogue):
    row = catalogue["Sandbox Pay"]

    data = api.get(f"connectors/{row.uuid}", params={"expand": "payment_fields"}).json()

    assert "pay" in data["products"]
    assert set(data["payment_settings"]) >= {
        "available_validate_mechanisms", "beneficiary_types", "execution_date_types",
        "execution_frequencies", "maximum_number_of_instructions", "providing_payer_account",
        "partial_status_tracking", "is_app_to_app_used", "bank_provides_payer_account",
        "bank_provides_payer_label", "transfer_date_types_where_trusted_beneficiary_required",
        "cancellation_available", "minimum_amount", "maximum_amount",
        "minimum_date_delta_days", "maximum_date_delta_days",
    }  # fmt: skip
    assert data["payment_fields"][0]["name"] == "payer_iban"


def test_id_payment_lists_pay_connectors_only(api, catalogue):
    connectors = api.get("connectors", params={"id_payment": "42"}).json()["connectors"]

    assert [c["name"] for c in connectors] == ["Sandbox Pay"]


# -- connector sources ----------------------------------------------------------------


def test_a_connector_source_is_read_by_id(api, catalogue, schema):
    row = catalogue["Banque Hybride"]
    source = row.sources.get(name="directaccess")

    response = api.get(f"connectors/{row.uuid}/sources/{source.pk}")

    assert response.status_code == 200
    schema("connectors.yml", "ConnectorSource", response.json())
    assert response.json()["available_auth_mechanisms"] == ["credentials", "webauth"]


def test_a_source_of_another_connector_is_a_404(api, catalogue):
    other = catalogue["Banque Hybride"].sources.first()

    response = api.get(f"connectors/{catalogue['Connecteur de test'].uuid}/sources/{other.pk}")

    assert response.status_code == 404


def test_source_list_is_empty_for_another_country(api, test_connector):
    response = api.get(f"connectors/{test_connector.uuid}/sources", params={"country_codes": "DE"})

    assert response.json() == {"sources": []}


# -- updates with the configuration token ---------------------------------------------


def test_updating_a_connector_needs_a_token(api, test_connector, schema):
    response = api.put(f"connectors/{test_connector.uuid}", json={"hidden": True})

    assert response.status_code == 401
    schema("core.yml", "ServiceError", response.json())
    assert not Connector.objects.get(pk=test_connector.pk).hidden


def test_a_user_token_cannot_update_a_connector(api, test_connector, user):
    response = api.put(f"connectors/{test_connector.uuid}", token=user.token, json={"hidden": True})

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_an_unknown_token_cannot_update_a_connector(api, test_connector):
    response = api.put(f"connectors/{test_connector.uuid}", token="nope", json={"hidden": True})

    assert response.status_code == 401


def test_the_config_token_hides_a_connector(api, test_connector, schema):
    response = api.put(
        f"connectors/{test_connector.uuid}", token=CONFIG_TOKEN, json={"hidden": True}
    )

    assert response.status_code == 200
    schema("connectors.yml", "Connector", response.json())
    assert response.json()["hidden"] is True
    assert "Connecteur de test" not in by_name(api.get("connectors").json()["connectors"])


def test_sync_periodicity_is_accepted_form_encoded(api, test_connector):
    response = api.put(
        f"connectors/{test_connector.pk}", token=CONFIG_TOKEN, data={"sync_periodicity": "2.5"}
    )

    assert response.status_code == 200
    assert response.json()["sync_frequency"] == 2.5


def test_an_update_without_changes_is_refused(api, test_connector):
    response = api.put(f"connectors/{test_connector.uuid}", token=CONFIG_TOKEN, json={})

    assert response.status_code == 400
    assert response.json()["code"] == "missingParameter"


def test_patch_hides_and_shows_connectors_in_batch(api, catalogue, schema):
    a, b = catalogue["Banco Sandbox"], catalogue["Sandbox Bank UK"]

    response = api.patch(
        "connectors",
        token=CONFIG_TOKEN,
        json={str(a.uuid): {"hidden": True}, str(b.uuid): {"hidden": False}},
    )

    assert response.status_code == 200
    schema("connectors.yml", "ConnectorsList", response.json())
    assert {c["name"]: c["hidden"] for c in response.json()["connectors"]} == {
        "Banco Sandbox": True,
        "Sandbox Bank UK": False,
    }


def test_deprecated_batch_put_by_ids(api, catalogue):
    a, b = catalogue["Banco Sandbox"], catalogue["Sandbox Bank UK"]

    response = api.put(f"connectors/{a.pk},{b.pk}", token=CONFIG_TOKEN, json={"hidden": True})

    assert response.status_code == 200
    assert [c["hidden"] for c in response.json()["connectors"]] == [True, True]


def test_a_connector_source_is_disabled_and_enabled(api, catalogue):
    row = catalogue["Banque Hybride"]
    source = row.sources.get(name="directaccess")
    path = f"connectors/{row.uuid}/sources/{source.pk}"

    disabled = api.put(path, token=CONFIG_TOKEN, json={"disabled": "2030-01-02 03:04:05"})
    enabled = api.put(path, token=CONFIG_TOKEN, json={"disabled": None})

    assert disabled.json()["disabled"] == "2030-01-02 03:04:05"
    assert enabled.json()["disabled"] is None


def test_a_connector_source_mechanism_must_be_one_it_offers(api, catalogue):
    row = catalogue["Banque Hybride"]
    source = row.sources.get(name="directaccess")
    path = f"connectors/{row.uuid}/sources/{source.pk}"

    accepted = api.put(path, token=CONFIG_TOKEN, json={"auth_mechanism": "webauth"})
    refused = api.put(path, token=CONFIG_TOKEN, json={"auth_mechanism": "telepathy"})

    assert accepted.json()["auth_mechanism"] == "webauth"
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalidValue"


def test_updating_a_source_needs_the_config_token(api, catalogue, user):
    row = catalogue["Banque Hybride"]
    source = row.sources.first()

    response = api.put(
        f"connectors/{row.uuid}/sources/{source.pk}", token=user.token, json={"disabled": True}
    )

    assert response.status_code == 403
    assert ConnectorSource.objects.get(pk=source.pk).disabled is None


# -- queries --------------------------------------------------------------------------


def _count_listing_queries(count: int) -> tuple[int, int]:
    Connector.objects.all().delete()
    generate_connectors(count)
    client = Client()
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get("/sandbox/2.0/connectors", {"expand": "fields,sources,countries"})
    assert response.status_code == 200
    return len(queries), len(response.json()["connectors"])


@pytest.mark.django_db
def test_listing_connectors_takes_the_same_queries_for_50_and_500():
    small, small_count = _count_listing_queries(50)
    large, large_count = _count_listing_queries(500)

    assert (small_count, large_count) == (50, 500)
    assert small == large <= 3


@pytest.mark.django_db
def test_generated_connectors_have_three_sources_and_five_fields():
    generate_connectors(3)

    for row in Connector.objects.filter(synthetic=True):
        assert row.sources.count() == 3
        assert len(row.fields) == 5


@pytest.mark.django_db
def test_loading_the_catalogue_twice_changes_nothing(shipped):
    assert load_catalogue() == (len(shipped), 0)
    sources = ConnectorSource.objects.count()

    assert load_catalogue() == (0, 0)  # nothing changed: nothing counted as updated
    assert Connector.objects.count() == len(shipped)
    assert ConnectorSource.objects.count() == sources
