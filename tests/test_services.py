"""The service layer, part one: a user's Powens identity, the catalogue, and the
operations on connections that already exist. Powens is mocked with ``responses``
(``powens_api``); each test says what Powens received and what the mirror holds after.

The link operations (webauth, callbacks, credentials, OTP) are in
test_services_links.py.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext

from powens_django import services, sync
from powens_django.models import (
    Connection,
    ConnectionSource,
    Connector,
    ConnectorSource,
    PowensUser,
)

from .factories import connection_payload, connector_payload

pytestmark = pytest.mark.django_db

ALICE_TOKEN = "alice-token-7d41c2"
BOB_TOKEN = "bob-token-90be55"
CREDENTIALS = {"client_id": "10000001", "client_secret": "test-client-secret"}
EXPAND = "expand=connector,sources"
BUG = {"code": "bug", "description": "Internal error", "message": None}


def init_answer(token: str = ALICE_TOKEN, id_user: int = 501) -> dict:
    return {"auth_token": token, "type": "permanent", "id_user": id_user}


@pytest.fixture
def alice(user_factory):
    return user_factory("alice", powens_id=501, token=ALICE_TOKEN)


@pytest.fixture
def bob(user_factory):
    return user_factory("bob", powens_id=502, token=BOB_TOKEN)


def mirror(user, *payloads: dict) -> None:
    """Put connections in the local mirror as an earlier refresh would have."""
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


def connection(powens_id: int) -> Connection:
    return Connection.objects.select_related("powens_user").get(powens_id=powens_id)


def source_states(powens_id: int) -> dict[int, bool]:
    """The connection's mirrored sources: {source id: enabled}."""
    return {s.powens_id: s.enabled for s in connection(powens_id).sources.all()}


def authorization(powens_api, index: int = 0) -> str | None:
    return powens_api.requests[index].headers.get("Authorization")


# -- ensure_powens_user ---------------------------------------------------------------


def test_first_use_creates_a_powens_user_with_the_client_credentials(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer(id_user=777))

    powens_user = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert powens_api.body() == CREDENTIALS
    assert authorization(powens_api) is None
    stored = PowensUser.objects.get(user=carol)
    assert (stored.powens_id, stored.token) == (777, ALICE_TOKEN)
    assert (powens_user.powens_id, powens_user.token) == (777, ALICE_TOKEN)


def test_the_stored_token_is_ciphertext_that_decrypts_with_the_configured_key(
    powens_api, user_factory
):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer())

    services.ensure_powens_user(carol)

    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token FROM {PowensUser._meta.db_table} WHERE user_id = %s",
            [carol.pk],
        )
        (raw,) = cursor.fetchone()
    assert ALICE_TOKEN not in raw
    key = Fernet(django_settings.POWENS["TOKEN_ENCRYPTION_KEYS"][0])
    assert key.decrypt(raw.encode()).decode() == ALICE_TOKEN


def test_later_calls_reuse_the_powens_user_without_calling_powens(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer(id_user=777))
    services.ensure_powens_user(carol)

    again = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert (again.powens_id, again.token) == (777, ALICE_TOKEN)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "json": BUG}, services.PowensUnavailable),
        ({"status": 503, "json": {"code": "maintenance"}}, services.PowensUnavailable),
        ({"body": requests.ReadTimeout("read timed out")}, services.PowensUnavailable),
        ({"body": requests.ConnectionError("connection refused")}, services.PowensUnavailable),
    ],
    ids=["500", "503", "timeout", "unreachable"],
)
def test_a_powens_failure_at_first_use_raises_and_stores_no_powens_account(
    powens_api, user_factory, answer, error
):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", **answer)

    with pytest.raises(error):
        services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert not PowensUser.objects.filter(user=carol, powens_id__isnull=False).exists()
    assert not PowensUser.objects.filter(user=carol, token__isnull=False).exists()


