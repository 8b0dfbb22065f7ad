"""Linking a bank over the API: a web authorization link, its callback, and a
connection from credentials checked with the pages' form rules."""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from powens_django.models import Connection, LinkState

from ..factories import connection_payload
from .conftest import API, CREDENTIALS_BANK, WEBAUTH_BANK, basic_client

pytestmark = pytest.mark.django_db

BANK_URL = "https://webview.test.example/auth?session=abc"
PASSWORD = "hunter2-Very-Secret"
VALUES = {"field0": "alice", "field1": PASSWORD, "field2": "2020-01-31", "field3": "a"}


def start(client, powens_api, **body) -> dict:
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
    response = client.post(API + "webauth/", {"connector": WEBAUTH_BANK, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def sent_state(powens_api) -> str:
    return powens_api.query(0)["state"]


def test_a_webauth_link_is_the_url_powens_gives(api, catalogue, powens_api):
    body = start(api, powens_api)

    assert body == {"url": BANK_URL, "expires_in": 1800} or body["url"] == BANK_URL
    query = powens_api.query(0)
    assert query["id_connector"] == "1"
    assert query["redirect_uri"] == "http://testserver/banks/callback/"


def test_the_state_is_bound_to_the_user_and_the_session_of_a_browser(
    api, catalogue, powens_api, alice
):
    start(api, powens_api)

    record = LinkState.objects.get()
    assert record.user == alice
    assert record.session_hash  # bound to the browser's session


def test_the_state_of_an_app_client_is_bound_to_the_user_only(alice, catalogue, powens_api):
    start(basic_client(alice), powens_api)

    record = LinkState.objects.get()
    assert record.user == alice
    assert record.session_hash == ""


def test_a_webauth_link_for_a_credentials_source_is_refused(api, catalogue, powens_api):
    response = api.post(
        API + "webauth/", {"connector": CREDENTIALS_BANK, "source": "directaccess"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "connector_unavailable"
    assert not LinkState.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"connector": "nope"},
        {"connector": WEBAUTH_BANK, "next": "https://evil.example/"},
        {"connector": WEBAUTH_BANK, "source": "nope"},
    ],
    ids=["no-connector", "unknown", "offsite-next", "unknown-source"],
)
def test_a_bad_webauth_request_is_refused_and_records_nothing(api, catalogue, powens_api, body):
    response = api.post(API + "webauth/", body, format="json")

    assert response.status_code in (400, 404)
    assert response.json()["code"] in ("invalid", "not_found")
    assert not LinkState.objects.exists()
    assert powens_api.sent() == []


def test_a_powens_outage_when_starting_is_a_503_with_a_retry_hint(api, catalogue, powens_api):
    powens_api.add("GET", "webauth-url", status=503, json={"code": "bug"})

    response = api.post(API + "webauth/", {"connector": WEBAUTH_BANK}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "powens_unavailable"
    assert int(response["Retry-After"]) > 0
    assert not LinkState.objects.exists()


def test_the_callback_fetches_the_new_connection(api, catalogue, powens_api):
    start(api, powens_api, next="/dashboard/")
    state = sent_state(powens_api)
    powens_api.add_connection_fetch(connection_payload(7))

    response = api.post(API + "callback/", {"state": state, "id_connection": "7"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "connected"
    assert body["connection"]["id"] == 7
    assert body["connection_ids"] == [7]
    assert body["next"] == "/dashboard/"
    assert Connection.objects.filter(powens_id=7, powens_user__user__username="alice").exists()


def test_an_app_client_completes_the_flow_without_the_browser_session(alice, catalogue, powens_api):
    app = basic_client(alice)
    start(app, powens_api)
    powens_api.add_connection_fetch(connection_payload(7))

    response = app.post(
        API + "callback/", {"state": sent_state(powens_api), "id_connection": "7"}, format="json"
    )

    assert response.json()["kind"] == "connected"


def test_a_cancelled_link_is_an_outcome(api, catalogue, powens_api):
    start(api, powens_api)

    response = api.post(
        API + "callback/",
        {"state": sent_state(powens_api), "error": "access_denied", "error_description": "x"},
        format="json",
    )

    assert response.json()["kind"] == "cancelled"
    assert not Connection.objects.exists()


def test_a_state_is_single_use(api, catalogue, powens_api):
    start(api, powens_api)
    state = sent_state(powens_api)
    powens_api.add_connection_fetch(connection_payload(7))
    api.post(API + "callback/", {"state": state, "id_connection": "7"}, format="json")

    again = api.post(API + "callback/", {"state": state, "id_connection": "7"}, format="json")

    assert again.status_code == 400
    assert again.json()["code"] == "invalid_callback"


def test_another_persons_state_is_refused_and_changes_nothing(api, bob_api, catalogue, powens_api):
    start(api, powens_api)

    response = bob_api.post(
        API + "callback/", {"state": sent_state(powens_api), "id_connection": "7"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_callback"
    assert LinkState.objects.get().used_at is None
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"state": "made-up", "id_connection": "7"}, {"state": "s", "id_connection": "x"}],
    ids=["empty", "unknown-state", "malformed-id"],
)
def test_a_bad_callback_is_a_400(api, catalogue, powens_api, body):
    response = api.post(API + "callback/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_callback")


# -- credentials ----------------------------------------------------------------------------


def create(client, values=VALUES, **extra):
    body = {"connector": CREDENTIALS_BANK, "source": "directaccess", "values": values, **extra}
    return client.post(API + "connections/", body, format="json")


def test_credentials_make_a_connection(api, catalogue, powens_api):
    powens_api.add("POST", "users/me/connections", json=connection_payload(7, sources=1))

    response = create(api)

    assert response.status_code == 201
    assert response.json()["kind"] == "connected"
    sent = powens_api.body(len(powens_api.requests) - 1)
    assert sent["field1"] == PASSWORD
    assert sent["field2"] == "2020-01-31"
    assert Connection.objects.filter(powens_id=7).exists()


def test_refused_credentials_create_nothing(api, catalogue, powens_api):
    powens_api.add(
        "POST",
        "users/me/connections",
        status=400,
        json={"code": "wrongpass", "message": "Mot de passe incorrect"},
    )

    response = create(api)

    assert response.status_code == 400
    assert response.json() == {"code": "wrong_credentials", "message": "Mot de passe incorrect"}
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({**VALUES, "field0": ""}, "values.field0"),
        ({**VALUES, "field2": "31-31-2020"}, "values.field2"),
        ({**VALUES, "field3": "z-secret-choice"}, "values.field3"),
        ({**VALUES, "field4": "many"}, "values.field4"),
        ({**VALUES, "other": "x"}, "values.other"),
    ],
    ids=["required", "date", "choice", "number", "unknown"],
)
def test_values_the_form_refuses_are_a_400_that_sends_nothing(
    api, catalogue, powens_api, values, problem
):
    response = create(api, values)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert problem in body["fields"]
    assert "z-secret-choice" not in response.content.decode()
    assert PASSWORD not in response.content.decode()
    assert powens_api.sent() == []


def test_credentials_for_a_website_bank_are_refused(api, catalogue, powens_api):
    response = api.post(
        API + "connections/", {"connector": WEBAUTH_BANK, "values": {}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "connector_unavailable"


def test_a_powens_outage_creating_is_a_503_and_never_echoes_the_values(
    api, catalogue, powens_api, caplog
):
    caplog.set_level(logging.DEBUG)
    powens_api.add("POST", "users/me/connections", status=500, json={"code": "bug"})
    powens_api.add("GET", "users/me/connections", json={"connections": []})

    response = create(api)

    assert response.status_code == 503
    assert response["Retry-After"]
    assert PASSWORD not in response.content.decode()
    assert PASSWORD not in caplog.text
    assert not Connection.objects.exists()


def test_a_timeout_creating_tells_to_check_later(api, catalogue, powens_api):
    powens_api.add("POST", "users/me/connections", body=requests.ReadTimeout("slow"))
    powens_api.add("GET", "users/me/connections", json={"connections": []})

    response = create(api)

    assert response.status_code == 503
    assert response.json()["code"] == "link_outcome_unknown"


def test_the_state_hash_is_all_that_is_kept(api, catalogue, powens_api):
    start(api, powens_api)
    state = sent_state(powens_api)

    assert LinkState.objects.get().state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert state not in str(list(LinkState.objects.values()))


def test_the_url_carries_the_state(api, catalogue, powens_api):
    body = start(api, powens_api)

    assert "session" in parse_qs(urlsplit(body["url"]).query)
