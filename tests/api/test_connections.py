"""A person's linked banks over the API: list, detail, delete, sync, resume, answers to
the bank, sources, logs, refreshes. Powens is mocked (``powens_api``): every answer
registered must be used, and any call without one fails the test."""

from __future__ import annotations

import re

import pytest
import requests

from powens_django.models import Connection

from ..factories import connection_payload
from ..powens_api import ALICE_TOKEN, BOB_TOKEN
from .conftest import API, add_account, connection, mirror

pytestmark = pytest.mark.django_db

OTP_FIELD = {"name": "otp", "label": "Code", "type": "text", "required": True, "regex": "^\\d{6}$"}
BUG = {"code": "bug", "description": "Internal error", "message": None}


@pytest.fixture
def linked(alice, bob, catalogue):
    """Alice has connection 7 (two sources, an account), Bob connection 9."""
    mirror(alice, connection_payload(7, sources=2))
    mirror(bob, connection_payload(9))
    add_account(7, 70001)


def test_the_list_has_the_persons_banks_only(api, linked):
    response = api.get(API + "connections/")

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [7]


def test_the_detail_says_the_state_what_it_calls_for_sources_and_accounts(api, linked):
    body = api.get(API + "connections/7/").json()

    assert body["bank_name"] == "Crédit Agricole"
    assert body["state"] == {
        "code": None,
        "label": "Up to date",
        "explanation": "The last synchronization succeeded.",
        "tone": "ok",
        "kind": "connected",
        "known": True,
    }
    assert [a["code"] for a in body["actions"]] == ["sync", "delete"]
    assert [s["id"] for s in body["sources"]] == [70, 71]
    account = body["accounts"][0]
    assert account["number"] == "•••••••8901"
    assert account["iban"] == "FR•••••••••••••••••••••0143"
    assert account["balance"] == "1523.42000000"
    assert (account["currency"], account["type"], account["enabled"]) == ("EUR", "checking", True)
    assert body["totals"] == [{"currency": "EUR", "amount": "1523.42000000", "accounts": 1}]
    assert [s["label"] for s in body["sources"]] == [
        "On your bank's website",
        "With your login details",
    ]


def test_a_state_that_calls_for_the_person_says_so(api, alice, catalogue):
    mirror(alice, connection_payload(8, state="additionalInformationNeeded"))

    body = api.get(API + "connections/8/").json()

    assert body["state"]["kind"] == "needs_fields"
    assert body["state"]["tone"] == "attention"
    assert [a["code"] for a in body["actions"]] == ["answer_fields", "delete"]


@pytest.mark.parametrize("powens_id", ["9", "123", "abc", "-1", "9" * 30, "0"])
def test_another_persons_or_no_connection_is_not_found(api, linked, powens_id):
    response = api.get(API + f"connections/{powens_id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# Every endpoint on a connection, as (method, path suffix, body).
ENDPOINTS = [
    ("get", "", None),
    ("delete", "", None),
    ("post", "sync/", None),
    ("post", "refresh/", None),
    ("post", "resume/", {}),
    ("post", "reconnect/", {}),
    ("get", "fields/", None),
    ("post", "fields/", {"values": {"otp": "123456"}}),
    ("post", "sources/90/enable/", None),
    ("post", "sources/90/disable/", None),
    ("get", "logs/", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_bobs_connection_is_not_found_for_alice_and_left_alone(
    api, linked, powens_api, method, suffix, body
):
    response = getattr(api, method)(API + f"connections/9/{suffix}", body, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert powens_api.sent() == []
    assert Connection.objects.filter(powens_id=9).exists()


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_bob_reaches_his_own_connection_with_his_token(
    bob_api, linked, powens_api, method, suffix, body
):
    # The counterpart of the test above: the 404 is about ownership, not the endpoint.
    powens_api.mock.assert_all_requests_are_fired = False
    answer = {"url": "https://bank.example/", "connectionlogs": [], **connection_payload(9)}
    for verb in ("GET", "POST", "PUT", "DELETE"):
        powens_api.mock.add(verb, re.compile(re.escape(powens_api.root) + ".*"), json=answer)

    response = getattr(bob_api, method)(API + f"connections/9/{suffix}", body, format="json")

    assert response.status_code in (200, 201, 204, 400, 409), response.content
    if response.status_code == 400:  # his bank's form asks other fields than an OTP
        assert response.json()["code"] == "invalid"
    if response.status_code == 409:  # his bank is up to date: nothing to resume, repair
        assert response.json()["code"] == "not_offered"
    assert all(
        request.headers["Authorization"] == f"Bearer {BOB_TOKEN}" for request in powens_api.requests
    )


def test_deleting_deletes_at_powens_first_then_here(api, linked, powens_api):
    powens_api.add("DELETE", "users/me/connections/7", status=204, token=ALICE_TOKEN)

    response = api.delete(API + "connections/7/")

    assert response.status_code == 204
    assert powens_api.sent() == ["DELETE users/me/connections/7"]
    assert not Connection.objects.filter(powens_id=7).exists()


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ({"status": 500, "json": BUG}, 503, "powens_unavailable"),
        ({"body": requests.ReadTimeout("read timed out")}, 503, "powens_unavailable"),
        ({"status": 409, "json": {"code": "connectionLocked"}}, 409, "sync_in_progress"),
        ({"status": 401, "json": {"code": "invalidToken"}}, 502, "access_refused"),
        ({"status": 429, "headers": {"Retry-After": "120"}}, 503, "rate_limited"),
    ],
    ids=["500", "timeout", "409", "401", "429"],
)
def test_a_failed_deletion_keeps_the_connection_and_says_why(
    api, linked, powens_api, answer, status, code
):
    powens_api.add("DELETE", "users/me/connections/7", **answer)

    response = api.delete(API + "connections/7/")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert connection(7).sources.count() == 2
    if status >= 500:
        assert int(response["Retry-After"]) == response.json()["retry_after"] > 0
    if code == "rate_limited":
        assert response["Retry-After"] == "120"


def test_sync_asks_powens_for_fresh_data_at_the_persons_request(api, linked, powens_api):
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7, sources=2))

    response = api.post(API + "connections/7/sync/")

    assert response.status_code == 200
    assert response.json()["kind"] == "connected"
    assert response.json()["connection"]["id"] == 7
    assert "psu_requested" not in powens_api.query(0) or powens_api.query(0)["psu_requested"] in (
        "true",
        "1",
    )


