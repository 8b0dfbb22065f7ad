"""The service layer against the sandbox over real HTTP (live_server): the client,
the wire format and the mirror working together, through the host-project fixture
``powens_django.testing.powens_sandbox``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from django.db import connection as db

from powens_django import services
from powens_django.client import AuthenticationError, NotFoundError
from powens_django.conf import get_client
from powens_django.models import Connection, ConnectionSource, Connector, PowensUser
from powens_django.sandbox import faults
from powens_django.testing import webhook_signature_headers

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Live-Secret-Pass-42!"


@pytest.fixture
def alice(django_user_model):
    """Alice without a Powens account yet (unlike conftest's): the sandbox makes it."""
    return django_user_model.objects.create_user("alice", password="unused")


def the_test_bank() -> Connector:
    return Connector.objects.get(name="Connecteur de test")


def link(user, login: str, **extra: str) -> services.LinkOutcome:
    values = {"website": "par", "login": login, "password": PASSWORD, **extra}
    return services.add_credentials_connection(user, the_test_bank(), values)


def test_the_catalogue_is_mirrored_from_the_sandbox(powens_sandbox):
    bank = the_test_bank()
    assert bank.auth_mechanism == "credentials"
    assert {f["name"] for f in bank.fields} >= {"website", "login", "password"}
    assert Connector.objects.count() >= 20


def test_a_first_link_creates_one_powens_user_with_an_encrypted_token(powens_sandbox, alice):
    powens_user = services.ensure_powens_user(alice)
    again = services.ensure_powens_user(alice)

    assert again.powens_id == powens_user.powens_id
    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM powens_django_powensuser")
        [(stored,)] = cursor.fetchall()
    assert stored != powens_user.token
    assert services.client_for(powens_user).get_user()["id"] == powens_user.powens_id


def test_credentials_connect_and_the_mirror_holds_the_connection(powens_sandbox, alice):
    outcome = link(alice, "alice")

    assert outcome.kind == services.CONNECTED
    connection = Connection.objects.get(powens_user__user=alice)
    assert connection.state is None
    assert connection.last_update is not None
    assert connection.connector == the_test_bank()
    assert connection.sources.exists()


def test_a_wrong_password_creates_nothing(powens_sandbox, alice):
    outcome = link(alice, "wrongpass")

    assert outcome.kind == services.WRONG_CREDENTIALS
    assert outcome.message
    assert not Connection.objects.exists()


def test_an_otp_step_is_answered_and_completes(powens_sandbox, alice):
    asked = link(alice, "otp")
    assert asked.kind == services.NEEDS_FIELDS
    assert [f["name"] for f in asked.fields] == ["otp"]

    refused = services.submit_connection_fields(asked.connection, {"otp": "000000"})
    assert refused.kind == services.NEEDS_FIELDS
    done = services.submit_connection_fields(asked.connection, {"otp": "123456"})
    assert done.kind == services.CONNECTED
    assert Connection.objects.get().state is None


def test_a_decoupled_connection_resumes(powens_sandbox, alice):
    waiting = link(alice, "decoupled")
    assert waiting.kind == services.DECOUPLED

    resumed = services.resume_decoupled(waiting.connection)

    assert resumed.kind == services.CONNECTED


def test_sca_is_cleared_by_a_user_initiated_update(powens_sandbox, alice):
    connection = link(alice, "sca").connection

    assert services.sync_connection(connection, psu_requested=True).kind == services.REAUTHENTICATE
    assert services.reauthenticate(Connection.objects.get()).kind == services.CONNECTED


def test_an_unknown_future_state_is_kept_and_routed_generically(powens_sandbox, alice):
    outcome = link(alice, "future")

    assert outcome.kind == services.UNKNOWN_STATE
    assert Connection.objects.get().state_info.known is False


def test_refresh_sources_logs_and_activity(powens_sandbox, alice):
    link(alice, "alice")
    connection = Connection.objects.get()

    refreshed_all = services.fetch_connections(alice)
    assert (refreshed_all.created, refreshed_all.removed) == (0, 0)
    assert refreshed_all.updated + refreshed_all.unchanged == 1
    source = ConnectionSource.objects.filter(connection=connection).first()
    refreshed = services.set_source_enabled(source, False).connection
    assert refreshed.sources.get(pk=source.pk).disabled is not None  # kept, disabled
    services.set_source_enabled(ConnectionSource.objects.get(pk=source.pk), True)
    assert ConnectionSource.objects.get(pk=source.pk).disabled is None
    assert services.set_connection_active(connection, False).connection.active is False
    logs = services.connection_logs(connection)
    assert logs, "the connection's first sync is logged"
    assert {log["id_connection"] for log in logs} == {connection.powens_id}
    assert all(log["timestamp"] for log in logs)


def test_delete_removes_the_connection_at_powens_and_here(powens_sandbox, alice):
    link(alice, "alice")
    connection = Connection.objects.get()
    powens_user = connection.powens_user

    services.delete_connection(connection)

    assert not Connection.objects.exists()
    with pytest.raises(NotFoundError):
        services.client_for(powens_user).get_connection(connection.powens_id)


def test_gdpr_erasure_deletes_the_user_at_powens_then_locally(powens_sandbox, alice):
    link(alice, "alice")
    token = PowensUser.objects.get(user=alice).token

    assert services.delete_powens_user(alice).kind == services.DELETED

    assert not PowensUser.objects.exists()
    assert not Connection.objects.exists()
    with pytest.raises(AuthenticationError):
        get_client(token).get_user()


def test_a_sandbox_outage_leaves_the_mirror_as_it_was(powens_sandbox, alice, settings):
    link(alice, "alice")
    before = list(Connection.objects.values_list("powens_id", "state", "raw_hash"))
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "FAULTS": "503:1"}
    faults.reset()

    with pytest.raises(services.PowensUnavailable) as raised:
        services.fetch_connections(alice)

    assert raised.value.powens_error.status == 503
    assert list(Connection.objects.values_list("powens_id", "state", "raw_hash")) == before


def test_webhook_signature_headers_match_the_documented_example():
    body = '{"id": 1}'
    moment = dt.datetime(2022, 6, 27, 11, 8, 52, 577831, tzinfo=dt.UTC)

    headers = webhook_signature_headers(
        body, path="/v1/webhook-listener", secret="s3cret", date=moment
    )

    signed = b"POST./v1/webhook-listener.2022-06-27T11:08:52.577831Z." + body.encode()
    expected = base64.b64encode(hmac.new(b"s3cret", signed, hashlib.sha256).digest()).decode()
    assert headers == {"BI-Signature": expected, "BI-Signature-Date": "2022-06-27T11:08:52.577831Z"}
