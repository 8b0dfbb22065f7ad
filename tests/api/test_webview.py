"""The API in webview mode (``POWENS["LINK_MODE"] = "webview"``, docs/webview.md): links
lead to Powens' Webview, repairs too, and nothing is typed on the site, as the pages do."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from powens_django.models import Connection, LinkState

from ..factories import connection_payload
from .conftest import API, CREDENTIALS_BANK, WEBAUTH_BANK, basic_client, connection, mirror

pytestmark = pytest.mark.django_db

WEBVIEW = "https://webview.powens.com"


@pytest.fixture
def webview(settings, powens_api):
    """Webview mode; Powens hands out a temporary code per visit."""
    settings.POWENS = {**settings.POWENS, "LINK_MODE": "webview"}
    powens_api.add("GET", "auth/token/code", json={"code": "temp-code", "type": "singleAccess"})
    powens_api.mock.assert_all_requests_are_fired = False
    return powens_api


def query(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, {k: v[0] for k, v in parse_qs(split.query).items()}


def test_a_bank_says_it_is_linked_on_the_webview(api, catalogue, webview):
    body = api.get(API + f"connectors/{CREDENTIALS_BANK}/", {"source": "directaccess"}).json()

    assert body["login"] == "webview"
    assert body["sources"][1]["label"] == "With your login details"


@pytest.mark.parametrize("uuid", [WEBAUTH_BANK, CREDENTIALS_BANK])
def test_a_link_leads_to_the_webview_whatever_the_login_method(api, catalogue, webview, uuid):
    response = api.post(API + "webauth/", {"connector": uuid}, format="json")

    assert response.status_code == 201
    path, params = query(response.json()["url"])
    assert path == "/en/connect/"
    assert response.json()["url"].startswith(WEBVIEW)
    assert params["connector_uuids"] == uuid
    assert params["code"] == "temp-code"
    assert LinkState.objects.get().state_hash  # a state bound to the person


def test_credentials_are_not_typed_on_the_site(api, catalogue, webview):
    body = {"connector": CREDENTIALS_BANK, "source": "directaccess", "values": {}}

    response = api.post(API + "connections/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "connector_unavailable"
    assert webview.sent() == []


@pytest.mark.parametrize("flow", ["connect", "manage"])
def test_the_webview_picker_and_manager(api, webview, alice, flow):
    response = api.post(API + "webview/", {"flow": flow, "next": "/dash/"}, format="json")

    assert response.status_code == 201
    path, params = query(response.json()["url"])
    assert path == f"/en/{flow}/"
    assert "connector_uuids" not in params
    assert LinkState.objects.get(user=alice).next_url == "/dash/"


@pytest.mark.parametrize(
    "body", [{}, {"flow": "reconnect"}, {"flow": "connect", "next": "https://evil.example/"}]
)
def test_a_bad_webview_request_is_refused_and_records_nothing(api, webview, body):
    response = api.post(API + "webview/", body, format="json")

    assert response.status_code == 400
    assert not LinkState.objects.exists()
    assert webview.sent() == []


def test_an_app_client_visit_is_bound_to_the_user_only(alice, webview):
    basic_client(alice).post(API + "webview/", {"flow": "connect"}, format="json")

    assert LinkState.objects.get().session_hash == ""


def test_a_webview_callback_finishes_the_link(api, catalogue, webview):
    link = api.post(API + "webview/", {"flow": "connect"}, format="json").json()["url"]
    state = query(link)[1]["state"]
    webview.add_connection_fetch(connection_payload(7))

    response = api.post(API + "callback/", {"state": state, "connection_id": "7"}, format="json")

    assert response.json()["kind"] == "connected"
    assert Connection.objects.filter(powens_id=7).exists()


@pytest.mark.parametrize("state", ["wrongpass", "additionalInformationNeeded", "SCARequired"])
def test_every_repair_goes_through_the_webview(api, alice, catalogue, webview, state):
    mirror(alice, connection_payload(8, connector_uuid=CREDENTIALS_BANK, state=state))

    response = api.post(API + "connections/8/reconnect/", {}, format="json")

    assert response.status_code == 201
    path, params = query(response.json()["url"])
    assert path == "/en/reconnect/"
    assert params["connection_id"] == "8"
    # New credentials are asked when the state calls for them.
    assert params.get("reset_credentials") == ("true" if state == "wrongpass" else None)


def test_new_credentials_can_be_asked_for_explicitly(api, alice, catalogue, webview):
    mirror(alice, connection_payload(8, state="SCARequired"))

    response = api.post(
        API + "connections/8/reconnect/", {"reset_credentials": True}, format="json"
    )

    assert query(response.json()["url"])[1]["reset_credentials"] == "true"


def test_an_up_to_date_connection_needs_no_repair(api, alice, catalogue, webview):
    mirror(alice, connection_payload(8))

    response = api.post(API + "connections/8/reconnect/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_offered"
    assert webview.sent() == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_nothing_is_typed_on_the_site_for_a_repair(api, alice, catalogue, webview, method):
    otp = {"name": "otp", "type": "text"}
    mirror(alice, connection_payload(8, state="additionalInformationNeeded", fields=[otp]))

    response = getattr(api, method)(
        API + "connections/8/fields/", {"values": {"otp": "1"}}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "use_webview"
    assert webview.sent() == []
    assert connection(8).state == "additionalInformationNeeded"
