"""Powens payloads -> rows: the catalogue refresh and the connection mirror.

What a site observes: the rows and values after a sync, the counts it reports, the
number of queries it makes (flat whatever the catalogue size), that an identical payload
writes nothing, that a failure leaves the previous rows, and the signals host projects
receive (once, after commit).
"""

import datetime as dt
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from powens_django import signals
from powens_django.models import (
    Connection,
    ConnectionSource,
    Connector,
    ConnectorCountry,
    ConnectorSource,
    PowensUser,
)
from powens_django.sync import forget_connection, sync_connections, sync_connectors
from tests.concurrency import postgresql_only
from tests.factories import connection_payload, connector_payload

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def catalogue(numbers, **extra):
    return [connector_payload(i, **extra) for i in numbers]


def writes(queries):
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(WRITES)]


def count_queries(call):
    with CaptureQueriesContext(db_connection) as queries:
        result = call()
    return len(queries), result


def names():
    return dict(Connector.objects.values_list("uuid", "name"))


def source_ids(connector_number):
    uuid = connector_payload(connector_number)["uuid"]
    return set(
        ConnectorSource.objects.filter(connector__uuid=uuid).values_list("powens_id", flat=True)
    )


def country_codes(connector_number):
    uuid = connector_payload(connector_number)["uuid"]
    return set(ConnectorCountry.objects.filter(connector__uuid=uuid).values_list("code", flat=True))


def uuid(number):
    return connector_payload(number)["uuid"]


def changed(payload, **extra):
    """The payload Powens would send after a change on its side."""
    return {**payload, "name": payload["name"] + " (nouveau nom)", **extra}


# -- catalogue: sync_connectors -------------------------------------------------------------


def test_first_sync_creates_connectors_with_their_sources_and_countries():
    result = sync_connectors(catalogue([1, 2, 3]))

    assert (result.created, result.updated, result.unchanged, result.removed) == (3, 0, 0, 0)
    assert ConnectorSource.objects.count() == 9
    assert country_codes(3) == {"FR", "ES"}
    assert country_codes(1) == {"FR"}
    connector = Connector.objects.get(uuid=uuid(1))
    assert (connector.powens_id, connector.name, connector.search_name) == (
        1,
        "Banque Numéro 1",
        "banque numero 1",
    )
    assert [f["name"] for f in connector.fields] == [f"field{f}" for f in range(5)]
    assert connector.raw == connector_payload(1)
    source = ConnectorSource.objects.get(powens_id=10)
    assert (source.connector_id, source.name, source.priority) == (connector.pk, "openapi", 1)


def test_refresh_reports_created_updated_unchanged_and_removed():
    sync_connectors(catalogue([1, 2, 3]))

    result = sync_connectors(
        [connector_payload(1), changed(connector_payload(2)), connector_payload(4)]
    )

    assert (result.created, result.updated, result.unchanged, result.removed) == (1, 1, 1, 1)
    assert set(names()) == {uuid(1), uuid(2), uuid(4)}


@pytest.mark.slow  # about 5 s: two syncs of 5,000 connectors
def test_refresh_makes_the_same_queries_for_50_and_5000_connectors_in_one_chunk():
    counts = {}
    for size in (50, 5000):
        sync_connectors([])  # empty the catalogue
        loading, result = count_queries(
            lambda n=size: sync_connectors(catalogue(range(1, n + 1)), chunk_size=5000)
        )
        assert result.created == size
        assert ConnectorSource.objects.count() == 3 * size
        # Every connector renamed with a source and a country dropped, the last connector
        # gone and a new one listed.
        refreshed = [
            changed(connector_payload(i, sources=2), countries=[{"id": "BE", "name": "Belgium"}])
            for i in range(1, size)
        ] + [connector_payload(size + 1)]
        refreshing, result = count_queries(lambda p=refreshed: sync_connectors(p, chunk_size=5000))
        assert (result.created, result.updated, result.removed) == (1, size - 1, 1)
        assert ConnectorSource.objects.count() == 2 * (size - 1) + 3
        counts[size] = {"into an empty catalogue": loading, "of a changed catalogue": refreshing}

    assert counts[50] == counts[5000]


