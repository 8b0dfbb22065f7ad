"""The receiver: what it accepts, what it refuses, and that a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from decimal import Decimal

import pytest

from powens_django import signals
from powens_django.models import BankAccount, Connection, ConnectionSource, WebhookEvent
from powens_django.services import webhooks as service
from powens_django.testing import webhook_signature_headers
from tests.factories import connection_payload
from tests.powens_api import ALICE_TOKEN

from ..services.helpers import mirror
from .conftest import SECRET, post, synced_body, url

pytestmark = pytest.mark.django_db


def nothing_mirrored():
    return not Connection.objects.exists() and not BankAccount.objects.exists()


def only_event():
    return WebhookEvent.objects.get()


# -- a good delivery -------------------------------------------------------------------------


def test_a_signed_connection_synced_mirrors_the_connection_its_sources_and_accounts(
    client, alice, received
):
    response = post(client, synced_body(7, accounts=2, transactions=3))

    assert response.status_code == 200
    connection = Connection.objects.get(powens_id=7)
    assert connection.powens_user.user == alice
    assert ConnectionSource.objects.filter(connection=connection).count() == 1
    assert sorted(BankAccount.objects.values_list("powens_id", flat=True)) == [700, 701]
    assert BankAccount.objects.get(powens_id=700).balance == Decimal("1234.56")
    event = only_event()
    assert (event.event_type, event.id_webhook_data, event.valid) == ("CONNECTION_SYNCED", 1, True)
    assert event.processed is not None and event.result == "mirrored" and event.error == ""
    assert (event.powens_user_id, event.powens_connection_id) == (501, 7)
    # The host gets the transactions the package does not store.
    [call] = received
    assert call["event_type"] == "CONNECTION_SYNCED" and call["connection"] == connection
    assert len(call["payload"]["connection"]["accounts"][0]["transactions"]) == 3


def test_recorded_headers_keep_no_secret(client, alice):
    post(client, synced_body(), headers={"Authorization": "Bearer abc", "Cookie": "s=1"})

    headers = {k.lower(): v for k, v in only_event().headers.items()}
    assert headers["bi-signature"] == headers["authorization"] == headers["cookie"] == "<redacted>"
    assert headers["bi-signature-date"].endswith("Z")


def test_a_gzip_body_is_accepted(client, alice):
    raw = json.dumps(synced_body()).encode()
    signed = webhook_signature_headers(raw, path=url(), secret=SECRET)

    response = client.post(
        url(),
        data=gzip.compress(raw),
        content_type="application/json",
        headers={**signed, "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert Connection.objects.filter(powens_id=7).exists()


def test_a_gzip_body_signed_compressed_is_accepted_too(client, alice):
    wire = gzip.compress(json.dumps(synced_body()).encode())
    signed = webhook_signature_headers(wire, path=url(), secret=SECRET)

    response = client.post(
        url(),
        data=wire,
        content_type="application/json",
        headers={**signed, "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200


def test_any_secret_of_the_rotation_is_accepted(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_SECRETS": ["new-secret", SECRET]}

    assert post(client, synced_body(webhook_id=1), secret="new-secret").status_code == 200
    assert post(client, synced_body(webhook_id=2), secret=SECRET).status_code == 200


def test_behind_a_proxy_the_public_path_is_the_one_checked(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_PATH_PREFIX": "/api/hooks/powens/"}

    signed_for_django = post(client, synced_body(webhook_id=1))
    signed_for_public = post(
        client, synced_body(webhook_id=2), path="/api/hooks/powens/connection-synced/"
    )

    assert (signed_for_django.status_code, signed_for_public.status_code) == (403, 200)


def test_the_user_token_authenticates_when_bearer_is_configured(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}

    response = post(
        client, synced_body(), secret=None, headers={"Authorization": f"Bearer {ALICE_TOKEN}"}
    )

    assert response.status_code == 200
    assert Connection.objects.filter(powens_id=7).exists()


def test_with_both_methods_either_one_is_enough(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["hmac", "bearer"]}

    signed = post(client, synced_body(webhook_id=1))
    bearer = post(
        client,
        synced_body(webhook_id=2),
        secret=None,
        headers={"Authorization": f"Bearer {ALICE_TOKEN}"},
    )

    assert (signed.status_code, bearer.status_code) == (200, 200)


def test_an_unknown_event_type_is_recorded_signalled_and_acknowledged(client, alice, received):
    body = {"id_webhook_data": 5, "id_user": 501, "something": "new"}

    response = post(client, body, event="account-teleported")

    assert response.status_code == 200
    event = only_event()
    assert event.event_type == "ACCOUNT_TELEPORTED" and event.processed is not None
    assert event.result.startswith("unknown type")
    assert [c["event_type"] for c in received] == ["ACCOUNT_TELEPORTED"]


def test_a_known_type_the_package_does_not_mirror_is_signalled(client, alice, received):
    response = post(client, {"id_webhook_data": 6, "id_user": 501}, event="account-found")

    assert response.status_code == 200
    assert [c["event_type"] for c in received] == ["ACCOUNT_FOUND"]


def test_connection_synced_for_an_unknown_powens_user_is_acknowledged_and_mirrors_nothing(
    client, alice
):
    response = post(client, synced_body(user_id=999))

    assert response.status_code == 200
    assert nothing_mirrored()
    assert only_event().result == "unknown Powens user: not mirrored"


def test_connection_synced_never_moves_another_users_connection(client, alice, bob):
    mirror(bob, connection_payload(7, state="wrongpass"))

    response = post(client, synced_body(7, user_id=501))

    assert response.status_code == 200
    connection = Connection.objects.get(powens_id=7)
    assert connection.powens_user.user == bob and connection.state == "wrongpass"
    assert not BankAccount.objects.exists()


def test_an_older_sync_delivered_late_does_not_overwrite_a_newer_mirror(client, alice, received):
    mirror(alice, connection_payload(7, last_update="2026-11-25 10:00:00", state=None))

    response = post(client, synced_body(7, last_update="2026-11-20 10:00:00", state="wrongpass"))

    assert response.status_code == 200
    assert Connection.objects.get(powens_id=7).state is None
    assert only_event().result == "older than the mirror: not mirrored"
    assert len(received) == 1  # the host still gets the transactions


def test_connection_deleted_removes_the_local_connection_and_its_accounts(client, alice):
    post(client, synced_body(7))
    body = {"id_webhook_data": 2, **connection_payload(7, id_user=501)}

    response = post(client, body, event="connection-deleted")

    assert response.status_code == 200
    assert nothing_mirrored()


def test_connection_deleted_of_another_users_connection_deletes_nothing(client, alice, bob):
    mirror(bob, connection_payload(7))

    response = post(
        client, {"id_webhook_data": 2, "id": 7, "id_user": 501}, event="connection-deleted"
    )

    assert response.status_code == 200
    assert Connection.objects.filter(powens_id=7).exists()


def test_user_deleted_forgets_the_powens_user_locally(client, alice):
    post(client, synced_body(7))

    response = post(client, {"id_webhook_data": 3, "id": 501, "signin": "x"}, event="user-deleted")

    assert response.status_code == 200
    assert nothing_mirrored()
    alice.refresh_from_db()
    assert not hasattr(alice, "powens_user") or alice.powens_user is None


# -- duplicates ---------------------------------------------------------------------------


def test_a_delivery_already_processed_is_acknowledged_and_does_nothing(client, alice, received):
    body = synced_body()
    post(client, body)
    Connection.objects.all().delete()  # would come back if it were processed again

    response = post(client, body)

    assert response.status_code == 200 and response.json()["status"] == "already_processed"
    assert not Connection.objects.exists()
    assert len(received) == 1
    assert only_event().deliveries == 2


# -- refusals: nothing changes ------------------------------------------------------------------


@pytest.fixture
def refused(client, alice, caplog):
    """Post a delivery and check it was refused with nothing mirrored or signalled."""
    calls = []
    signals.webhook_received.connect(
        lambda sender, **kw: calls.append(kw), weak=False, dispatch_uid="t"
    )

    def check(response, status, refusal):
        assert response.status_code == status, response.content
        assert nothing_mirrored() and not calls
        event = WebhookEvent.objects.order_by("-pk").first()
        assert event is not None and not event.valid and event.refusal == refusal
        assert event.processed is None
        return event

    caplog.set_level(logging.WARNING, "powens_django.webhooks")
    yield check
    signals.webhook_received.disconnect(dispatch_uid="t")


def test_a_forged_signature_is_refused(client, refused):
    event = refused(post(client, synced_body(), secret="guessed"), 403, "bad_signature")

    assert event.id_webhook_data == 1  # recorded for diagnosis...
    # ...without taking the id: the real delivery is still processed.
    assert post(client, synced_body()).status_code == 200


def test_a_body_changed_after_signing_is_refused(client, refused):
    raw = json.dumps(synced_body()).encode()
    signed = webhook_signature_headers(raw, path=url(), secret=SECRET)
    tampered = raw.replace(b'"balance": 1234.56', b'"balance": 9999999')

    response = client.post(url(), data=tampered, content_type="application/json", headers=signed)

    refused(response, 403, "bad_signature")


def test_a_signature_for_another_event_type_is_refused(client, refused):
    raw = json.dumps(synced_body()).encode()
    signed = webhook_signature_headers(raw, path=url("user-deleted"), secret=SECRET)

    refused(
        client.post(url(), data=raw, content_type="application/json", headers=signed),
        403,
        "bad_signature",
    )


def test_an_unsigned_delivery_is_refused(client, refused):
    refused(post(client, synced_body(), secret=None), 401, "missing_signature")


@pytest.mark.parametrize("minutes", [-10, 10])
def test_a_stale_or_future_signature_date_is_refused(client, refused, minutes):
    raw = json.dumps(synced_body()).encode()
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    signed = webhook_signature_headers(raw, path=url(), secret=SECRET, date=moment)

    refused(
        client.post(url(), data=raw, content_type="application/json", headers=signed),
        401,
        "stale_signature",
    )


def test_a_replay_of_a_captured_delivery_after_the_tolerance_is_refused(client, alice, refused):
    raw = json.dumps(synced_body()).encode()
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=301)
    signed = webhook_signature_headers(raw, path=url(), secret=SECRET, date=moment)

    refused(
        client.post(url(), data=raw, content_type="application/json", headers=signed),
        401,
        "stale_signature",
    )


def test_a_garbled_signature_date_is_refused(client, refused):
    refused(
        post(client, synced_body(), headers={"BI-Signature-Date": "yesterday"}),
        401,
        "bad_signature_date",
    )


def test_a_wrong_bearer_token_is_refused(client, refused, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}

    response = post(
        client, synced_body(), secret=None, headers={"Authorization": "Bearer not-alices"}
    )

    refused(response, 403, "bad_token")


def test_a_bearer_token_of_another_user_is_refused(client, refused, bob, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}
    from tests.powens_api import BOB_TOKEN

    response = post(
        client,
        synced_body(user_id=501),
        secret=None,
        headers={"Authorization": f"Bearer {BOB_TOKEN}"},
    )

    refused(response, 403, "bad_token")


def test_a_bearer_delivery_for_an_unknown_user_is_refused_quietly(client, refused, settings):
    # 202: nothing to do for a user unknown here, and an error would make Powens pause
    # the webhook after ten tries.
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}

    response = post(
        client, synced_body(user_id=999), secret=None, headers={"Authorization": "Bearer x"}
    )

    refused(response, 202, "unknown_user")


def test_without_any_authentication_configured_everything_is_refused(client, refused, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_SECRETS": []}

    refused(post(client, synced_body()), 403, "no_secret")


def test_an_oversized_body_is_refused_before_it_is_read(client, refused, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_MAX_BODY_SIZE": 1000}

    event = refused(post(client, synced_body(accounts=5, transactions=20)), 413, "too_large")

    assert event.body_text == "" and event.body_size == 0


class Endless:
    """A request body that never ends, counting what was read of it."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        self.read_bytes += size
        return b"x" * size


