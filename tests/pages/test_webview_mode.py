"""The pages in webview mode: no credentials form of ours, every link and repair goes
through Powens' Webview, and the callback's errors are told in plain words."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from powens_django import services, sync
from powens_django.models import Connector, LinkState
from tests.factories import connection_payload, connector_payload
from tests.services.helpers import mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def webview(settings):
    settings.POWENS = {**settings.POWENS, "LINK_MODE": "webview"}


@pytest.fixture
def bank(db):
    sync.sync_connectors([connector_payload(2)])
    connector = Connector.objects.get(powens_id=2)
    assert connector.auth_mechanism == "credentials"
    return connector


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def code(powens_api):
    powens_api.add("GET", "auth/token/code", json={"code": "tmp-code", "type": "singleAccess"})


def query(response):
    assert response.status_code == 302, response.content[:300]
    split = urlsplit(response["Location"])
    return split.path, {k: v[0] for k, v in parse_qs(split.query).items()}


def test_a_credentials_bank_shows_no_form_of_ours_but_the_way_to_the_webview(
    as_alice, webview, bank
):
    html = as_alice.get(reverse("powens:connect", args=[bank.uuid])).content.decode()

    assert 'data-action="webview"' in html
    assert 'type="password"' not in html and 'name="login"' not in html


def test_posting_opens_the_webview_on_the_chosen_bank(as_alice, webview, bank, code):
    path, params = query(as_alice.post(reverse("powens:connect", args=[bank.uuid])))

    assert path == "/en/connect/"
    assert params["connector_uuids"] == bank.uuid and params["code"] == "tmp-code"
    assert LinkState.objects.get().connector_uuid == bank.uuid


def test_posted_credentials_are_never_sent_in_webview_mode(
    as_alice, webview, bank, code, powens_api
):
    as_alice.post(
        reverse("powens:connect", args=[bank.uuid]), {"login": "alice", "password": "s3cret"}
    )

    assert not [line for line in powens_api.sent() if "connections" in line]


def test_with_powens_picker_the_picker_leads_to_the_webview(as_alice, webview, settings, code):
    settings.POWENS = {**settings.POWENS, "WEBVIEW_PICKER": "powens"}

    html = as_alice.get(reverse("powens:picker")).content.decode()
    path, params = query(as_alice.post(reverse("powens:webview_connect")))

    assert reverse("powens:webview_connect") in html
    assert path == "/en/connect/" and "connector_uuids" not in params


def test_a_repair_goes_through_the_webview_with_new_credentials_when_needed(
    as_alice, alice, webview, bank, code
):
    mirror(alice, connection_payload(7, state="wrongpass", connector_uuid=bank.uuid))

    page = as_alice.get(reverse("powens:connection_fields", args=[7])).content.decode()
    path, params = query(
        as_alice.post(reverse("powens:connection_reconnect", args=[7]), {"reset_credentials": "1"})
    )

    assert 'type="password"' not in page and 'name="reset_credentials"' in page
    assert path == "/en/reconnect/"
    assert (params["connection_id"], params["reset_credentials"]) == ("7", "true")


def test_another_persons_connection_is_not_found(as_alice, bob, webview, bank):
    mirror(bob, connection_payload(8, connector_uuid=bank.uuid))

    response = as_alice.post(reverse("powens:connection_reconnect", args=[8]))

    assert response.status_code == 404
    assert not LinkState.objects.exists()


def test_my_banks_offers_to_manage_them_in_the_webview(as_alice, alice, webview, bank, code):
    mirror(alice, connection_payload(7, connector_uuid=bank.uuid))

    html = as_alice.get(reverse("powens:connections")).content.decode()
    path, _ = query(as_alice.post(reverse("powens:webview_manage")))

    assert 'data-action="manage"' in html
    assert path == "/en/manage/"


def page(client, bank, source):
    return client.get(reverse("powens:connect", args=[bank.uuid]), {"source": source})


def test_custom_mode_keeps_the_sites_own_form(as_alice, bank):
    html = page(as_alice, bank, "directaccess").content.decode()

    assert 'type="password"' in html and 'data-action="webview"' not in html


def test_mixed_mode_follows_the_login_method_of_the_chosen_source(as_alice, settings, bank):
    settings.POWENS = {**settings.POWENS, "LINK_MODE": {"credentials": "webview"}}

    with_credentials = page(as_alice, bank, "directaccess").content.decode()
    on_the_banks_site = page(as_alice, bank, "openapi").content.decode()

    assert 'data-action="webview"' in with_credentials and 'type="password"' not in with_credentials
    assert 'data-action="webview"' not in on_the_banks_site


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("tos_declined", "did not accept the terms of use"),
        ("session_expired", "expired before the connection was finished"),
        ("server_error", "could not complete the connection"),
        ("something_new", "Your bank could not complete the connection"),
    ],
)
def test_each_webview_error_is_told_in_plain_words(as_alice, alice, webview, error, words):
    _record, state = services.webauth.new_state(alice, session_key=as_alice.session.session_key)

    response = as_alice.get(
        reverse("powens:callback"),
        {"state": state, "error": error, "error_description": "internal: trace 42"},
    )

    html = response.content.decode()
    assert words in html and "trace 42" not in html


def test_a_cancel_in_the_webview_says_nothing_was_connected(as_alice, alice, webview):
    _record, state = services.webauth.new_state(alice, session_key=as_alice.session.session_key)

    html = as_alice.get(
        reverse("powens:callback"), {"state": state, "error": "access_denied"}
    ).content.decode()

    assert "Nothing was connected" in html


@pytest.mark.parametrize("ids", ["9" * 5000, "1,99999999999999999999", str(2**63)])
def test_a_callback_naming_impossible_ids_is_refused_and_spends_nothing(as_alice, alice, ids):
    _record, state = services.webauth.new_state(alice, session_key=as_alice.session.session_key)

    response = as_alice.get(reverse("powens:callback"), {"state": state, "connection_ids": ids})

    assert response.status_code == 400
    assert LinkState.objects.get().used_at is None


def test_back_from_managing_banks_reads_them_again_and_lands_on_my_banks(
    as_alice, alice, webview, powens_api
):
    mirror(alice, connection_payload(7), connection_payload(8))
    _record, state = services.webauth.new_state(alice, session_key=as_alice.session.session_key)
    # At Powens, 8 was deleted during the visit.
    powens_api.add("GET", "users/me/connections", json={"connections": [connection_payload(7)]})

    response = as_alice.get(reverse("powens:callback"), {"state": state})

    assert response.status_code == 302 and response["Location"] == reverse("powens:connections")
    assert list(alice.powens_user.connections.values_list("powens_id", flat=True)) == [7]
    assert LinkState.objects.get().used_at is not None