def test_identical_payloads_write_nothing():
    sync_connectors(catalogue(range(1, 21)))
    synced_at = dict(Connector.objects.values_list("uuid", "synced_at"))

    with CaptureQueriesContext(db_connection) as queries:
        result = sync_connectors(catalogue(range(1, 21)))

    assert writes(queries) == []
    assert (result.unchanged, result.created, result.updated, result.removed) == (20, 0, 0, 0)
    assert dict(Connector.objects.values_list("uuid", "synced_at")) == synced_at


def test_a_payload_with_its_keys_in_another_order_is_identical():
    sync_connectors(catalogue([1]))
    reordered = dict(reversed(list(connector_payload(1).items())))

    with CaptureQueriesContext(db_connection) as queries:
        result = sync_connectors([reordered])

    assert writes(queries) == []
    assert result.unchanged == 1


def test_a_changed_payload_updates_only_that_connector():
    sync_connectors(catalogue([1, 2, 3]))
    before = dict(Connector.objects.values_list("uuid", "synced_at"))

    result = sync_connectors(
        [connector_payload(1), changed(connector_payload(2)), connector_payload(3)]
    )

    assert (result.updated, result.unchanged) == (1, 2)
    assert names()[uuid(2)] == "Banque Numéro 2 (nouveau nom)"
    after = dict(Connector.objects.values_list("uuid", "synced_at"))
    assert after[uuid(1)] == before[uuid(1)] and after[uuid(3)] == before[uuid(3)]
    assert after[uuid(2)] > before[uuid(2)]


def test_an_updated_connector_keeps_its_primary_key():
    sync_connectors(catalogue([1]))
    pk = Connector.objects.get().pk

    sync_connectors([changed(connector_payload(1))])

    assert Connector.objects.get().pk == pk


def test_sources_powens_no_longer_lists_are_removed():
    sync_connectors(catalogue([1, 2]))
    payload = connector_payload(1)
    payload["sources"] = [payload["sources"][0], {**payload["sources"][2], "priority": 9}]

    sync_connectors([payload, connector_payload(2)])

    assert source_ids(1) == {10, 12}
    assert ConnectorSource.objects.get(powens_id=12).priority == 9
    assert source_ids(2) == {20, 21, 22}


def test_a_source_listed_twice_is_stored_once():
    payload = connector_payload(1)
    payload["sources"].append({**payload["sources"][0], "priority": 7})

    sync_connectors([payload])

    assert source_ids(1) == {10, 11, 12}


def test_a_source_moved_to_another_connector_follows_it():
    sync_connectors(catalogue([1, 2]))
    first, second = connector_payload(1), connector_payload(2)
    second["sources"].append(first["sources"].pop())

    sync_connectors([first, second])

    assert (source_ids(1), source_ids(2)) == ({10, 11}, {12, 20, 21, 22})


def test_a_payload_without_sources_leaves_the_connectors_sources_as_they_were():
    sync_connectors(catalogue([1]))
    payload = changed(connector_payload(1))
    del payload["sources"]

    sync_connectors([payload])

    assert source_ids(1) == {10, 11, 12}


def test_countries_are_replaced_by_the_ones_powens_lists():
    sync_connectors(catalogue([3]))

    sync_connectors([connector_payload(3, countries=[{"id": "de", "name": "Germany"}, "BE"])])

    assert country_codes(3) == {"DE", "BE"}


def test_connectors_powens_no_longer_lists_are_removed_with_their_sources_and_countries():
    sync_connectors(catalogue([1, 2]))

    result = sync_connectors(catalogue([1]))

    assert result.removed == 1
    assert set(names()) == {uuid(1)}
    assert set(ConnectorSource.objects.values_list("powens_id", flat=True)) == {10, 11, 12}
    assert ConnectorCountry.objects.filter(connector__uuid=uuid(2)).count() == 0
    assert ConnectorCountry.objects.count() == 1


