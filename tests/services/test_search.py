"""The catalogue as people see it: search, countries, connectable banks, and the
sources, login method and fields to offer for one bank."""

from __future__ import annotations

import pytest

from powens_django import services, sync
from powens_django.models import Connector

from ..factories import connector_payload

pytestmark = pytest.mark.django_db


def names(queryset) -> list[str]:
    return [c.name for c in queryset]


@pytest.fixture
def catalogue():
    sync.sync_connectors(
        [
            connector_payload(1, name="Crédit Agricole", countries=[{"id": "FR"}]),
            connector_payload(2, name="CREDIT du Nord", countries=[{"id": "FR"}, {"id": "BE"}]),
            connector_payload(3, name="Banco Crédito", countries=[{"id": "ES"}]),
            connector_payload(4, name="Crédit Caché", hidden=True, countries=[{"id": "DE"}]),
            connector_payload(5, name="Crédit Réservé", restricted=True, countries=[{"id": "IT"}]),
        ]
    )


def test_search_ignores_case_and_accents_and_orders_by_name(catalogue):
    assert names(services.search_connectors("credit")) == [
        "Banco Crédito",
        "Crédit Agricole",
        "CREDIT du Nord",
    ]
    assert names(services.search_connectors("  CRÉDIT du ")) == ["CREDIT du Nord"]
    assert names(services.search_connectors("credito")) == ["Banco Crédito"]


def test_search_filters_by_country(catalogue):
    assert names(services.search_connectors(country="be")) == ["CREDIT du Nord"]
    assert names(services.search_connectors("cred", country="ES")) == ["Banco Crédito"]
    assert names(services.search_connectors(country="XX")) == []


def test_hidden_and_restricted_banks_are_never_offered(catalogue):
    everything = names(services.search_connectors())

    assert "Crédit Caché" not in everything
    assert "Crédit Réservé" not in everything
    assert len(everything) == 3
    assert services.catalogue_countries() == ["BE", "ES", "FR"]


def test_the_search_is_a_lazy_queryset_that_pages(catalogue, django_assert_num_queries):
    with django_assert_num_queries(0):
        found = services.search_connectors("credit")
    with django_assert_num_queries(1):
        assert [c.name for c in found[:1]] == ["Banco Crédito"]


@pytest.mark.parametrize("name", ["Crédit Caché", "Crédit Réservé"])
def test_a_connector_that_cannot_be_connected_is_not_found(catalogue, name):
    uuid = Connector.objects.get(name=name).uuid

    with pytest.raises(services.NotFound):
        services.get_connectable_connector(uuid)
    with pytest.raises(services.ConnectorUnavailable):
        services.check_connectable(Connector.objects.get(name=name))


def test_options_offer_enabled_sources_by_priority_and_the_first_by_default(catalogue):
    connector = Connector.objects.get(powens_id=1)
    connector.sources.filter(name="fallback").update(disabled="2026-01-01T00:00:00Z")

    options = services.connect_options(services.get_connectable_connector(connector.uuid))

    assert [s.name for s in options.sources] == ["openapi", "directaccess"]
    assert options.choose_source is True
    assert (options.source_name, options.mechanism, options.supported) == (
        "openapi",
        "webauth",
        True,
    )
    assert options.fields == []


def test_options_for_a_credentials_source_give_its_fields(catalogue):
    connector = services.get_connectable_connector(Connector.objects.get(powens_id=1).uuid)

    options = services.connect_options(connector, source="directaccess")

    assert (options.source_name, options.mechanism) == ("directaccess", "credentials")
    assert [f["name"] for f in options.fields] == [f"field{i}" for i in range(5)]


def test_an_unknown_source_name_falls_back_to_the_best_one(catalogue):
    connector = services.get_connectable_connector(Connector.objects.get(powens_id=1).uuid)

    assert services.connect_options(connector, source="nope").source_name == "openapi"


def test_a_login_method_this_app_cannot_run_is_not_supported(catalogue):
    sync.sync_connectors([connector_payload(6, sources=0, auth_mechanism="embedded")], prune=False)
    connector = services.get_connectable_connector(Connector.objects.get(powens_id=6).uuid)

    options = services.connect_options(connector)

    assert (options.source, options.mechanism, options.supported) == (None, "embedded", False)


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("fr,es", ["FR", "ES"]),
        (" fr , ,ES, fr ", ["FR", "ES"]),
        (["de", "DE", " it "], ["DE", "IT"]),
        ("", []),
        (None, []),
    ],
)
def test_country_codes_are_parsed_once_for_every_caller(value, codes):
    assert services.parse_country_codes(value) == codes