def test_an_endless_body_is_cut_off_while_reading():
    stream = Endless()

    with pytest.raises(service.WebhookRefused) as refused:
        service.read_body(stream, content_length=None, limit=1_000_000)

    assert refused.value.refusal == "too_large" and refused.value.http_status == 413
    assert stream.read_bytes <= 1_000_000 + 64 * 1024


def test_a_gzip_bomb_is_refused(client, refused, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_MAX_BODY_SIZE": 100_000}
    bomb = gzip.compress(b"{" + b" " * 10_000_000 + b"}")

    response = client.post(
        url(),
        data=bomb,
        content_type="application/json",
        headers={
            **webhook_signature_headers(bomb, path=url(), secret=SECRET),
            "Content-Encoding": "gzip",
        },
    )

    refused(response, 413, "too_large")


def test_a_truncated_gzip_body_is_refused(client, refused):
    raw = json.dumps(synced_body()).encode()
    wire = gzip.compress(raw)[:-20]

    response = client.post(
        url(),
        data=wire,
        content_type="application/json",
        headers={
            **webhook_signature_headers(raw, path=url(), secret=SECRET),
            "Content-Encoding": "gzip",
        },
    )

    refused(response, 400, "bad_gzip")


def test_an_unknown_content_encoding_is_refused(client, refused):
    refused(
        post(client, synced_body(), headers={"Content-Encoding": "br"}), 415, "unsupported_encoding"
    )


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_a_malformed_body_is_refused(client, refused, raw):
    refused(post(client, raw), 400, "malformed")


@pytest.mark.parametrize("webhook_id", [None, "12", 0, -1, True, 2**64])
def test_a_body_without_a_usable_delivery_id_is_refused(client, refused, webhook_id):
    body = synced_body()
    if webhook_id is None:
        del body["id_webhook_data"]
    else:
        body["id_webhook_data"] = webhook_id

    refused(post(client, body), 400, "missing_id")


def test_a_connection_synced_without_a_connection_is_refused_and_kept_as_failed(client, alice):
    response = post(client, {"id_webhook_data": 9, "user": {"id": 501}, "connection": "x"})

    assert response.status_code == 400
    event = only_event()
    assert event.valid and event.processed is None and "without a connection id" in event.error


def test_only_post_is_accepted(client):
    assert client.get(url()).status_code == 405
    assert not WebhookEvent.objects.exists()


def test_a_malformed_event_segment_is_not_found(client):
    assert (
        client.post(
            "/powens/webhooks/Connection_Synced/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )


def test_a_refusal_is_logged_without_the_signature(client, alice, caplog):
    caplog.set_level(logging.WARNING, "powens_django.webhooks")
    response = post(client, synced_body(), secret="guessed")
    signature = response.request.get("HTTP_BI_SIGNATURE") if hasattr(response, "request") else None

    assert "bad_signature" in caplog.text
    if signature:
        assert signature not in caplog.text


def test_the_body_is_kept_compressed_and_reads_back_exactly(client, alice):
    raw = json.dumps(synced_body(accounts=5, transactions=200)).encode()
    signed = webhook_signature_headers(raw, path=url(), secret=SECRET)

    client.post(url(), data=raw, content_type="application/json", headers=signed)

    event = only_event()
    assert event.body_bytes == raw and event.body_size == len(raw)
    assert len(bytes(event.body)) < len(raw) / 5


def test_a_refused_body_is_kept_cut_to_its_first_8_kib(client, alice):
    raw = json.dumps(synced_body(accounts=10, transactions=500)).encode()
    assert len(raw) > 8 * 1024

    post(client, raw, secret="guessed")

    event = only_event()
    assert event.body_bytes == raw[: 8 * 1024] and event.body_size == len(raw)


# -- hostile bodies (found in review) ----------------------------------------------------------


@pytest.mark.parametrize("where", ["id_user", "user"])
def test_a_user_id_beyond_any_column_is_refused_not_a_500(client, refused, where):
    body = {"id_webhook_data": 1}
    if where == "user":
        body["user"] = {"id": 2**64}
    else:
        body["id_user"] = 2**64

    refused(post(client, body, secret=None), 401, "missing_signature")
    assert WebhookEvent.objects.get().powens_user_id is None


def test_a_signed_body_naming_a_huge_user_id_is_not_a_500(client, alice):
    response = post(client, synced_body(user_id=2**64))

    assert response.status_code in (200, 400)
    assert not Connection.objects.exists()


def test_json_nested_too_deep_is_refused_before_authentication(client, refused, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}

    response = client.post(
        url(),
        data=b"[" * 100_000,
        content_type="application/json",
        headers={"Authorization": "Bearer x"},
    )

    refused(response, 400, "malformed")


def test_an_infinite_id_inside_a_signed_payload_does_not_fail_the_sync(client, alice):
    body = synced_body(accounts=1)
    body["connection"]["accounts"][0]["id_source"] = float("inf")
    raw = json.dumps(body)  # Python writes Infinity, and its parser reads it back
    assert "Infinity" in raw

    response = post(client, raw.encode())

    assert response.status_code == 200
    assert BankAccount.objects.get().powens_source_id is None


def test_a_retry_under_a_known_id_is_processed_from_the_first_body(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_AUTH": ["bearer"]}
    bearer = {"Authorization": f"Bearer {ALICE_TOKEN}"}

    def broken(sender, **kwargs):
        raise RuntimeError("down")

    signals.webhook_received.connect(broken, dispatch_uid="down")
    try:
        post(client, synced_body(7, webhook_id=5), secret=None, headers=bearer)
    finally:
        signals.webhook_received.disconnect(dispatch_uid="down")
    swapped = post(client, synced_body(8, webhook_id=5), secret=None, headers=bearer)

    assert swapped.status_code == 200
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]