def test_a_partial_refresh_without_prune_removes_nothing():
    sync_connectors(catalogue([1, 2, 3]))

    result = sync_connectors([changed(connector_payload(1))], prune=False)

    assert (result.updated, result.removed) == (1, 0)
    assert set(names()) == {uuid(1), uuid(2), uuid(3)}
    assert ConnectorSource.objects.count() == 9


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"id": 9, "name": "No uuid"}, id="missing"),
        pytest.param({"id": 9, "uuid": "", "name": "Empty uuid"}, id="empty"),
        pytest.param({"id": 9, "uuid": None, "name": "Null uuid"}, id="null"),
        pytest.param({"id": 9, "uuid": 9, "name": "Number uuid"}, id="number"),
        pytest.param({"id": 9, "uuid": "x" * 65, "name": "Too long"}, id="longer-than-column"),
        pytest.param("not an object", id="not-an-object"),
    ],
)
def test_a_payload_without_a_usable_uuid_is_skipped_and_counted(bad):
    result = sync_connectors([connector_payload(1), bad, connector_payload(2)])

    assert (result.created, result.skipped) == (2, 1)
    assert set(names()) == {uuid(1), uuid(2)}


def test_a_duplicated_uuid_is_skipped_and_counted_keeping_the_first():
    result = sync_connectors([connector_payload(1), changed(connector_payload(1))])

    assert (result.created, result.skipped) == (1, 1)
    assert names() == {uuid(1): "Banque Numéro 1"}


def test_unknown_mechanisms_and_field_types_are_kept_as_they_are():
    payload = connector_payload(1, auth_mechanism="quantum", future_property={"x": [1]})
    payload["fields"][0]["type"] = "fingerprint"
    payload["sources"][0]["auth_mechanism"] = "quantum"

    sync_connectors([payload])

    connector = Connector.objects.get()
    assert connector.auth_mechanism == "quantum"
    assert str(connector.auth_mechanism_label) == "Other method"
    assert connector.fields[0]["type"] == "fingerprint"
    assert connector.raw["future_property"] == {"x": [1]}
    assert ConnectorSource.objects.get(powens_id=10).auth_mechanism == "quantum"


def test_strings_longer_than_their_column_are_truncated():
    long_name = "Caisse Régionale " * 20  # 340 characters
    payload = connector_payload(1, name=long_name, auth_mechanism="m" * 40, color="c" * 20)
    payload["sources"][0]["name"] = "s" * 100

    result = sync_connectors([payload])

    assert result.created == 1
    connector = Connector.objects.get()
    assert connector.name == long_name[:255]
    assert (connector.auth_mechanism, connector.color) == ("m" * 32, "c" * 16)
    assert connector.raw["name"] == long_name
    assert ConnectorSource.objects.get(powens_id=10).name == "s" * 64


def test_numbers_beyond_their_column_are_stored_as_null():
    payload = connector_payload(1, id=2**31, months_to_fetch=40_000)

    result = sync_connectors([payload])

    assert result.created == 1
    connector = Connector.objects.get()
    assert (connector.powens_id, connector.months_to_fetch) == (None, None)
    assert connector.raw["months_to_fetch"] == 40_000


def test_a_source_whose_id_is_beyond_its_column_is_left_out():
    payload = connector_payload(1)
    payload["sources"][1]["id"] = 2**31

    sync_connectors([payload])

    assert source_ids(1) == {10, 12}


# transaction=True: the refresh's own transaction, as in production, is what rolls back.
@pytest.mark.django_db(transaction=True)
def test_a_failure_mid_way_leaves_the_previous_catalogue_intact(monkeypatch):
    sync_connectors(catalogue([1, 2, 3]))
    before = (
        names(),
        sorted(ConnectorSource.objects.values_list("powens_id", "connector__uuid", "priority")),
        sorted(ConnectorCountry.objects.values_list("connector__uuid", "code")),
    )

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("powens_django.bulk.delete_missing", fail)
    refreshed = [changed(connector_payload(i, sources=1, countries=["BE"])) for i in (1, 2)]
    with pytest.raises(RuntimeError):
        sync_connectors([*refreshed, connector_payload(4)])

    assert (
        names(),
        sorted(ConnectorSource.objects.values_list("powens_id", "connector__uuid", "priority")),
        sorted(ConnectorCountry.objects.values_list("connector__uuid", "code")),
    ) == before


# -- connections: sync_connections ------------------------------------------------------------