def test_after_a_failed_first_use_the_next_call_creates_the_powens_user(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", status=500, json=BUG)
    powens_api.add("POST", "auth/init", json=init_answer(id_user=778))
    with pytest.raises(services.PowensUnavailable):
        services.ensure_powens_user(carol)

    powens_user = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init", "POST auth/init"]
    assert PowensUser.objects.get(user=carol).powens_id == powens_user.powens_id == 778


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    db_connection.vendor != "postgresql",
    reason="needs two database connections writing at once: SQLite's shared-cache "
    "in-memory test database answers 'database table is locked' instead of waiting",
)
def test_two_concurrent_first_calls_create_one_powens_user(powens_api, user_factory):
    carol = user_factory("carol")
    inits: list[int] = []
    counter = threading.Lock()

    def slow_init(request):
        with counter:
            inits.append(1)
            number = len(inits)
        time.sleep(0.3)  # Powens takes its time: the other request arrives meanwhile
        return 200, {}, json.dumps(init_answer(f"token-{number}", 600 + number))

    powens_api.add_callback("POST", "auth/init", slow_init)
    start = threading.Barrier(2)
    got, failures = [], []

    def first_use() -> None:
        try:
            start.wait()
            got.append(services.ensure_powens_user(carol))
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert failures == []
    assert len(inits) == 1
    assert {(p.powens_id, p.token) for p in got} == {(601, "token-1")}
    assert PowensUser.objects.filter(user=carol).count() == 1
    assert PowensUser.objects.get(user=carol).powens_id == 601


# -- delete_powens_user ---------------------------------------------------------------


def test_deleting_a_users_powens_data_deletes_at_powens_then_every_local_row(
    powens_api, alice, bob
):
    mirror(alice, connection_payload(7, sources=2), connection_payload(8))
    mirror(bob, connection_payload(9))
    powens_api.add("DELETE", "users/me", status=204)

    assert services.delete_powens_user(alice).kind == services.DELETED

    assert powens_api.sent() == ["DELETE users/me"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert not PowensUser.objects.filter(user=alice).exists()
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [9]
    assert list(ConnectionSource.objects.values_list("connection__powens_id", flat=True)) == [9]


def test_a_powens_user_already_gone_at_powens_is_deleted_locally(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("DELETE", "users/me", status=404, json={"code": "notFound"})

    assert services.delete_powens_user(alice).kind == services.DELETED

    assert not PowensUser.objects.filter(user=alice).exists()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "answer",
    [{"status": 500, "json": BUG}, {"body": requests.ReadTimeout("read timed out")}],
    ids=["500", "timeout"],
)
def test_a_failed_powens_user_deletion_keeps_every_local_row(powens_api, alice, answer):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me", **answer)

    with pytest.raises(services.PowensUnavailable):
        services.delete_powens_user(alice)

    assert PowensUser.objects.get(user=alice).token == ALICE_TOKEN
    assert source_states(7) == {70: True, 71: True}


def test_deleting_the_powens_data_of_a_user_who_never_linked_a_bank_does_nothing(
    powens_api, user_factory
):
    carol = user_factory("carol")

    assert services.delete_powens_user(carol).connection_ids == ()

    assert powens_api.sent() == []


# -- refresh_catalogue ----------------------------------------------------------------


def catalogue() -> dict[str, str]:
    return dict(Connector.objects.values_list("uuid", "name"))


def uuid(i: int) -> str:
    return connector_payload(i)["uuid"]


def test_the_catalogue_is_fetched_with_fields_sources_and_countries(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    result = services.refresh_catalogue()

    assert powens_api.sent() == ["GET connectors?expand=fields,sources,countries"]
    assert authorization(powens_api) is None
    assert (result.created, result.updated, result.removed) == (1, 0, 0)
    connector = Connector.objects.get(uuid=uuid(1))
    assert connector.name == "Banque Numéro 1"
    assert len(connector.fields) == 5
    assert list(connector.sources.values_list("name", flat=True)) == [
        "openapi",
        "directaccess",
        "fallback",
    ]
    assert list(connector.countries.values_list("code", flat=True)) == ["FR"]


def test_a_full_refresh_removes_connectors_powens_no_longer_lists(powens_api):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    result = services.refresh_catalogue()

    assert result.removed == 1
    assert list(catalogue()) == [uuid(1)]
    assert not ConnectorSource.objects.filter(connector__uuid=uuid(2)).exists()


def test_a_country_filter_is_sent_upper_cased_and_removes_nothing(powens_api):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(3)]})

    result = services.refresh_catalogue(country_codes=["fr", " es ", ""])

    assert powens_api.sent() == [
        "GET connectors?country_codes=FR,ES&expand=fields,sources,countries"
    ]
    assert (result.created, result.removed) == (1, 0)
    assert sorted(catalogue()) == [uuid(1), uuid(2), uuid(3)]


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": BUG},
        {"body": requests.ReadTimeout("read timed out")},
        {"json": {"unexpected": []}},
    ],
    ids=["500", "timeout", "malformed"],
)
def test_a_failed_catalogue_refresh_leaves_the_previous_catalogue_intact(powens_api, answer):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    before = catalogue()
    powens_api.add("GET", "connectors", **answer)

    with pytest.raises(services.PowensUnavailable):
        services.refresh_catalogue()

    assert catalogue() == before
    assert ConnectorSource.objects.count() == 6


