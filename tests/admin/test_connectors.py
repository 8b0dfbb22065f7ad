"""The connectors screen: the catalogue as mirrored, and what staff change at Powens
with the configuration token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django import sync
from powens_django.models import Connector, ConnectorSource

from ..factories import connector_payload
from .conftest import action, change, changelist, messages_of

pytestmark = pytest.mark.django_db

EXPANDED = "expand=fields,sources,countries"


@pytest.fixture
def catalogue(db):
    """Three connectors: 1 (webauth, FR), 2 (credentials, FR, hidden), 3 (webauth,
    FR and ES, restricted, products bank and pay)."""
    sync.sync_connectors(
        [
            connector_payload(1),
            connector_payload(2, hidden=True, slug="hidden-bank"),
            connector_payload(3, restricted=True, products=["bank", "pay"]),
        ]
    )
    return {c.powens_id: c for c in Connector.objects.all()}


def names(response) -> list[str]:
    return sorted(c.name for c in response.context["cl"].result_list)


def test_the_list_shows_what_a_connector_is(admin_client, catalogue):
    response = admin_client.get(changelist("connector"))

    html = response.content.decode()
    assert names(response) == ["Banque Numéro 1", "Banque Numéro 2", "Banque Numéro 3"]
    assert "ES, FR" in html
    assert "Log in on your bank&#x27;s website (webauth)" in html
    assert "bank, pay" in html
    assert "Refresh the catalogue from Powens" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"hidden__exact": "1"}, ["Banque Numéro 2"]),
        ({"restricted__exact": "1"}, ["Banque Numéro 3"]),
        ({"country": "ES"}, ["Banque Numéro 3"]),
        ({"product": "pay"}, ["Banque Numéro 3"]),
        ({"auth_mechanism": "credentials"}, ["Banque Numéro 2"]),
        ({"q": "hidden-bank"}, ["Banque Numéro 2"]),
        ({"q": "numéro 3"}, ["Banque Numéro 3"]),
        ({"q": connector_payload(1)["uuid"]}, ["Banque Numéro 1"]),
    ],
)
def test_filters_and_search(admin_client, catalogue, query, expected):
    assert names(admin_client.get(changelist("connector"), query)) == expected


def test_the_detail_lists_the_sources_with_their_controls(admin_client, catalogue):
    html = admin_client.get(change("connector", catalogue[1].pk)).content.decode()

    assert "openapi" in html and "directaccess" in html and "fallback" in html
    assert html.count('name="enabled" value="0"') == 3
    assert 'name="_save"' not in html


def test_refreshing_the_catalogue(admin_client, catalogue, powens_api):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    response = admin_client.post(reverse("admin:powens_django_connector_refresh"), follow=True)

    assert list(Connector.objects.values_list("powens_id", flat=True)) == [1]
    assert messages_of(response) == [
        "Catalogue refreshed: 0 added, 0 updated, 2 removed, 1 unchanged."
    ]


def test_a_catalogue_refresh_during_an_outage_changes_nothing(admin_client, catalogue, powens_api):
    powens_api.add("GET", "connectors", status=503, json={"code": "bug"})

    response = admin_client.post(reverse("admin:powens_django_connector_refresh"), follow=True)

    assert response.status_code == 200
    assert Connector.objects.count() == 3
    assert "could not reach" in messages_of(response)[0]


def test_the_refresh_takes_no_get(admin_client, catalogue):
    assert admin_client.get(reverse("admin:powens_django_connector_refresh")).status_code == 405


def test_hiding_at_powens_sends_the_config_token_then_mirrors_it(
    admin_client, catalogue, powens_api
):
    uuid = catalogue[1].uuid
    powens_api.add("PUT", f"connectors/{uuid}", json=connector_payload(1, hidden=True))
    powens_api.add("GET", f"connectors/{uuid}", json=connector_payload(1, hidden=True))

    response = action(admin_client, "connector", "hide_at_powens", [catalogue[1]])

    assert powens_api.requests[0].headers["Authorization"] == "Bearer test-config-token"
    assert powens_api.body(0) == {"hidden": True}
    assert powens_api.sent()[1] == f"GET connectors/{uuid}?{EXPANDED}"
    assert Connector.objects.get(powens_id=1).hidden is True
    assert messages_of(response) == ["Banque Numéro 1: hidden at Powens."]


def test_showing_again_goes_on_after_a_failure(admin_client, catalogue, powens_api):
    one, two = catalogue[1].uuid, catalogue[2].uuid
    powens_api.add("PUT", f"connectors/{one}", status=500, json={"code": "bug"})
    powens_api.add("PUT", f"connectors/{two}", json=connector_payload(2))
    powens_api.add("GET", f"connectors/{two}", json=connector_payload(2))

    response = action(admin_client, "connector", "unhide_at_powens", [catalogue[1], catalogue[2]])

    assert Connector.objects.get(powens_id=2).hidden is False
    assert sorted(messages_of(response)) == [
        "Banque Numéro 1: not done. We could not reach the bank connection service. "
        "Please try again shortly.",
        "Banque Numéro 2: shown again at Powens.",
    ]


def test_a_change_not_read_back_is_a_warning_not_a_failure(admin_client, catalogue, powens_api):
    uuid = catalogue[1].uuid
    powens_api.add("PUT", f"connectors/{uuid}", json=connector_payload(1, hidden=True))
    powens_api.add("GET", f"connectors/{uuid}", status=503, json={"code": "bug"})

    response = action(admin_client, "connector", "hide_at_powens", [catalogue[1]])

    [message] = response.context["messages"]
    assert message.level_tag == "warning"
    assert str(message) == (
        "Banque Numéro 1: Changed at Powens, but reading it back failed: refresh the "
        "catalogue to see the change here."
    )


def test_without_a_config_token_nothing_is_sent(admin_client, catalogue, powens_api, settings):
    settings.POWENS = {**settings.POWENS, "CONFIG_TOKEN": None}

    response = action(admin_client, "connector", "hide_at_powens", [catalogue[1]])

    assert powens_api.requests == []
    assert Connector.objects.get(powens_id=1).hidden is False
    assert "configuration token" in messages_of(response)[0]


def source_url(connector: Connector, source_id) -> str:
    return reverse("admin:powens_django_connector_source", args=[connector.pk, source_id])


def test_disabling_a_source_at_powens(admin_client, catalogue, powens_api):
    uuid = catalogue[1].uuid
    payload = connector_payload(1)
    payload["sources"][1]["disabled"] = "2026-12-01 10:00:00"
    powens_api.add("PUT", f"connectors/{uuid}/sources/11", json=payload["sources"][1])
    powens_api.add("GET", f"connectors/{uuid}", json=payload)

    response = admin_client.post(source_url(catalogue[1], 11), {"enabled": "0"}, follow=True)

    assert powens_api.requests[0].headers["Authorization"] == "Bearer test-config-token"
    assert powens_api.body(0)["disabled"] is not None
    assert ConnectorSource.objects.get(powens_id=11).disabled is not None
    assert messages_of(response) == ["Source “directaccess” disabled."]


def test_changing_a_source_login_method(admin_client, powens_api, db):
    payload = connector_payload(1)
    payload["sources"][0]["available_auth_mechanisms"] = ["webauth", "credentials"]
    sync.sync_connectors([payload])
    connector = Connector.objects.get(powens_id=1)
    changed = connector_payload(1)
    changed["sources"][0].update(
        auth_mechanism="credentials", available_auth_mechanisms=["webauth", "credentials"]
    )
    powens_api.add("PUT", f"connectors/{connector.uuid}/sources/10", json=changed["sources"][0])
    powens_api.add("GET", f"connectors/{connector.uuid}", json=changed)

    page = admin_client.get(change("connector", connector.pk)).content.decode()
    response = admin_client.post(
        source_url(connector, 10),
        {"change": "auth_mechanism", "auth_mechanism_10": "credentials"},
        follow=True,
    )

    assert 'name="auth_mechanism_10"' in page
    assert powens_api.body(0) == {"auth_mechanism": "credentials"}
    assert ConnectorSource.objects.get(powens_id=10).auth_mechanism == "credentials"
    assert messages_of(response) == [
        "Source “openapi” now uses Credentials entered here (credentials)."
    ]


@pytest.mark.parametrize(
    ("source_id", "data", "message"),
    [
        (10, {"change": "auth_mechanism", "auth_mechanism_10": "carrier-pigeon"}, "does not offer"),
        (10, {"change": "auth_mechanism"}, "does not offer"),
        (10, {"enabled": "perhaps"}, "Say what to change"),
        (999, {"enabled": "1"}, "This source does not exist."),
        ("abc", {"enabled": "1"}, "This source does not exist."),
    ],
)
def test_a_bad_source_request_changes_nothing(
    admin_client, catalogue, powens_api, source_id, data, message
):
    before = list(ConnectorSource.objects.order_by("pk").values())

    response = admin_client.post(source_url(catalogue[1], source_id), data, follow=True)

    assert message in messages_of(response)[0]
    assert list(ConnectorSource.objects.order_by("pk").values()) == before
    assert powens_api.requests == []


def test_nobody_adds_edits_or_deletes_a_connector_by_hand(admin_client, catalogue):
    url = change("connector", catalogue[1].pk)

    assert admin_client.get(changelist("connector") + "add/").status_code == 403
    assert admin_client.post(url, {"name": "Renamed"}).status_code == 403
    admin_client.post(url + "delete/", {"post": "yes"})
    assert Connector.objects.get(powens_id=1).name == "Banque Numéro 1"