@pytest.fixture
def make_powens_user():
    def make(username="alice", powens_id=1):
        user = get_user_model().objects.create_user(username)
        return PowensUser.objects.create(user=user, powens_id=powens_id, token=f"token-{username}")

    return make


@pytest.fixture
def powens_user(make_powens_user):
    return make_powens_user()


def test_a_connection_is_linked_to_a_connector_that_arrives_later(powens_user):
    sync_connections(powens_user, [connection_payload(7, connector_uuid=uuid(1))])
    assert Connection.objects.get().connector_or_none is None

    sync_connectors(catalogue([1]))

    connection = Connection.objects.get()
    assert connection.connector == Connector.objects.get(uuid=uuid(1))
    assert connection.connector_name == "Banque Numéro 1"


def test_before_its_connector_arrives_a_connection_is_named_after_its_payload(powens_user):
    embedded = {"uuid": uuid(1), "name": "Banque Embarquée"}
    payload = connection_payload(7, connector=embedded)
    del payload["connector_uuid"]

    sync_connections(powens_user, [payload])

    connection = Connection.objects.get()
    assert connection.connector_uuid == uuid(1)
    assert connection.connector_or_none is None
    assert connection.connector_name == "Banque Embarquée"


def test_before_its_connector_arrives_a_connection_without_a_name_is_a_bank(powens_user):
    sync_connections(powens_user, [connection_payload(7)])

    connection = Connection.objects.get()
    assert connection.connector_or_none is None
    assert connection.connector_name == "Bank"
    assert str(connection) == "Bank #7"


def test_a_connection_keeps_its_connector_uuid_when_the_connector_is_removed(powens_user):
    sync_connectors(catalogue([1, 2]))
    sync_connections(powens_user, [connection_payload(7, connector_uuid=uuid(1))])

    sync_connectors(catalogue([2]))

    connection = Connection.objects.get()
    assert connection.connector_uuid == uuid(1)
    assert connection.connector_or_none is None


def test_connection_ids_beyond_32_bits_are_kept(powens_user):
    sync_connections(powens_user, [connection_payload(2**40, id_connector=2**31)])

    connection = Connection.objects.get()
    assert (connection.powens_id, connection.powens_connector_id) == (2**40, None)
    assert list(ConnectionSource.objects.values_list("powens_id", flat=True)) == [2**40 * 10]


def test_an_unknown_state_is_stored_and_described_as_unknown(powens_user):
    sync_connections(powens_user, [connection_payload(7, state="someFutureState")])

    connection = Connection.objects.get()
    assert connection.state == "someFutureState"
    assert connection.state_info.known is False
    assert connection.state_info.needs_user is True
    assert ConnectionSource.objects.get().state == "someFutureState"


def test_dates_without_a_zone_are_paris_time(powens_user):
    payload = connection_payload(
        7, last_update="2026-11-20 10:00:00", created="2026-07-01 10:00:00"
    )
    payload["sources"][0]["access_expire"] = "2027-02-01 00:00:00"

    sync_connections(powens_user, [payload])

    connection = Connection.objects.get()
    assert connection.last_update == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert connection.created == dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)
    source = ConnectionSource.objects.get()
    assert source.access_expire == dt.datetime(2027, 1, 31, 23, 0, tzinfo=dt.UTC)


def test_an_unparseable_date_is_stored_as_null(powens_user):
    sync_connections(powens_user, [connection_payload(7, last_update="yesterday-ish")])

    assert Connection.objects.get().last_update is None


def test_a_complete_list_removes_connections_no_longer_listed_and_their_sources(powens_user):
    sync_connections(powens_user, [connection_payload(7, sources=2), connection_payload(8)])

    result = sync_connections(powens_user, [connection_payload(8)], complete=True)

    assert result.removed == 1
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [8]
    assert list(ConnectionSource.objects.values_list("powens_id", flat=True)) == [80]


def test_a_partial_list_removes_no_connection(powens_user):
    sync_connections(powens_user, [connection_payload(7), connection_payload(8)])

    result = sync_connections(powens_user, [connection_payload(8)])

    assert result.removed == 0
    assert set(Connection.objects.values_list("powens_id", flat=True)) == {7, 8}


