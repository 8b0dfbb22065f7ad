"""Connections: creation, the scenario table, syncs, updates, sources and logs."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests
from jwcrypto import jwe, jwk

from powens_django.sandbox.models import Connection

from ..concurrency import overlapping_requests
from .conftest import SANDBOX_DB, create_connection, credentials

pytestmark = SANDBOX_DB

DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
REFERENCE = {
    "id", "id_user", "id_connector", "id_provider", "id_bank", "state", "error",
    "error_message", "fields", "last_update", "created", "active", "last_push", "expire",
    "connector_uuid", "next_try",
}  # fmt: skip


def get(api, user, connection_id, **params):
    response = api.get(f"users/me/connections/{connection_id}", token=user.token, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- creation -------------------------------------------------------------------------


def test_a_connection_is_created_synced_with_accounts(api, user, test_connector, schema):
    response = create_connection(api, user, test_connector, params={"expand": "accounts"})

    assert response.status_code == 201
    data = response.json()
    schema("connections.yml", "Connection", data)
    assert set(data) >= REFERENCE
    assert data["state"] is None and data["error"] is None
    assert data["id_user"] == user.id
    assert data["connector_uuid"] == str(test_connector.uuid)
    assert DATE.match(data["created"]) and DATE.match(data["last_update"])
    assert DATE.match(data["next_try"])
    assert 1 <= len(data["accounts"]) <= 3
    for account in data["accounts"]:
        schema("bank-accounts.yml", "BankAccount", account)
        iban = account["iban"]
        digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
        assert int(digits) % 97 == 1  # a valid IBAN


def test_the_connection_is_listed_and_read_with_expansions(api, user, connect, schema):
    created = connect()

    listed = api.get(
        "users/me/connections", token=user.token, params={"expand": "connector,sources"}
    )
    one = get(api, user, created["id"], expand="connector[countries],sources")

    schema("connections.yml", "ConnectionsList", listed.json())
    (item,) = listed.json()["connections"]
    assert item["id"] == created["id"]
    assert item["connector"]["name"] == "Connecteur de test"
    assert [s["name"] for s in item["sources"]] == ["directaccess"]
    assert one["connector"]["countries"] == [{"id": "FR", "name": "France"}]
    schema("connections.yml", "Connection", one)


def test_accounts_subscriptions_and_their_all_variants_are_expandable(api, user, connect):
    created = connect()

    data = get(
        api, user, created["id"], expand="accounts,all_accounts,subscriptions,all_subscriptions"
    )

    assert data["accounts"] == data["all_accounts"]
    assert data["accounts"]
    assert data["subscriptions"] == data["all_subscriptions"] == []


def test_the_user_path_takes_the_users_own_id(api, user, connect):
    created = connect()

    response = api.get(f"users/{user.id}/connections/{created['id']}", token=user.token)

    assert response.status_code == 200


def test_another_users_connection_is_a_404(api, user, other_user, connect):
    created = connect()

    response = api.get(f"users/me/connections/{created['id']}", token=other_user.token)
    deleted = api.delete(f"users/me/connections/{created['id']}", token=other_user.token)

    assert response.status_code == deleted.status_code == 404
    assert response.json()["code"] == "notFound"
    assert api.get("users/me/connections", token=other_user.token).json() == {"connections": []}


def test_a_connection_can_be_created_form_encoded_with_id_connector(api, user, test_connector):
    response = api.post(
        "users/me/connections",
        token=user.token,
        data={"id_connector": test_connector.pk, **credentials()},
    )

    assert response.status_code == 201
    assert response.json()["id_connector"] == test_connector.pk


def test_field_values_encrypted_as_jwe_are_decrypted(api, user, test_connector):
    key = jwk.JWK(**api.get("publickey").json())

    def encrypt(value: str) -> str:
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key["kid"]}
        token = jwe.JWE(value.encode(), protected=json.dumps(header), recipient=key)
        return token.serialize(compact=True)

    body = {
        "connector_uuid": str(test_connector.uuid),
        "website": encrypt("par"),
        "login": encrypt("otp"),
        "password": encrypt("secret"),
    }
    response = api.post("users/me/connections", token=user.token, json=body)

    assert response.status_code == 202
    assert response.json()["state"] == "additionalInformationNeeded"  # "otp" was read


def test_a_jwe_for_another_key_is_refused(api, user, test_connector):
    other = jwk.JWK.generate(kty="RSA", size=2048)
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "other"}
    value = jwe.JWE(b"alice", protected=json.dumps(header), recipient=other)
    body = {**credentials(), "connector_uuid": str(test_connector.uuid)}
    body["login"] = value.serialize(compact=True)

    response = api.post("users/me/connections", token=user.token, json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalidValue"
    assert not Connection.objects.exists()


def test_a_connector_is_required(api, user, catalogue):
    response = api.post("users/me/connections", token=user.token, json=credentials())

    assert response.status_code == 400
    assert response.json()["code"] == "missingParameter"


def test_a_missing_required_field_is_refused(api, user, test_connector):
    body = {"connector_uuid": str(test_connector.uuid), "login": "alice", "website": "par"}

    response = api.post("users/me/connections", token=user.token, json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "missingParameter"
    assert "password" in response.json()["description"]


def test_a_list_value_must_be_one_of_the_values(api, user, test_connector):
    body = {"connector_uuid": str(test_connector.uuid), **credentials(), "website": "ent"}

    response = api.post("users/me/connections", token=user.token, json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalidValue"


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"login": "élodie", "password": "123456"}, 201),  # \p{L} accepts accented letters
        ({"login": "9lives", "password": "123456"}, 400),  # must start with a letter
        ({"login": "alice", "password": "12345a"}, 400),  # [[:digit:]]{6}
        ({"login": "alice", "password": "123456", "birthdate": "1990-02-30"}, 400),
        ({"login": "alice", "password": "123456", "customer_number": "12a45678"}, 400),
        ({"login": "alice", "password": "123456", "customer_number": "12345678"}, 201),
    ],
)
def test_field_values_are_checked_with_pcre_regexes_and_types(api, user, catalogue, values, status):
    body = {"connector_uuid": str(catalogue["Caisse des Champs"].uuid), "website": "par"}

    response = api.post("users/me/connections", token=user.token, json={**body, **values})

    assert response.status_code == status, response.text


def test_a_named_group_regex_is_applied(api, user, catalogue):
    body = {"connector_uuid": str(catalogue["Banca Sandbox Italiana"].uuid), **credentials()}

    good = api.post(
        "users/me/connections", token=user.token, json={**body, "codice_cliente": "AB123456"}
    )
    bad = api.post(
        "users/me/connections", token=user.token, json={**body, "codice_cliente": "A1234567"}
    )

    assert (good.status_code, bad.status_code) == (201, 400)


def test_a_restricted_connector_takes_no_new_connection(api, user, catalogue):
    response = create_connection(api, user, catalogue["Banque Fermée"])

    assert response.status_code == 400
    assert response.json()["code"] == "invalidValue"


def test_a_webauth_only_connector_refuses_credentials(api, user, catalogue):
    response = create_connection(api, user, catalogue["Banque Sandbox PSD2"])

    assert response.status_code == 400
    assert "webauth" in response.json()["description"]


# -- the scenario table ---------------------------------------------------------------


def test_wrongpass_is_a_400_and_creates_nothing(api, user, test_connector, schema):
    response = create_connection(api, user, test_connector, "wrongpass")

    assert response.status_code == 400
    schema("core.yml", "ServiceError", response.json())
    assert response.json()["code"] == "wrongpass"
    assert response.json()["message"]
    assert not Connection.objects.exists()


def test_otp_asks_for_a_code_and_completes_with_the_right_one(api, user, connect, schema):
    created = connect("otp")
    path = f"users/me/connections/{created['id']}"

    wrong = api.post(path, token=user.token, json={"otp": "000000"})
    right = api.post(path, token=user.token, json={"otp": "123456"}, params={"expand": "accounts"})

    assert created["state"] == "additionalInformationNeeded"
    schema("connections.yml", "Connection", created)
    assert [(f["name"], f["type"]) for f in created["fields"]] == [("otp", "text")]
    assert wrong.status_code == 202
    assert wrong.json()["state"] == "additionalInformationNeeded"
    assert wrong.json()["error_message"]
    assert right.status_code == 200
    assert right.json()["state"] is None
    assert right.json()["fields"] is None
    assert right.json()["accounts"]


def test_decoupled_resume_passes_through_validating_to_done(api, user, connect):
    created = connect("decoupled")
    path = f"users/me/connections/{created['id']}"

    resumed = api.post(path, token=user.token, json={"resume": True})

    assert created["state"] == "decoupled"
    assert resumed.status_code == 200
    assert resumed.json()["state"] is None
    states = [
        log["state"] for log in api.get(f"{path}/logs", token=user.token).json()["connectionlogs"]
    ]
    assert states == [None, "decoupled"]


def test_decoupled_resume_in_background_answers_validating_then_settles(
    api, user, connect, sandbox_settings
):
    sandbox_settings(BACKGROUND_DELAY=0.3)
    created = connect("decoupled")
    path = f"users/me/connections/{created['id']}"

    resumed = api.post(path, token=user.token, json={"resume": True}, params={"background": "true"})
    polled = get(api, user, created["id"])
    time.sleep(0.35)
    settled = get(api, user, created["id"])

    assert resumed.status_code == 202
    assert resumed.json()["state"] == polled["state"] == "validating"
    assert settled["state"] is None


@overlapping_requests
def test_a_blocking_resume_can_be_polled_while_validating(api, user, connect, sandbox_settings):
    sandbox_settings(RESUME_DELAY=1.5)
    created = connect("decoupled")
    path = f"users/me/connections/{created['id']}"
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(r=api.post(path, token=user.token, json={"resume": True}))
    )
    thread.start()
    # A second session polls while the first is busy with the blocking call (polled
    # until the resume has begun: a loaded machine may take a moment to start it).
    seen = []
    while thread.is_alive() and "validating" not in seen:
        polled = requests.get(api.url(path), headers={"Authorization": f"Bearer {user.token}"})
        seen.append(polled.json()["state"])
        time.sleep(0.05)
    thread.join()

    assert "validating" in seen
    assert result["r"].json()["state"] is None


def test_resume_is_refused_unless_decoupled(api, user, connect):
    created = connect()

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"resume": True}
    )

    assert response.status_code == 400


def test_sca_is_required_at_the_next_sync_and_cleared_by_an_empty_post(api, user, connect):
    created = connect("sca")
    path = f"users/me/connections/{created['id']}"

    synced = api.put(path, token=user.token)
    cleared = api.post(path, token=user.token)

    assert created["state"] is None
    assert synced.json()["state"] == "SCARequired"
    assert cleared.status_code == 200
    assert cleared.json()["state"] is None


@pytest.mark.parametrize(
    ("login", "state"),
    [
        ("expired", "passwordExpired"),
        ("action", "actionNeeded"),
        ("unavailable", "websiteUnavailable"),
        ("ratelimit", "rateLimiting"),
        ("bug", "bug"),
    ],
)
def test_error_scenarios_end_in_their_state(api, user, connect, schema, login, state):
    created = connect(login, expand="sources")

    assert created["state"] == created["error"] == state
    assert created["error_message"] or state == "bug"
    assert created["sources"][0]["state"] == state
    schema("connections.yml", "Connection", created)


def test_the_future_scenario_gives_a_state_no_client_knows(api, user, connect):
    created = connect("future")

    assert created["state"] not in {
        None, "SCARequired", "webauthRequired", "additionalInformationNeeded", "decoupled",
        "validating", "actionNeeded", "passwordExpired", "wrongpass", "rateLimiting",
        "websiteUnavailable", "bug", "notSupported",
    }  # fmt: skip
    assert isinstance(created["state"], str)


def test_the_scenario_is_read_from_the_first_text_field_when_there_is_no_login(
    api, user, catalogue
):
    body = {"connector_uuid": str(catalogue["Énergie Sandbox"].uuid), "login": "wrongpass"}
    body["password"] = "x"

    response = api.post("users/me/connections", token=user.token, json=body)

    assert response.json()["code"] == "wrongpass"


def test_new_credentials_repair_a_connection_in_error(api, user, connect):
    created = connect("expired")

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"login": "alice"}
    )

    assert response.status_code == 200
    assert response.json()["state"] is None


def test_wrong_new_credentials_put_the_connection_in_wrongpass(api, user, connect):
    created = connect()

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"login": "wrongpass"}
    )
    after = get(api, user, created["id"])

    assert response.status_code == 400
    assert response.json()["code"] == "wrongpass"
    assert after["state"] == "wrongpass"
    assert {f["name"] for f in after["fields"]} == {"website", "login", "password"}


def test_unknown_field_names_are_refused_on_update(api, user, connect):
    created = connect()

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"pin": "1234"}
    )

    assert response.status_code == 400


# -- syncs ----------------------------------------------------------------------------


def test_a_forced_sync_updates_dates_sources_and_logs(api, user, connect):
    created = connect(expand="sources")
    connection = Connection.objects.get(pk=created["id"])
    Connection.objects.filter(pk=connection.pk).update(
        last_update=connection.last_update.replace(year=2020)
    )
    path = f"users/me/connections/{created['id']}"

    synced = api.put(path, token=user.token, params={"expand": "sources"})
    logs = api.get(f"{path}/logs", token=user.token).json()

    assert synced.status_code == 200
    assert synced.json()["last_update"] > "2021"
    assert synced.json()["next_try"] > synced.json()["last_update"]
    assert synced.json()["sources"][0]["last_update"] == synced.json()["last_update"]
    assert logs["total"] == 2


def test_psu_requested_is_recorded_in_the_logs(api, user, connect):
    created = connect()
    path = f"users/me/connections/{created['id']}"

    api.put(path, token=user.token, params={"psu_requested": "false"})
    logs = api.get(f"{path}/logs", token=user.token).json()["connectionlogs"]

    assert logs[0]["psu_requested"] is False


def test_a_forced_sync_right_after_another_is_a_409(api, user, connect, sandbox_settings):
    sandbox_settings(SYNC_COOLDOWN=60)
    created = connect()

    response = api.put(f"users/me/connections/{created['id']}", token=user.token)

    assert response.status_code == 409
    assert response.json()["code"] == "connectionLocked"


def test_a_background_sync_answers_at_once_and_locks_until_done(
    api, user, connect, sandbox_settings
):
    sandbox_settings(BACKGROUND_DELAY=0.3)
    created = connect()
    path = f"users/me/connections/{created['id']}"
    before = get(api, user, created["id"])

    started = api.put(path, token=user.token, params={"background": "true"})
    locked = api.put(path, token=user.token)
    time.sleep(0.35)
    after = get(api, user, created["id"])
    logs = api.get(f"{path}/logs", token=user.token).json()

    assert started.status_code == 202
    assert locked.status_code == 409
    assert logs["total"] == 2
    assert after["last_update"] >= before["last_update"]


def test_a_sync_needing_the_person_changes_nothing(api, user, connect):
    created = connect("otp")

    response = api.put(f"users/me/connections/{created['id']}", token=user.token)

    assert response.status_code == 200
    assert response.json()["state"] == "additionalInformationNeeded"


# -- updates --------------------------------------------------------------------------


def test_active_and_expire_are_updated_without_a_sync(api, user, connect):
    created = connect()
    path = f"users/me/connections/{created['id']}"

    response = api.post(
        path, token=user.token, json={"active": False, "expire": "2031-05-06 07:08:09"}
    )

    assert response.json()["active"] is False
    assert response.json()["expire"] == "2031-05-06 07:08:09"
    assert api.get(f"{path}/logs", token=user.token).json()["total"] == 1


def test_a_bad_expire_date_is_refused(api, user, connect):
    created = connect()

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"expire": "soon"}
    )

    assert response.status_code == 400


def test_refresh_auth_triggers_an_sca(api, user, connect):
    created = connect()

    response = api.post(
        f"users/me/connections/{created['id']}", token=user.token, json={"refresh_auth": True}
    )

    assert response.json()["state"] == "SCARequired"


def test_a_credentials_source_is_added_to_a_multi_source_connection(
    api, user, catalogue, webauth_connection
):
    created = webauth_connection(catalogue["Banque Hybride"])
    path = f"users/me/connections/{created['id']}"

    response = api.post(
        path,
        token=user.token,
        json={"source": "directaccess", "login": "alice", "password": "x"},
        params={"expand": "sources"},
    )

    assert response.status_code == 200
    assert [s["name"] for s in response.json()["sources"]] == ["openapi", "directaccess"]


def test_deleting_a_connection(api, user, connect):
    created = connect()
    path = f"users/me/connections/{created['id']}"

    response = api.delete(path, token=user.token)

    assert response.status_code == 204
    assert api.get(path, token=user.token).status_code == 404


# -- sources --------------------------------------------------------------------------


def test_connection_sources_are_listed_read_and_disabled(api, user, connect, schema):
    created = connect()
    path = f"users/me/connections/{created['id']}/sources"
    (source,) = api.get(path, token=user.token).json()["sources"]
    source_path = f"{path}/{source['id']}"

    disabled = api.post(source_path, token=user.token, json={"disabled": True}, params={"all": ""})
    hidden = api.get(path, token=user.token).json()["sources"]
    shown = api.get(path + "?all", token=user.token).json()["sources"]
    unreachable = api.get(source_path, token=user.token)
    reachable = api.get(source_path + "?all", token=user.token)
    enabled = api.post(source_path + "?all", token=user.token, json={"disabled": False})

    schema("connections.yml", "ConnectionSource", source)
    assert set(source) >= {
        "id", "id_connection", "id_connector_source", "name", "last_update", "disabled",
        "created", "state", "access_expire", "expire", "next_try",
    }  # fmt: skip
    assert source["id_connection"] == created["id"]
    assert DATE.match(disabled.json()["disabled"])
    assert hidden == []
    assert [s["id"] for s in shown] == [source["id"]]
    assert unreachable.status_code == 404
    assert reachable.status_code == 200
    assert enabled.json()["disabled"] is None


def test_a_disabled_source_cannot_be_updated_without_all(api, user, connect):
    created = connect()
    path = f"users/me/connections/{created['id']}/sources"
    (source,) = api.get(path, token=user.token).json()["sources"]
    api.post(f"{path}/{source['id']}", token=user.token, json={"disabled": True})

    response = api.post(f"{path}/{source['id']}", token=user.token, json={"disabled": False})

    assert response.status_code == 404


# -- logs -----------------------------------------------------------------------------


def test_logs_are_paginated_and_filtered(api, user, connect):
    created = connect()
    path = f"users/me/connections/{created['id']}"
    for _ in range(3):
        api.put(path, token=user.token)
    source_id = api.get(f"{path}/sources", token=user.token).json()["sources"][0]["id"]
    today = get(api, user, created["id"])["last_update"][:10]

    page = api.get(f"{path}/logs", token=user.token, params={"limit": 2, "offset": 1}).json()
    by_source = api.get(f"{path}/logs", token=user.token, params={"id_source": source_id}).json()
    other_source = api.get(f"{path}/logs", token=user.token, params={"id_source": 999}).json()
    in_range = api.get(
        f"{path}/logs", token=user.token, params={"min_date": today, "max_date": today}
    ).json()
    before = api.get(f"{path}/logs", token=user.token, params={"max_date": "2000-01-01"}).json()

    assert page["total"] == 4
    assert len(page["connectionlogs"]) == 2
    assert by_source["total"] == 4
    assert other_source == {"connectionlogs": [], "total": 0}
    assert in_range["total"] == 4
    assert before["total"] == 0
    log = page["connectionlogs"][0]
    assert log["id_connection"] == created["id"] and DATE.match(log["timestamp"])


def test_a_bad_log_date_is_refused(api, user, connect):
    created = connect()

    response = api.get(
        f"users/me/connections/{created['id']}/logs", token=user.token, params={"min_date": "x"}
    )

    assert response.status_code == 400