def test_a_sync_powens_refuses_is_a_409_that_changes_nothing(api, linked, powens_api):
    powens_api.add("PUT", "users/me/connections/7", status=409, json={"code": "tooManySync"})

    response = api.post(API + "connections/7/sync/")

    assert response.status_code in (409, 503)
    assert response.json()["code"] in ("sync_in_progress", "rate_limited")
    assert "Retry-After" in response


def test_refresh_reads_the_connection_again(api, alice, catalogue, powens_api):
    mirror(alice, connection_payload(7, state="validating"))
    powens_api.add_connection_fetch(connection_payload(7))

    response = api.post(API + "connections/7/refresh/")

    assert response.json()["kind"] == "connected"
    assert connection(7).state is None


def test_refresh_of_a_connection_powens_no_longer_has_says_deleted(api, linked, powens_api):
    powens_api.add("GET", "users/me/connections/7", status=404, json={"code": "notFound"})

    response = api.post(API + "connections/7/refresh/")

    assert response.json()["kind"] == "deleted"
    assert response.json()["connection"] is None
    assert not Connection.objects.filter(powens_id=7).exists()


def test_refresh_all_reads_every_connection_and_answers_the_list(api, linked, powens_api):
    payloads = [connection_payload(7, sources=2), connection_payload(8)]
    powens_api.add("GET", "users/me/connections", json={"connections": payloads})

    response = api.post(API + "connections/refresh/")

    assert response.status_code == 200
    assert sorted(c["id"] for c in response.json()) == [7, 8]


def test_resume_continues_a_decoupled_connection_in_the_background(
    api, alice, catalogue, powens_api
):
    mirror(alice, connection_payload(7, state="decoupled"))
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7, state="validating"))

    response = api.post(API + "connections/7/resume/", {}, format="json")

    assert response.json()["kind"] == "validating"
    assert powens_api.body(0) == {"resume": True}
    assert powens_api.query(0).get("background") in ("true", "1", "")