def test_a_complete_list_removes_only_that_users_connections(make_powens_user):
    alice, bob = make_powens_user("alice", 1), make_powens_user("bob", 2)
    sync_connections(alice, [connection_payload(7)])
    sync_connections(bob, [connection_payload(8)])

    sync_connections(alice, [], complete=True)

    assert list(Connection.objects.values_list("powens_id", flat=True)) == [8]
    assert list(ConnectionSource.objects.values_list("powens_id", flat=True)) == [80]


def test_sources_missing_from_a_payload_are_kept_by_default(powens_user):
    sync_connections(powens_user, [connection_payload(7, sources=2)])

    sync_connections(powens_user, [connection_payload(7, sources=1, state="SCARequired")])

    assert set(ConnectionSource.objects.values_list("powens_id", flat=True)) == {70, 71}
    assert ConnectionSource.objects.get(powens_id=70).state == "SCARequired"


def test_sources_missing_from_a_payload_are_removed_when_sources_are_complete(powens_user):
    sync_connections(powens_user, [connection_payload(7, sources=2), connection_payload(8)])

    sync_connections(
        powens_user,
        [connection_payload(7, sources=1, state="SCARequired"), connection_payload(8)],
        sources_complete=True,
    )

    assert set(ConnectionSource.objects.values_list("powens_id", flat=True)) == {70, 80}


def test_a_connection_without_a_usable_id_is_skipped_and_counted(powens_user):
    payloads = [connection_payload(7), {"state": None}, connection_payload(7), "junk"]

    result = sync_connections(powens_user, payloads)

    assert (result.created, result.skipped) == (1, 3)
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]


def test_syncing_connections_makes_the_same_queries_for_1_and_100(make_powens_user):
    one, hundred = make_powens_user("alice", 1), make_powens_user("bob", 2)

    few, result_one = count_queries(
        lambda: sync_connections(one, [connection_payload(1, sources=2)], complete=True)
    )
    many, result_hundred = count_queries(
        lambda: sync_connections(
            hundred, [connection_payload(i, sources=2) for i in range(2, 102)], complete=True
        )
    )

    assert (result_one.created, result_hundred.created) == (1, 100)
    assert ConnectionSource.objects.count() == 202
    assert few == many


def test_identical_connection_payloads_write_nothing(powens_user):
    sync_connections(powens_user, [connection_payload(7), connection_payload(8)])

    with CaptureQueriesContext(db_connection) as queries:
        result = sync_connections(
            powens_user, [connection_payload(7), connection_payload(8)], complete=True
        )

    assert writes(queries) == []
    assert result.unchanged == 2


# -- signals ----------------------------------------------------------------------------------


@pytest.fixture
def received():
    """Signals received, in order, as tuples a test can compare."""
    events = []

    def on_created(sender, connection, **kwargs):
        exists = Connection.objects.filter(powens_id=connection.powens_id).exists()
        events.append(("created", connection.powens_id, exists))

    def on_synced(sender, connection, **kwargs):
        events.append(("synced", connection.powens_id))

    def on_state_changed(sender, connection, old_state, new_state, **kwargs):
        events.append(("state_changed", connection.powens_id, old_state, new_state))

    def on_deleted(sender, powens_id, powens_user, **kwargs):
        exists = Connection.objects.filter(powens_id=powens_id).exists()
        events.append(("deleted", powens_id, powens_user.powens_id, exists))

    pairs = [
        (signals.connection_created, on_created),
        (signals.connection_synced, on_synced),
        (signals.connection_state_changed, on_state_changed),
        (signals.connection_deleted, on_deleted),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False)
    yield events
    for signal, receiver in pairs:
        signal.disconnect(receiver)


def sync_then_fail(powens_user, payloads, **options):
    """A caller whose transaction fails after syncing."""
    with transaction.atomic():
        sync_connections(powens_user, payloads, **options)
        raise RuntimeError("the caller failed after the sync")


