"""Who may call the API, CSRF under session authentication, throttling scopes, and the
secrets that never leave: credential values and the Powens token."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from powens_django.models import Connection

from ..factories import connection_payload
from ..powens_api import ALICE_TOKEN
from .conftest import API, CREDENTIALS_BANK, mirror

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-Very-Secret"
VALUES = {"field0": "alice-login", "field1": PASSWORD, "field2": "2020-01-31", "field3": "a"}

ENDPOINTS = [
    ("get", "connectors/"),
    ("get", "connectors/countries/"),
    ("get", f"connectors/{CREDENTIALS_BANK}/"),
    ("post", "webauth/"),
    ("post", "callback/"),
    ("get", "connections/"),
    ("post", "connections/"),
    ("post", "connections/refresh/"),
    ("get", "connections/7/"),
    ("delete", "connections/7/"),
    ("post", "connections/7/sync/"),
    ("post", "connections/7/refresh/"),
    ("post", "connections/7/resume/"),
    ("post", "connections/7/reconnect/"),
    ("get", "connections/7/fields/"),
    ("post", "connections/7/fields/"),
    ("post", "connections/7/sources/70/enable/"),
    ("post", "connections/7/sources/70/disable/"),
    ("get", "connections/7/logs/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_requires_a_signed_in_user(alice, catalogue, method, path):
    mirror(alice, connection_payload(7))

    response = getattr(APIClient(), method)(API + path, {}, format="json")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert Connection.objects.filter(powens_id=7).exists()


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if e[0] != "get"])
def test_state_changing_endpoints_enforce_csrf_under_session_authentication(
    alice, catalogue, powens_api, method, path
):
    mirror(alice, connection_payload(7))
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)

    response = getattr(client, method)(API + path, {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["message"]
    assert powens_api.sent() == []
    assert Connection.objects.filter(powens_id=7).exists()


def test_a_session_client_with_the_csrf_token_gets_through(alice, catalogue, powens_api):
    mirror(alice, connection_payload(7))
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    client.cookies["csrftoken"] = "a" * 32
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))

    response = client.post(API + "connections/7/sync/", HTTP_X_CSRFTOKEN="a" * 32)

    assert response.status_code == 200


def test_a_declared_throttle_scope_limits_linking(api, catalogue, settings, powens_api):
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"powens_link": "2/min"}}
    cache.clear()
    body = {"connector": "nope"}

    statuses = [api.post(API + "webauth/", body, format="json").status_code for _ in range(3)]

    assert statuses == [404, 404, 429]
    refused = api.post(API + "webauth/", body, format="json")
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Reading is another scope, without a rate here: not limited.
    assert api.get(API + "connections/").status_code == 200


def test_the_hosts_permissions_apply_on_top(api, catalogue, settings):
    settings.REST_FRAMEWORK = {
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"]
    }

    response = api.get(API + "connections/")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# -- secrets --------------------------------------------------------------------------------


def test_credentials_never_appear_in_a_response_or_a_log_line(api, catalogue, powens_api, caplog):
    caplog.set_level(logging.DEBUG)
    powens_api.add(
        "POST",
        "users/me/connections",
        json=connection_payload(
            7, state="wrongpass", fields=[{"name": "field1", "type": "password"}]
        ),
    )

    response = api.post(
        API + "connections/",
        {"connector": CREDENTIALS_BANK, "source": "directaccess", "values": VALUES},
        format="json",
    )

    assert response.status_code == 201
    text = response.content.decode()
    for secret in (PASSWORD, "alice-login", ALICE_TOKEN):
        assert secret not in text
        assert secret not in caplog.text
    assert powens_api.body(0)["field1"] == PASSWORD  # it did reach Powens


@pytest.mark.parametrize("status", [400, 500, 401])
def test_a_refusal_never_carries_the_values_or_the_token(
    api, catalogue, powens_api, caplog, status
):
    caplog.set_level(logging.DEBUG)
    echo = f"bad value {PASSWORD} for token {ALICE_TOKEN}"
    powens_api.add(
        "POST",
        "users/me/connections",
        status=status,
        json={"code": "wrongpass" if status == 400 else "bug", "description": echo},
    )
    if status == 500:
        powens_api.add("GET", "users/me/connections", json={"connections": []})

    response = api.post(
        API + "connections/",
        {"connector": CREDENTIALS_BANK, "source": "directaccess", "values": VALUES},
        format="json",
    )

    assert response.status_code >= 400
    assert PASSWORD not in response.content.decode()
    assert ALICE_TOKEN not in response.content.decode()
    assert ALICE_TOKEN not in caplog.text


def test_an_answer_to_the_bank_is_never_echoed(api, alice, catalogue, powens_api, caplog):
    caplog.set_level(logging.DEBUG)
    otp = {"name": "otp", "type": "text", "required": True}
    mirror(alice, connection_payload(7, state="additionalInformationNeeded", fields=[otp]))
    powens_api.add(
        "POST",
        "users/me/connections/7",
        json=connection_payload(7, state="additionalInformationNeeded", fields=[otp]),
    )

    response = api.post(API + "connections/7/fields/", {"values": {"otp": "924817"}}, format="json")

    assert response.json()["kind"] == "needs_fields"
    assert "924817" not in response.content.decode()
    assert "924817" not in caplog.text


def test_no_response_carries_the_powens_token(api, alice, catalogue, powens_api):
    mirror(alice, connection_payload(7))

    bodies = [api.get(API + path).content.decode() for path in ("connections/", "connections/7/")]

    assert all(ALICE_TOKEN not in body for body in bodies)
    assert all("token" not in body for body in bodies)


@pytest.mark.parametrize("path", ["callback/", "connections/"])
def test_json_nested_too_deep_is_a_400_not_a_500(api, path):
    response = api.post(API + path, data=b"[" * 100_000, content_type="application/json")

    assert response.status_code == 400