# -- fetch_connection -----------------------------------------------------------------


def test_fetching_a_connection_reads_it_and_all_its_sources_disabled_ones_included(
    powens_api, alice
):
    payload = connection_payload(7, state="SCARequired", sources=1)
    disabled = {**payload["sources"][0], "id": 71, "disabled": "2026-11-10 08:00:00"}
    powens_api.add("GET", "users/me/connections/7", json=payload)
    powens_api.add(
        "GET", "users/me/connections/7/sources", json={"sources": [payload["sources"][0], disabled]}
    )

    fetched = services.fetch_connection(alice, 7).connection

    assert powens_api.sent() == [
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]
    assert {authorization(powens_api, i) for i in (0, 1)} == {f"Bearer {ALICE_TOKEN}"}
    assert fetched.powens_id == 7
    assert fetched.state == "SCARequired"
    assert source_states(7) == {70: True, 71: False}


def test_fetching_a_connection_removes_sources_powens_no_longer_lists(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    payload = connection_payload(7, sources=1)
    powens_api.add("GET", "users/me/connections/7", json=payload)
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": payload["sources"]})

    services.fetch_connection(alice, 7)

    assert source_states(7) == {70: True}


def test_a_connection_powens_does_not_know_is_none_and_its_local_copy_is_removed(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("GET", "users/me/connections/7", status=404, json={"code": "notFound"})

    assert services.fetch_connection(alice, 7).kind == services.DELETED

    assert powens_api.sent() == [f"GET users/me/connections/7?{EXPAND}"]
    assert not Connection.objects.exists()
    assert not ConnectionSource.objects.exists()


def test_fetching_another_users_connection_finds_nothing_and_leaves_it_alone(
    powens_api, alice, bob
):
    mirror(bob, connection_payload(9, state="wrongpass"))
    powens_api.add("GET", "users/me/connections/9", status=404, json={"code": "notFound"})

    assert services.fetch_connection(alice, 9).kind == services.DELETED

    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    bobs = connection(9)
    assert (bobs.powens_user.user, bobs.state) == (bob, "wrongpass")
    assert source_states(9) == {90: True}


def test_fetching_for_a_user_without_a_powens_account_calls_nothing(powens_api, user_factory):
    carol = user_factory("carol")

    assert services.fetch_connection(carol, 7).kind == services.DELETED

    assert powens_api.sent() == []
    assert not PowensUser.objects.filter(user=carol, powens_id__isnull=False).exists()


def test_a_failed_fetch_raises_and_keeps_the_local_copy(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add("GET", "users/me/connections/7", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.fetch_connection(alice, 7)

    assert connection(7).state == "SCARequired"


# -- fetch_connections ----------------------------------------------------------------


def test_fetching_all_connections_mirrors_the_list_and_removes_the_ones_gone(
    powens_api, alice, bob
):
    mirror(alice, connection_payload(6), connection_payload(7, state="SCARequired"))
    mirror(bob, connection_payload(9))
    listed = [connection_payload(7), connection_payload(8, state="decoupled")]
    powens_api.add("GET", "users/me/connections", json={"connections": listed})

    result = services.fetch_connections(alice)

    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert (result.created, result.updated, result.removed) == (1, 1, 1)
    mine = Connection.objects.filter(powens_user__user=alice)
    assert dict(mine.values_list("powens_id", "state")) == {7: None, 8: "decoupled"}
    assert connection(9).powens_user.user == bob


def test_a_failed_list_of_connections_keeps_every_local_one(powens_api, alice):
    mirror(alice, connection_payload(6), connection_payload(7))
    powens_api.add("GET", "users/me/connections", status=503, json={"code": "maintenance"})

    with pytest.raises(services.PowensUnavailable):
        services.fetch_connections(alice)

    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == [6, 7]


def test_fetching_all_connections_of_a_user_without_a_powens_account_calls_nothing(
    powens_api, user_factory
):
    carol = user_factory("carol")

    result = services.fetch_connections(carol)

    assert (result.created, result.updated, result.removed) == (0, 0, 0)
    assert powens_api.sent() == []


# -- sync_connection ------------------------------------------------------------------


@pytest.mark.parametrize(("psu_requested", "sent"), [(True, "true"), (False, "false")])
def test_a_sync_is_a_put_saying_whether_the_person_asked_for_it(
    powens_api, alice, psu_requested, sent
):
    mirror(alice, connection_payload(7, last_update="2026-11-20 10:00:00"))
    fresh = connection_payload(7, last_update="2026-11-22 18:30:00")
    powens_api.add("PUT", "users/me/connections/7", json=fresh)

    outcome = services.sync_connection(connection(7), psu_requested=psu_requested)

    assert powens_api.sent() == [f"PUT users/me/connections/7?psu_requested={sent}&{EXPAND}"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert outcome.kind == services.CONNECTED
    assert connection(7).last_update == dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.UTC)


def test_a_sync_must_say_whether_the_person_asked(powens_api, alice):
    mirror(alice, connection_payload(7))

    with pytest.raises(TypeError, match="psu_requested"):
        services.sync_connection(connection(7))  # type: ignore[call-arg]

    assert powens_api.sent() == []


def test_sync_now_is_the_persons_own_request(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))

    services.sync_now(connection(7))

    assert powens_api.query()["psu_requested"] == "true"


def test_a_sync_that_needs_sca_says_reauthenticate(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7, state="SCARequired"))

    outcome = services.sync_connection(connection(7), psu_requested=True)

    assert (outcome.kind, outcome.state) == (services.REAUTHENTICATE, "SCARequired")
    assert connection(7).state == "SCARequired"


def test_a_sync_refused_with_409_raises_and_changes_nothing_locally(powens_api, alice):
    mirror(alice, connection_payload(7, state="bug"))
    before = connection(7)
    powens_api.add(
        "PUT",
        "users/me/connections/7",
        status=409,
        json={"code": "connectionLocked", "description": "A sync is running"},
    )

    with pytest.raises(services.SyncInProgress):
        services.sync_connection(before, psu_requested=False)

    after = connection(7)
    assert (after.state, after.synced_at, after.raw) == (before.state, before.synced_at, before.raw)


# -- set_connection_active ------------------------------------------------------------


@pytest.mark.parametrize("active", [False, True])
def test_turning_automatic_syncs_on_or_off_posts_active(powens_api, alice, active):
    mirror(alice, connection_payload(7, active=not active))
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7, active=active))

    updated = services.set_connection_active(connection(7), active).connection

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {"active": active}
    assert updated.active is active
    assert connection(7).active is active