def test_a_new_connection_sends_created_and_synced_once_after_commit(
    powens_user, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sync_connections(powens_user, [connection_payload(7)])
        assert received == []

    assert received == [("created", 7, True), ("synced", 7)]


def test_a_new_connection_never_synced_sends_only_created(
    powens_user, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sync_connections(powens_user, [connection_payload(7, last_update=None)])

    assert received == [("created", 7, True)]


def test_a_new_last_update_sends_synced_once(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7)])

    with django_capture_on_commit_callbacks(execute=True):
        sync_connections(powens_user, [connection_payload(7, last_update="2026-11-21 10:00:00")])

    assert received == [("synced", 7)]


def test_a_state_change_sends_the_old_and_new_state_once(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7)])

    with django_capture_on_commit_callbacks(execute=True):
        sync_connections(powens_user, [connection_payload(7, state="SCARequired")])

    assert received == [("state_changed", 7, None, "SCARequired")]


def test_a_change_that_keeps_state_and_last_update_sends_nothing(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7)])

    with django_capture_on_commit_callbacks(execute=True):
        result = sync_connections(powens_user, [connection_payload(7, active=False)])

    assert result.updated == 1
    assert received == []


def test_an_identical_payload_sends_nothing(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7, state="wrongpass")])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sync_connections(powens_user, [connection_payload(7, state="wrongpass")])

    assert callbacks == []
    assert received == []


def test_a_connection_gone_from_a_complete_list_sends_deleted_once(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7), connection_payload(8)])

    with django_capture_on_commit_callbacks(execute=True):
        sync_connections(powens_user, [connection_payload(8)], complete=True)

    assert received == [("deleted", 7, 1, False)]


def test_forgetting_a_connection_deletes_its_rows_and_sends_deleted_once(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(7, sources=2), connection_payload(8)])

    with django_capture_on_commit_callbacks(execute=True):
        forget_connection(Connection.objects.get(powens_id=7))
        assert received == []

    assert received == [("deleted", 7, 1, False)]
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [8]
    assert list(ConnectionSource.objects.values_list("powens_id", flat=True)) == [80]


def test_a_rolled_back_sync_sends_nothing_and_writes_nothing(
    powens_user, received, django_capture_on_commit_callbacks
):
    sync_connections(powens_user, [connection_payload(8)])

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        sync_then_fail(powens_user, [connection_payload(7)], complete=True)

    assert received == []
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [8]


@pytest.mark.django_db(transaction=True)
def test_signals_wait_for_the_callers_transaction_to_commit(powens_user, received):
    with transaction.atomic():
        sync_connections(powens_user, [connection_payload(7, state="SCARequired")])
        sync_connections(powens_user, [connection_payload(7, state=None)])
        assert received == []

    assert received == [
        ("created", 7, True),
        ("synced", 7),
        ("state_changed", 7, "SCARequired", None),
    ]


@pytest.mark.django_db(transaction=True)
def test_signals_of_a_rolled_back_transaction_are_never_sent(powens_user, received):
    with pytest.raises(RuntimeError):
        sync_then_fail(powens_user, [connection_payload(7)])

    assert received == []
    assert not Connection.objects.exists()


# -- hostile catalogue fields ----------------------------------------------------------------


def hostile(payload, *fields):
    """``payload`` whose fields Powens sent as ``fields`` (then the factory's own)."""
    return {**payload, "fields": [*fields, *payload["fields"]]}


def stored_fields(number=1):
    return {f["name"]: f for f in Connector.objects.get(uuid=uuid(number)).fields}


@pytest.mark.parametrize("values", [7, "par,pro", {"value": "par"}, True])
def test_a_field_whose_values_is_not_a_list_is_stored_with_no_values(values):
    sync_connectors(
        [hostile(connector_payload(1), {"name": "website", "type": "list", "values": values})]
    )

    assert stored_fields()["website"]["values"] == []


def test_values_entries_that_are_not_objects_are_left_out():
    good = {"value": "par", "label": "Particuliers"}
    sync_connectors(
        [
            hostile(
                connector_payload(1), {"name": "website", "type": "list", "values": ["x", 3, good]}
            )
        ]
    )

    assert stored_fields()["website"]["values"] == [good]


@pytest.mark.parametrize("key", ["connector_sources", "auth_mechanisms"])
def test_a_lone_string_instead_of_a_list_becomes_a_one_item_list(key):
    sync_connectors([hostile(connector_payload(1), {"name": "pin", key: "directaccess"})])

    assert stored_fields()["pin"][key] == ["directaccess"]