def test_resume_refuses_a_background_that_is_not_a_boolean(api, linked, powens_api):
    response = api.post(API + "connections/7/resume/", {"background": "maybe"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["background"]


def test_the_fields_asked_are_the_ones_the_bank_asks(api, alice, catalogue):
    mirror(
        alice,
        connection_payload(
            7, state="additionalInformationNeeded", fields=[OTP_FIELD], error_message="SMS sent"
        ),
    )

    body = api.get(API + "connections/7/fields/").json()

    assert body["asked_by_bank"] is True
    assert body["bank_message"] == "SMS sent"
    assert [f["name"] for f in body["fields"]] == ["otp"]


def test_an_otp_is_sent_to_powens_and_the_outcome_routes_on(api, alice, catalogue, powens_api):
    mirror(alice, connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD]))
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    response = api.post(API + "connections/7/fields/", {"values": {"otp": "123456"}}, format="json")

    assert response.status_code == 200
    assert response.json()["kind"] == "connected"
    assert powens_api.body(0) == {"otp": "123456"}


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"otp": "12ab"}, "values.otp"),
        ({}, "values.otp"),
        ({"otp": "123456", "pin": "1"}, "values.pin"),
    ],
    ids=["pattern", "missing", "unknown-field"],
)
def test_an_answer_the_form_refuses_is_a_400_and_sends_nothing(
    api, alice, catalogue, powens_api, values, problem
):
    mirror(alice, connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD]))

    response = api.post(API + "connections/7/fields/", {"values": values}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert problem in response.json()["fields"]
    assert powens_api.sent() == []
    assert connection(7).state == "additionalInformationNeeded"


def test_values_that_are_not_an_object_are_refused(api, linked, powens_api):
    response = api.post(API + "connections/7/fields/", {"values": ["x"]}, format="json")

    assert response.status_code == 400
    assert "values" in response.json()["fields"]


def test_a_connection_whose_bank_asks_nothing_says_so(api, alice, powens_api, db):
    mirror(alice, connection_payload(7, connector_uuid="unknown-bank"))

    response = api.post(API + "connections/7/fields/", {"values": {}}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_ask"


@pytest.mark.parametrize(("action", "disabled"), [("disable", True), ("enable", False)])
def test_a_source_is_enabled_or_disabled_at_powens(api, linked, powens_api, action, disabled):
    powens_api.add("POST", "users/me/connections/7/sources/71", json={"id": 71})
    powens_api.add_connection_fetch(connection_payload(7, sources=2))

    response = api.post(API + f"connections/7/sources/71/{action}/")

    assert response.status_code == 200
    assert powens_api.body(0) == {"disabled": disabled}
    assert response.json()["connection"]["id"] == 7


@pytest.mark.parametrize("source_id", ["90", "x", "0"])
def test_a_source_of_another_connection_is_not_found(api, linked, powens_api, source_id):
    response = api.post(API + f"connections/7/sources/{source_id}/disable/")

    assert response.status_code == 404
    assert powens_api.sent() == []


def test_the_logs_are_the_synchronizations_in_plain_words(api, linked, powens_api):
    logs = [
        {"id": 1, "timestamp": "2026-11-20 10:00:00", "state": None, "nb_accounts": 2},
        {"id": 2, "timestamp": "2026-11-19 10:00:00", "state": "wrongpass", "error_message": "No"},
    ]
    powens_api.add("GET", "users/me/connections/7/logs", json={"connectionlogs": logs})

    body = api.get(API + "connections/7/logs/").json()

    assert [row["state"]["label"] for row in body] == ["Up to date", "Wrong credentials"]
    assert body[0]["accounts"] == 2
    assert body[1]["bank_message"] == "No"


@pytest.fixture
def to_repair(alice, catalogue):
    """Alice's connection 8 to a bank that logs in on its website asks to log in again."""
    mirror(alice, connection_payload(8, state="webauthRequired"))


def test_reconnect_gives_a_link_to_the_banks_website(api, to_repair, powens_api):
    powens_api.add("GET", "webauth-url", json={"url": "https://bank.example/auth?x=1"})

    response = api.post(API + "connections/8/reconnect/", {}, format="json")

    assert response.status_code == 201
    assert response.json()["url"] == "https://bank.example/auth?x=1"
    assert powens_api.query(0)["id_connection"] == "8"


def test_reconnect_of_a_connection_powens_says_needs_nothing_is_a_409(api, to_repair, powens_api):
    powens_api.add("GET", "webauth-url", status=409, json={"code": "invalidValue"})

    response = api.post(API + "connections/8/reconnect/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_repair"


def test_reconnect_with_an_unknown_source_is_refused(api, to_repair, powens_api):
    response = api.post(API + "connections/8/reconnect/", {"source": "nope"}, format="json")

    assert response.status_code == 400
    assert powens_api.sent() == []


@pytest.mark.parametrize(
    ("state", "path"),
    [
        (None, "reconnect/"),  # up to date
        (None, "resume/"),
        ("decoupled", "sync/"),  # waiting for the person's confirmation
        ("additionalInformationNeeded", "sync/"),
        ("websiteUnavailable", "sync/"),  # Powens retries by itself
        ("wrongpass", "resume/"),
    ],
)
def test_an_action_the_state_does_not_call_for_is_a_409_that_asks_nothing(
    api, alice, catalogue, powens_api, state, path
):
    mirror(alice, connection_payload(8, state=state))

    response = api.post(API + f"connections/8/{path}", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_offered"
    assert powens_api.sent() == []
    assert connection(8).state == state


def test_sync_of_a_connection_asking_to_confirm_access_is_the_empty_update(
    api, alice, catalogue, powens_api
):
    mirror(alice, connection_payload(8, state="SCARequired"))
    powens_api.add("POST", "users/me/connections/8", json=connection_payload(8))

    response = api.post(API + "connections/8/sync/")

    assert response.json()["kind"] == "connected"
    assert powens_api.sent()[0].startswith("POST users/me/connections/8")


def test_an_error_message_is_in_the_persons_language(api, linked, powens_api):
    powens_api.add("DELETE", "users/me/connections/7", status=500, json=BUG)
    powens_api.add("DELETE", "users/me/connections/7", status=500, json=BUG)

    english = api.delete(API + "connections/7/").json()
    french = api.delete(API + "connections/7/", HTTP_ACCEPT_LANGUAGE="fr").json()

    assert english["code"] == french["code"] == "powens_unavailable"
    assert english["message"] == (
        "We could not reach the bank connection service. Please try again shortly."
    )
    assert french["message"] != english["message"]
