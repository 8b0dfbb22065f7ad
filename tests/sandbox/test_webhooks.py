"""Webhooks: bodies, signatures (checked with an independent computation), delivery
after the response, gzip, bearer authentication, records and retries."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import threading

from django.core.management import call_command

from powens_django.sandbox import webhooks
from powens_django.sandbox.models import WebhookDelivery

from .conftest import SANDBOX_DB, WEBHOOK_SECRET, callback_params, open_bank_page, press

pytestmark = SANDBOX_DB

SIGNATURE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def expected_signature(secret: str, path: str, date: str, body: bytes) -> str:
    signed = b"POST." + path.encode() + b"." + date.encode() + b"." + body
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def test_a_new_connection_sends_a_signed_connection_synced(api, user, connect, receiver, schema):
    created = connect()

    (hook,) = receiver.wait_for(1)
    body = hook.json()

    assert hook.path == "/hooks/connection-synced"
    assert hook.headers["Content-Type"] == "application/json"
    date = hook.headers["BI-Signature-Date"]
    assert SIGNATURE_DATE.match(date)
    sent = dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) < 60
    assert hook.headers["BI-Signature"] == expected_signature(
        WEBHOOK_SECRET, "/hooks/connection-synced", date, hook.body
    )
    assert isinstance(body["id_webhook_data"], int)
    assert body["user"]["id"] == user.id
    schema("users.yml", "User", body["user"])
    connection = body["connection"]
    assert connection["id"] == created["id"]
    schema("connections.yml", "Connection", connection)
    assert connection["connector"]["name"] == "Connecteur de test"
    assert [s["name"] for s in connection["sources"]] == ["directaccess"]
    assert 1 <= len(connection["accounts"]) <= 3
    for account in connection["accounts"]:
        schema("bank-accounts.yml", "BankAccount", account)
        assert account["transactions"]
        for transaction in account["transactions"]:
            schema("bank-transactions.yml", "Transaction", transaction)
            assert transaction["id_account"] == account["id"]


def test_a_sync_sends_only_the_new_transactions(api, user, connect, receiver):
    created = connect()
    first = receiver.wait_for(1)[0].json()

    api.put(f"users/me/connections/{created['id']}", token=user.token)
    second = receiver.wait_for(2)[1].json()

    old = {t["id"] for a in first["connection"]["accounts"] for t in a["transactions"]}
    new = {t["id"] for a in second["connection"]["accounts"] for t in a["transactions"]}
    assert new and not old & new
    assert second["id_webhook_data"] > first["id_webhook_data"]


def test_a_failed_sync_sends_its_state_without_accounts(api, user, connect, receiver):
    connect("unavailable")

    body = receiver.wait_for(1)[0].json()

    assert body["connection"]["state"] == "websiteUnavailable"
    assert body["connection"]["accounts"] == []


def test_an_approved_bank_page_sends_connection_synced(api, user, catalogue, receiver):
    url = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk).json()["url"]

    callback = callback_params(press(url, "approve"))

    body = receiver.wait_for(1)[0].json()
    assert body["connection"]["id"] == int(callback["id_connection"])


def test_deleting_a_connection_sends_connection_deleted(api, user, connect, receiver, schema):
    created = connect()
    receiver.wait_for(1)

    api.delete(f"users/me/connections/{created['id']}", token=user.token)

    hook = receiver.wait_for(2)[1]
    assert hook.path == "/hooks/connection-deleted"
    body = hook.json()
    assert body["id"] == created["id"]
    assert body["id_user"] == user.id
    schema("connections.yml", "Connection", body)


def test_deleting_the_user_sends_user_deleted(api, user, receiver):
    api.delete("users/me", token=user.token)

    (hook,) = receiver.wait_for(1)
    assert hook.path == "/hooks/user-deleted"
    assert hook.json()["id"] == user.id
    assert "id_webhook_data" in hook.json()


def test_the_signature_leaves_the_query_string_out(api, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_URLS={"CONNECTION_SYNCED": receiver.url + "/in/hook?site=1"})
    connect()

    (hook,) = receiver.wait_for(1)

    assert hook.path == "/in/hook?site=1"
    assert hook.headers["BI-Signature"] == expected_signature(
        WEBHOOK_SECRET, "/in/hook", hook.headers["BI-Signature-Date"], hook.body
    )


def test_gzip_bodies_are_signed_uncompressed(api, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_GZIP=True)
    connect()

    (hook,) = receiver.wait_for(1)
    body = gzip.decompress(hook.body)

    assert hook.headers["Content-Encoding"] == "gzip"
    assert json.loads(body)["connection"]
    assert hook.headers["BI-Signature"] == expected_signature(
        WEBHOOK_SECRET, "/hooks/connection-synced", hook.headers["BI-Signature-Date"], body
    )


def test_bearer_mode_sends_the_users_own_token(api, user, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_AUTH="bearer")
    connect()

    (hook,) = receiver.wait_for(1)

    assert hook.headers["Authorization"] == f"Bearer {user.token}"
    assert "BI-Signature" not in hook.headers


def test_without_a_secret_webhooks_go_unsigned(api, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_SECRET=None)
    connect()

    (hook,) = receiver.wait_for(1)

    assert "BI-Signature" not in hook.headers
    assert "Authorization" not in hook.headers


def test_every_delivery_is_recorded(api, connect, receiver):
    created = connect()
    receiver.wait_for(1)

    delivery = WebhookDelivery.objects.get()

    assert delivery.status == WebhookDelivery.DELIVERED
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert json.loads(delivery.body)["connection"]["id"] == created["id"]
    assert json.loads(delivery.body)["id_webhook_data"] == delivery.pk


def test_a_failed_delivery_is_retried_on_the_next_trigger(api, user, connect, receiver):
    receiver.status = 500
    created = connect()
    receiver.wait_for(1)
    failed = WebhookDelivery.objects.get()
    assert (failed.status, failed.attempts, failed.response_status) == ("failed", 1, 500)
    assert "HTTP 500" in failed.error

    receiver.status = 200
    api.put(f"users/me/connections/{created['id']}", token=user.token)
    hooks = receiver.wait_for(3)

    failed.refresh_from_db()
    assert failed.status == WebhookDelivery.DELIVERED
    assert failed.attempts == 2
    # The retry carries the same id_webhook_data: the receiver's idempotency key.
    assert hooks[2].json()["id_webhook_data"] == hooks[0].json()["id_webhook_data"]


def test_the_retry_command_sends_failed_deliveries(api, connect, receiver):
    receiver.status = 503
    connect()
    receiver.wait_for(1)

    receiver.status = 200
    call_command("sandbox_retry_webhooks", verbosity=0)

    assert receiver.wait_for(2)
    assert WebhookDelivery.objects.get().status == WebhookDelivery.DELIVERED


def test_an_unreachable_receiver_is_recorded_as_failed(api, connect, sandbox_settings):
    sandbox_settings(WEBHOOK_URLS={"CONNECTION_SYNCED": "http://127.0.0.1:9/nowhere"})

    connect()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.FAILED
    assert delivery.response_status is None
    assert delivery.error


def test_deliveries_stop_after_the_maximum_attempts(api, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_MAX_ATTEMPTS=1)
    receiver.status = 500
    connect()
    receiver.wait_for(1)

    call_command("sandbox_retry_webhooks", verbosity=0)

    assert len(receiver.received) == 1


def test_manual_mode_records_and_the_command_sends(api, connect, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_DELIVERY="manual")
    connect()
    assert WebhookDelivery.objects.get().status == WebhookDelivery.PENDING
    assert receiver.received == []

    call_command("sandbox_retry_webhooks", verbosity=0)

    assert receiver.wait_for(1)
    assert WebhookDelivery.objects.get().status == WebhookDelivery.DELIVERED


def test_no_url_means_no_webhook_recorded(api, connect):
    connect()

    assert not WebhookDelivery.objects.exists()


def test_after_response_mode_sends_once_the_response_is_out(
    api, user, test_connector, receiver, sandbox_settings
):
    sandbox_settings(WEBHOOK_DELIVERY="after_response", WEBHOOK_TIMEOUT=10)
    # The receiver holds its answer until the test has the sandbox's response: had the
    # sandbox sent the webhook before answering, the call would time out.
    receiver.gate = threading.Event()
    body = {
        "connector_uuid": str(test_connector.uuid),
        "website": "par",
        "login": "alice",
        "password": "x",
    }

    try:
        response = api.post("users/me/connections", token=user.token, json=body, timeout=4)
    finally:
        receiver.gate.set()

    assert response.status_code == 201
    (hook,) = receiver.wait_for(1)
    assert webhooks.wait_for_deliveries(timeout=10)
    assert hook.json()["connection"]["id"] == response.json()["id"]
    assert WebhookDelivery.objects.get().status == WebhookDelivery.DELIVERED


def test_signatures_are_computed_as_documented():
    # The example of the webhooks guide's shape: METHOD.PATH.DATE.BODY.
    date = "2022-06-27T11:08:52.577831Z"
    body = '{"id": 1}'

    assert webhooks.sign("s3cret", "post", "/v1/webhook-listener", date, body) == (
        expected_signature("s3cret", "/v1/webhook-listener", date, body.encode())
    )