@pytest.mark.parametrize("key", ["connector_sources", "auth_mechanisms"])
@pytest.mark.parametrize("value", [3, 2.5, {"name": "directaccess"}, True])
def test_a_scalar_or_object_instead_of_a_list_is_dropped(key, value):
    sync_connectors([hostile(connector_payload(1), {"name": "pin", key: value})])

    assert key not in stored_fields()["pin"]


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param({"label": "No name"}, id="missing"),
        pytest.param({"name": ""}, id="empty"),
        pytest.param({"name": "   "}, id="blank"),
        pytest.param({"name": None}, id="null"),
        pytest.param({"name": 42}, id="number"),
        pytest.param({"name": ["login"]}, id="list"),
        pytest.param({"name": "n" * 256}, id="too-long"),
        pytest.param("login", id="not-an-object"),
        pytest.param(None, id="null-entry"),
    ],
)
def test_a_field_without_a_usable_name_is_dropped(definition):
    sync_connectors([hostile(connector_payload(1), definition)])

    assert list(stored_fields()) == [f"field{f}" for f in range(5)]


@pytest.mark.parametrize(
    "name",
    ["source", "connector_uuid", "id_connector", "active", "expire", "resume", "refresh_auth"],
)
def test_a_field_named_like_a_key_of_the_request_is_dropped(name):
    sync_connectors([hostile(connector_payload(1), {"name": name, "type": "text"})])

    assert name not in stored_fields()
    assert len(stored_fields()) == 5


def test_fields_that_are_not_a_list_are_stored_as_no_fields():
    sync_connectors([{**connector_payload(1), "fields": {"login": {"type": "text"}}}])

    assert Connector.objects.get().fields == []


def test_a_repaired_field_keeps_everything_else_and_the_raw_payload_is_untouched():
    odd = {
        "name": "website",
        "type": "list",
        "values": 7,
        "connector_sources": "directaccess",
        "label": 12,
        "regex": ["x"],
        "required": "false",
        "future_property": {"x": 1},
    }
    payload = hostile(connector_payload(1), odd, {"name": "source"})

    sync_connectors([payload])

    assert stored_fields()["website"] == {
        "name": "website",
        "type": "list",
        "values": [],
        "connector_sources": ["directaccess"],
        "label": "12",
        "required": False,
        "future_property": {"x": 1},
    }
    assert Connector.objects.get().raw == payload


def test_field_problems_are_logged_once_per_sync_not_per_connector_or_field(caplog):
    bad = [{"name": "website", "type": "list", "values": 7}, {"name": "source"}, {"name": 5}]
    payloads = [hostile(connector_payload(i), *bad, *bad) for i in range(1, 41)]

    with caplog.at_level("WARNING", logger="powens_django.sync"):
        result = sync_connectors(payloads)

    assert result.created == 40
    lines = [r.getMessage() for r in caplog.records if r.name == "powens_django.sync"]
    assert len(lines) == 3
    assert all("in 40 connector(s)" in line for line in lines)
    assert any("'values' is not a list" in line for line in lines)
    assert any("'source'" in line and "key of the request" in line for line in lines)
    assert any("without a usable name" in line for line in lines)

    caplog.clear()
    with caplog.at_level("WARNING", logger="powens_django.sync"):
        sync_connectors(payloads)  # unchanged: nothing to say again
    assert [r for r in caplog.records if r.name == "powens_django.sync"] == []


def test_field_problems_name_their_first_connectors_in_the_catalogues_order(caplog):
    # Connectors already mirrored (1, 3) are written after the new ones (2, 4, 5): the
    # examples still follow the catalogue, updated connectors included.
    sync_connectors([connector_payload(1), connector_payload(3)])
    bad = {"fields": "not a list"}
    payloads = [{**connector_payload(i), **bad} for i in range(1, 6)]

    with caplog.at_level("WARNING", logger="powens_django.sync"):
        result = sync_connectors(payloads)

    assert (result.created, result.updated) == (3, 2)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "powens_django.sync"]
    uuids = ", ".join(connector_payload(i)["uuid"] for i in (1, 2, 3))
    assert f"in 5 connector(s) ({uuids}, ...)" in line


