"""Users and tokens, access rules and the error format."""

from __future__ import annotations

import json
import re

import pytest
from jwcrypto import jwk

from powens_django.sandbox.models import User

from .conftest import CLIENT_ID, CLIENT_SECRET, CONFIG_TOKEN, SANDBOX_DB, make_user

pytestmark = SANDBOX_DB

DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def test_init_creates_a_user_with_a_permanent_token(api, schema):
    response = api.post("auth/init", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})

    assert response.status_code == 200
    data = response.json()
    schema("authentication.yml", "AccessToken", data)
    assert data["type"] == "permanent"
    me = api.get("users/me", token=data["auth_token"])
    assert me.json()["id"] == data["id_user"]


def test_init_accepts_a_form_encoded_body(api):
    response = api.post("auth/init", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})

    assert response.status_code == 200
    assert response.json()["type"] == "permanent"


def test_init_with_a_wrong_secret_is_refused_and_creates_nobody(api, schema):
    response = api.post("auth/init", json={"client_id": CLIENT_ID, "client_secret": "wrong"})

    assert response.status_code == 401
    schema("core.yml", "ServiceError", response.json())
    assert not User.objects.exists()


def test_init_without_credentials_gives_a_temporary_token(api):
    response = api.post("auth/init")

    data = response.json()
    assert data["type"] == "temporary"
    assert data["expires_in"] == 1800


def test_users_me_answers_the_user_object(api, user, schema):
    response = api.get("users/me", token=user.token)

    assert response.status_code == 200
    schema("users.yml", "User", response.json())
    assert DATE.match(response.json()["signin"])


def test_the_user_path_accepts_the_users_own_id(api, user):
    response = api.get(f"users/{user.id}", token=user.token)

    assert response.json()["id"] == user.id


def test_another_users_id_is_forbidden(api, user, other_user):
    response = api.get(f"users/{other_user.id}", token=user.token)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("headers", "description"),
    [
        ({}, "no header"),
        ({"Authorization": "Bearer"}, "empty bearer"),
        ({"Authorization": "Basic abc"}, "other scheme"),
        ({"Authorization": "Bearer not-a-token"}, "unknown token"),
    ],
)
def test_user_endpoints_need_a_valid_user_token(api, catalogue, headers, description, schema):
    response = api.get("users/me/connections", headers=headers)

    assert response.status_code == 401, description
    schema("core.yml", "ServiceError", response.json())
    assert response.json()["request_id"] == response.headers["X-Request-Id"]


def test_the_config_token_does_not_open_user_data(api):
    response = api.get("users/me/connections", token=CONFIG_TOKEN)

    assert response.status_code == 403


def test_renew_issues_a_new_token_and_keeps_the_old_one(api, user, schema):
    response = api.post(
        "auth/renew",
        json={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "id_user": user.id,
            "revoke_previous": False,
        },
    )

    assert response.status_code == 200
    schema("authentication.yml", "ExchangeAccessToken", response.json())
    assert response.json()["token_type"] == "Bearer"
    new = response.json()["access_token"]
    assert api.get("users/me", token=new).json()["id"] == user.id
    assert api.get("users/me", token=user.token).status_code == 200


def test_renew_with_revoke_previous_revokes_the_old_token(api, user):
    response = api.post(
        "auth/renew",
        json={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "id_user": user.id,
            "revoke_previous": True,
        },
    )

    assert api.get("users/me", token=response.json()["access_token"]).status_code == 200
    assert api.get("users/me", token=user.token).status_code == 401


def test_renew_refuses_an_unknown_user(api):
    response = api.post(
        "auth/renew",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "id_user": 999999},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalidValue"


def test_renew_refuses_another_grant_type(api, user):
    response = api.post(
        "auth/renew",
        json={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "id_user": user.id,
        },
    )

    assert response.status_code == 400


def test_renew_needs_the_client_secret(api, user):
    response = api.post("auth/renew", json={"client_id": CLIENT_ID, "id_user": user.id})

    assert response.status_code == 400
    assert response.json()["code"] == "missingParameter"


def test_a_temporary_code_is_exchanged_once_for_a_permanent_token(api, user, schema):
    code = api.get("auth/token/code", token=user.token, params={"type": "singleAccess"}).json()
    body = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": code["code"],
    }

    first = api.post("auth/token/access", json=body)
    second = api.post("auth/token/access", json=body)

    schema("authentication.yml", "AuthCode", code)
    assert (code["type"], code["access"], code["expires_in"]) == ("temporary", "single", 1800)
    assert first.status_code == 200
    assert first.json()["token_type"] == "Bearer"
    assert api.get("users/me", token=first.json()["access_token"]).json()["id"] == user.id
    assert second.status_code == 401


def test_request_access_codes_are_standard(api, user):
    code = api.get("auth/token/code", token=user.token).json()

    assert code["access"] == "standard"


def test_a_code_needs_a_user_token(api):
    assert api.get("auth/token/code").status_code == 401


def test_deleting_the_token_revokes_it(api, user):
    response = api.delete("auth/token", token=user.token)

    assert response.status_code == 204
    assert response.content == b""
    assert api.get("users/me", token=user.token).status_code == 401


def test_deleting_the_user_removes_it_and_its_connections(api, user, connect):
    connect()

    response = api.delete("users/me", token=user.token)

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.id).exists()
    assert api.get("users/me", token=user.token).status_code == 401


def test_publickey_is_an_rsa_jwk_for_encryption(api):
    response = api.get("publickey")

    assert response.status_code == 200
    data = response.json()
    assert {k: data[k] for k in ("kty", "alg", "use")} == {
        "kty": "RSA",
        "alg": "RSA-OAEP-256",
        "use": "enc",
    }
    key = jwk.JWK(**data)
    assert not key.has_private
    assert data["kid"]
    assert api.get("publickey").json() == data  # one key, kept in the database


def test_an_unknown_route_is_a_json_404(api):
    response = api.get("does/not/exist")

    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "notFound"


def test_an_unsupported_method_is_a_405(api, schema):
    response = api.delete("connectors")

    assert response.status_code == 405
    assert response.json()["code"] == "methodNotAllowed"
    assert "GET" in response.headers["Allow"]


def test_invalid_json_is_a_400(api):
    response = api.post(
        "auth/init", data=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalidValue"


def test_users_are_isolated(api):
    alice, bob = make_user(api), make_user(api)

    assert alice.id != bob.id
    assert api.get("users/me", token=bob.token).json()["id"] == bob.id