def test_a_refused_activation_change_raises_and_keeps_the_local_flag(powens_api, alice):
    mirror(alice, connection_payload(7, active=True))
    powens_api.add("POST", "users/me/connections/7", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.set_connection_active(connection(7), False)

    assert connection(7).active is True


# -- set_source_enabled ---------------------------------------------------------------


def test_disabling_a_source_posts_it_then_refreshes_the_connection(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    payload = connection_payload(7, sources=2)
    payload["sources"][1]["disabled"] = "2026-11-22 12:00:00"
    powens_api.add("POST", "users/me/connections/7/sources/71", json=payload["sources"][1])
    powens_api.add(
        "GET", "users/me/connections/7", json={**payload, "sources": [payload["sources"][0]]}
    )
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": payload["sources"]})

    refreshed = services.set_source_enabled(
        ConnectionSource.objects.get(powens_id=71), False
    ).connection

    assert powens_api.sent() == [
        "POST users/me/connections/7/sources/71?all",
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]
    assert powens_api.body() == {"disabled": True}
    assert refreshed.powens_id == 7
    assert source_states(7) == {70: True, 71: False}


def test_enabling_a_disabled_source_posts_disabled_false(powens_api, alice):
    payload = connection_payload(7, sources=2)
    payload["sources"][1]["disabled"] = "2026-11-22 12:00:00"
    mirror(alice, payload)
    enabled = connection_payload(7, sources=2)
    powens_api.add("POST", "users/me/connections/7/sources/71", json=enabled["sources"][1])
    powens_api.add("GET", "users/me/connections/7", json=enabled)
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": enabled["sources"]})

    services.set_source_enabled(ConnectionSource.objects.get(powens_id=71), True)

    assert powens_api.body() == {"disabled": False}
    assert source_states(7) == {70: True, 71: True}


def test_a_refused_source_change_raises_and_keeps_the_source_as_it_was(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("POST", "users/me/connections/7/sources/71", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.set_source_enabled(ConnectionSource.objects.get(powens_id=71), False)

    assert powens_api.sent() == ["POST users/me/connections/7/sources/71?all"]
    assert source_states(7) == {70: True, 71: True}


# -- connection_logs ------------------------------------------------------------------

LOGS = [{"id": 3, "id_connection": 7, "timestamp": "2026-11-20 10:00:00", "state": None}]


def test_connection_logs_are_read_with_the_documented_filters(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("GET", "users/me/connections/7/logs", json={"connectionlogs": LOGS})

    logs = services.connection_logs(
        connection(7),
        limit=20,
        offset=40,
        min_date=dt.date(2026, 11, 1),
        max_date=dt.date(2026, 11, 30),
        source=ConnectionSource.objects.get(powens_id=71),
    )

    assert logs == LOGS
    assert powens_api.sent() == [
        "GET users/me/connections/7/logs?limit=20&offset=40&min_date=2026-11-01"
        "&max_date=2026-11-30&id_source=71"
    ]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"


def test_connection_logs_default_to_the_latest_fifty(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7/logs", json={"connectionlogs": []})

    assert services.connection_logs(connection(7)) == []

    assert powens_api.sent() == ["GET users/me/connections/7/logs?limit=50"]


def test_unreadable_connection_logs_raise(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7/logs", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.connection_logs(connection(7))


# -- delete_connection ----------------------------------------------------------------


def test_deleting_a_connection_deletes_it_at_powens_then_locally(powens_api, alice, bob):
    mirror(alice, connection_payload(7, sources=2), connection_payload(8))
    mirror(bob, connection_payload(9))
    powens_api.add("DELETE", "users/me/connections/7", status=204)

    services.delete_connection(connection(7))

    assert powens_api.sent() == ["DELETE users/me/connections/7"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == [8, 9]
    assert not ConnectionSource.objects.filter(powens_id__in=[70, 71]).exists()


def test_a_connection_already_gone_at_powens_is_deleted_locally(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me/connections/7", status=404, json={"code": "notFound"})

    services.delete_connection(connection(7))

    assert not Connection.objects.exists()
    assert not ConnectionSource.objects.exists()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "json": BUG}, services.PowensUnavailable),
        ({"status": 409, "json": {"code": "connectionLocked"}}, services.SyncInProgress),
        ({"body": requests.ReadTimeout("read timed out")}, services.PowensUnavailable),
    ],
    ids=["500", "409", "timeout"],
)
def test_a_failed_deletion_at_powens_keeps_the_local_connection_and_raises(
    powens_api, alice, answer, error
):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me/connections/7", **answer)

    with pytest.raises(error):
        services.delete_connection(connection(7))

    assert source_states(7) == {70: True, 71: True}


def test_a_deletion_refused_for_another_reason_than_not_found_keeps_the_connection(
    powens_api, alice
):
    # Only 404 means "already gone"; a refused token (401) must not delete anything.
    mirror(alice, connection_payload(7))
    powens_api.add("DELETE", "users/me/connections/7", status=401, json={"code": "forbidden"})

    with pytest.raises(services.PowensRefused) as raised:
        services.delete_connection(connection(7))

    assert raised.value.powens_error.status == 401
    assert Connection.objects.filter(powens_id=7).exists()


# -- user_connections -----------------------------------------------------------------


def queries_to_list_connections(user) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        shown = [
            (c.connector.name, c.state_info, [s.name for s in c.sources.all()])
            for c in services.user_connections(user)
        ]
    assert shown
    return len(queries)


def test_listing_a_users_connections_takes_as_many_queries_for_1_as_for_100(alice, user_factory):
    sync.sync_connectors([connector_payload(i) for i in range(1, 4)])
    dave = user_factory("dave", powens_id=503, token="dave-token")
    mirror(alice, connection_payload(7, connector_uuid=uuid(1), sources=2))
    mirror(
        dave,
        *[
            connection_payload(1000 + i, connector_uuid=uuid(1 + i % 3), sources=2)
            for i in range(100)
        ],
    )

    assert queries_to_list_connections(alice) == queries_to_list_connections(dave)


def test_a_users_connections_are_only_their_own(alice, bob):
    mirror(alice, connection_payload(7), connection_payload(8))
    mirror(bob, connection_payload(9))

    assert sorted(c.powens_id for c in services.user_connections(alice)) == [7, 8]