# -- a connection another local user holds ---------------------------------------------------


def test_a_connection_held_by_another_user_is_refused_counted_and_left(make_powens_user, caplog):
    alice, bob = make_powens_user("alice", 1), make_powens_user("bob", 2)
    sync_connections(alice, [connection_payload(7, state="wrongpass")])

    with caplog.at_level("WARNING", logger="powens_django.sync"):
        result = sync_connections(
            bob, [connection_payload(7), connection_payload(8)], complete=True
        )

    assert (result.created, result.updated, result.skipped) == (1, 0, 1)
    assert result.written == [8]
    held = Connection.objects.get(powens_id=7)
    assert (held.powens_user, held.state) == (alice, "wrongpass")
    assert Connection.objects.get(powens_id=8).powens_user == bob
    [line] = [r.getMessage() for r in caplog.records if "belongs locally" in r.getMessage()]
    assert "7" in line and f"pk={alice.pk}" in line
    assert "token-alice" not in line and "token-bob" not in line


def test_a_connection_held_by_another_user_keeps_its_sources_and_is_not_pruned(make_powens_user):
    alice, bob = make_powens_user("alice", 1), make_powens_user("bob", 2)
    sync_connections(alice, [connection_payload(7, sources=2)])

    result = sync_connections(
        bob, [connection_payload(7, sources=1)], complete=True, sources_complete=True
    )

    assert result.skipped == 1
    assert Connection.objects.get().powens_user == alice
    assert ConnectionSource.objects.filter(connection__powens_id=7).count() == 2


def test_refusing_a_held_connection_makes_no_extra_query(make_powens_user):
    alice, bob, carol = (make_powens_user(n, i) for i, n in enumerate(("alice", "bob", "carol"), 1))
    sync_connections(alice, [connection_payload(i) for i in range(1, 51)])

    plain, _ = count_queries(lambda: sync_connections(carol, [connection_payload(100)]))
    refusing, result = count_queries(
        lambda: sync_connections(bob, [connection_payload(i) for i in range(1, 52)])
    )

    assert (result.created, result.skipped) == (1, 50)
    assert refusing == plain


# -- two syncs at once (PostgreSQL) ----------------------------------------------------------


def run_together(work, *, threads=2, rounds=40):
    """Run ``work(round)`` for each of ``rounds`` rounds in each of ``threads`` threads,
    the threads starting each round together; returns the results and the exceptions."""
    from django.db import connections

    start = threading.Barrier(threads)
    results, failures = [], []

    def loop():
        try:
            for number in range(rounds):
                start.wait(30)
                results.append(work(number))
        except Exception as exc:  # reported by the test
            failures.append(exc)
            start.abort()
        finally:
            connections.close_all()

    running = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(120)
    return results, failures


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_two_requests_mirroring_the_same_connections_at_once_agree(make_powens_user):
    alice = make_powens_user("alice", 1)

    def mirror(number):
        # Both requests mirror what Powens says in this round: a new error message.
        payloads = [
            connection_payload(i, sources=2, error_message=f"round {number}") for i in range(1, 11)
        ]
        return sync_connections(alice, payloads, complete=True, sources_complete=True)

    results, failures = run_together(mirror)

    assert failures == []
    assert len(results) == 80
    # Each round's change is written by one request; the other finds it unchanged.
    assert sum(r.created for r in results) == 10
    assert sum(r.created + r.updated for r in results) == 10 * 40
    assert sum(r.unchanged for r in results) == 10 * 40
    assert Connection.objects.count() == 10
    assert ConnectionSource.objects.count() == 20
    assert set(Connection.objects.values_list("error_message", flat=True)) == {"round 39"}


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_two_catalogue_refreshes_at_once_agree():
    def refresh(number):
        return sync_connectors(catalogue(range(1, 31), slug=f"round{number}"))

    results, failures = run_together(refresh)

    assert failures == []
    assert sum(r.created for r in results) == 30
    assert sum(r.created + r.updated for r in results) == 30 * 40
    assert Connector.objects.count() == 30
    assert ConnectorSource.objects.count() == 90
    assert ConnectorCountry.objects.count() == 40
