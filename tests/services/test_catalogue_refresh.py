"""``refresh_catalogue``: the connectors Powens lists, mirrored with their fields,
sources and countries; a failure leaves the previous catalogue as it was."""

from __future__ import annotations

import pytest
import requests

from powens_django import services, sync
from powens_django.models import Connector, ConnectorSource

from ..factories import connector_payload
from .helpers import BUG, authorization, catalogue, uuid

pytestmark = pytest.mark.django_db


def test_the_catalogue_is_fetched_with_fields_sources_and_countries(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    result = services.refresh_catalogue()

    assert powens_api.sent() == ["GET connectors?expand=fields,sources,countries&all"]
    assert authorization(powens_api) is None
    assert (result.created, result.updated, result.removed) == (1, 0, 0)
    connector = Connector.objects.get(uuid=uuid(1))
    assert connector.name == "Banque Numéro 1"
    assert len(connector.fields) == 5
    assert list(connector.sources.values_list("name", flat=True)) == [
        "openapi",
        "directaccess",
        "fallback",
    ]
    assert list(connector.countries.values_list("code", flat=True)) == ["FR"]


def test_a_full_refresh_removes_connectors_powens_no_longer_lists(powens_api):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    result = services.refresh_catalogue()

    assert result.removed == 1
    assert list(catalogue()) == [uuid(1)]
    assert not ConnectorSource.objects.filter(connector__uuid=uuid(2)).exists()


def test_a_country_filter_is_sent_upper_cased_and_removes_nothing(powens_api):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(3)]})

    result = services.refresh_catalogue(country_codes=["fr", " es ", ""])

    assert powens_api.sent() == [
        "GET connectors?country_codes=FR,ES&expand=fields,sources,countries&all"
    ]
    assert (result.created, result.removed) == (1, 0)
    assert sorted(catalogue()) == [uuid(1), uuid(2), uuid(3)]


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": BUG},
        {"body": requests.ReadTimeout("read timed out")},
        {"json": {"unexpected": []}},
    ],
    ids=["500", "timeout", "malformed"],
)
def test_a_failed_catalogue_refresh_leaves_the_previous_catalogue_intact(powens_api, answer):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    before = catalogue()
    powens_api.add("GET", "connectors", **answer)

    with pytest.raises(services.PowensUnavailable):
        services.refresh_catalogue()

    assert catalogue() == before
    assert ConnectorSource.objects.count() == 6


def test_a_country_list_given_as_one_string_is_split(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": []})

    services.refresh_catalogue(country_codes="fr, es")

    assert powens_api.query()["country_codes"] == "FR,ES"


def test_hidden_connectors_are_mirrored_marked_hidden_and_offered_to_nobody(powens_api):
    powens_api.add(
        "GET",
        "connectors",
        json={"connectors": [connector_payload(1), connector_payload(2, hidden=True)]},
    )

    services.refresh_catalogue()

    assert Connector.objects.get(uuid=uuid(2)).hidden is True
    assert list(services.connectable_connectors().values_list("uuid", flat=True)) == [uuid(1)]
