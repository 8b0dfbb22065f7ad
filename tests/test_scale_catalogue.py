"""The catalogue refresh streams: chunk by chunk, each payload encoded once, with the
same rows, the same all-or-nothing transaction and a query count that grows with the
number of chunks only."""

from __future__ import annotations

import json
import math

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from powens_django import bulk
from powens_django.models import Connector, ConnectorCountry, ConnectorSource
from powens_django.sync import encode_payload, payload_hash, sync_connectors
from tests.factories import connector_payload

pytestmark = pytest.mark.django_db


def catalogue(numbers, **extra):
    return [connector_payload(i, **extra) for i in numbers]


def snapshot():
    return (
        sorted(Connector.objects.values_list("uuid", "name", "raw_hash", "fields")),
        sorted(ConnectorSource.objects.values_list("powens_id", "connector__uuid", "raw_hash")),
        sorted(ConnectorCountry.objects.values_list("connector__uuid", "code")),
    )


def queries(call):
    with CaptureQueriesContext(db_connection) as captured:
        result = call()
    return len(captured), result


def test_a_refresh_in_chunks_writes_the_same_rows_as_in_one():
    payloads = catalogue(range(1, 12))
    sync_connectors(payloads, chunk_size=100)
    whole = snapshot()
    sync_connectors([])

    result = sync_connectors(payloads, chunk_size=3)

    assert snapshot() == whole
    assert result.created == 11


def test_changes_and_removals_are_found_across_chunks():
    sync_connectors(catalogue(range(1, 10)), chunk_size=2)
    renamed = {**connector_payload(7), "name": "Renamed"}

    result = sync_connectors(
        [*catalogue(range(1, 7)), renamed, connector_payload(12)], chunk_size=2
    )

    assert (result.created, result.updated, result.unchanged, result.removed) == (1, 1, 6, 2)
    assert Connector.objects.get(uuid=renamed["uuid"]).name == "Renamed"
    assert Connector.objects.count() == 8


def test_a_uuid_listed_twice_in_different_chunks_is_skipped_once():
    payloads = [*catalogue([1, 2, 3]), {**connector_payload(1), "name": "Again"}]

    result = sync_connectors(payloads, chunk_size=2)

    assert (result.created, result.skipped) == (3, 1)
    assert Connector.objects.get(uuid=connector_payload(1)["uuid"]).name != "Again"


def test_queries_grow_with_the_chunks_not_the_connectors():
    def load(count, chunk_size):
        sync_connectors([])
        return queries(
            lambda: sync_connectors(catalogue(range(1, count + 1)), chunk_size=chunk_size)
        )[0]

    assert load(4, 4) == load(40, 40)
    per_chunk = load(8, 4) - load(4, 4)
    assert per_chunk > 0
    assert load(12, 4) - load(8, 4) == per_chunk


@pytest.mark.django_db(transaction=True)
def test_a_failure_in_a_later_chunk_leaves_the_previous_catalogue_intact(monkeypatch):
    sync_connectors(catalogue(range(1, 7)))
    before = snapshot()
    calls = []
    original = bulk.load

    def fail_at_third_chunk(model, rows, **kwargs):
        if model is Connector:
            calls.append(model)
            if len(calls) >= 5:  # two loads (new, changed) per chunk
                raise RuntimeError("database went away")
        return original(model, rows, **kwargs)

    monkeypatch.setattr(bulk, "load", fail_at_third_chunk)
    refreshed = [{**p, "name": p["name"] + " bis"} for p in catalogue(range(1, 7))]
    with pytest.raises(RuntimeError):
        sync_connectors([*refreshed, *catalogue(range(20, 26))], chunk_size=2)

    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("builder", ["_connector_row", "_connector_source_row"])
def test_a_row_that_fails_while_being_written_leaves_the_previous_catalogue_intact(
    builder, monkeypatch
):
    # Rows are built while they are written (COPY on PostgreSQL): a failure halfway
    # through a chunk aborts the statement, and the error is the one raised.
    from powens_django import sync

    sync_connectors(catalogue(range(1, 7)))
    before = snapshot()
    original = getattr(sync, builder)
    built = []

    def fail_halfway(*args, **kwargs):
        built.append(1)
        if len(built) == 3:
            raise ValueError("unexpected payload")
        return original(*args, **kwargs)

    monkeypatch.setattr(sync, builder, fail_halfway)
    refreshed = [{**p, "name": p["name"] + " bis"} for p in catalogue(range(1, 4))]
    with pytest.raises(ValueError, match="unexpected payload"):
        sync_connectors([*refreshed, *catalogue(range(20, 26))])

    assert len(built) == 3
    assert snapshot() == before


def test_each_payload_is_encoded_once(monkeypatch):
    import orjson

    from powens_django import sync

    encoded = []
    dumps = orjson.dumps

    def counting(value, *args, **kwargs):
        if isinstance(value, dict) and "uuid" in value:
            encoded.append(value["uuid"])
        return dumps(value, *args, **kwargs)

    monkeypatch.setattr(sync.orjson, "dumps", counting)

    sync_connectors(catalogue(range(1, 6)), chunk_size=2)

    assert sorted(encoded) == sorted(p["uuid"] for p in catalogue(range(1, 6)))


def test_the_stored_payload_is_the_text_that_was_hashed():
    payload = {**connector_payload(1), "name": "Crédit Mutuel"}
    sync_connectors([payload])

    stored = Connector.objects.get()
    text, digest = encode_payload(payload)
    assert stored.raw_hash == digest == payload_hash(payload)
    assert stored.raw == json.loads(str(text)) == payload


def test_the_encoding_matches_the_standard_librarys_sorted_compact_text():
    payload = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "\u2028"}, "c": 'x"y'}

    text, _ = encode_payload(payload)

    assert str(text) == json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_nan_is_stored_as_null_and_huge_integers_fall_back_to_the_standard_library():
    assert str(encode_payload({"a": math.nan, "b": math.inf})[0]) == '{"a":null,"b":null}'
    assert str(encode_payload({"big": 2**70})[0]) == '{"big":' + str(2**70) + "}"


@pytest.mark.django_db(transaction=True)
def test_rows_loaded_as_new_are_never_overwritten_silently():
    from django.db import IntegrityError, transaction

    from tests.test_bulk import connector_row

    with transaction.atomic():
        bulk.load(Connector, [connector_row(1)], unique_fields="uuid", new=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.load(Connector, [connector_row(1, name="Other")], unique_fields="uuid", new=True)

    assert Connector.objects.get().name != "Other"


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False])
def test_the_refresh_leaves_the_garbage_collector_as_it_found_it(enabled, monkeypatch):
    import gc

    from powens_django import sync

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        sync_connectors([connector_payload(1), connector_payload(2)])
        assert gc.isenabled() is enabled

        def broken(*args, **kwargs):
            assert not gc.isenabled()  # paused while the chunk is built
            raise RuntimeError("the database went away")

        monkeypatch.setattr(sync, "_connector_row", broken)
        with pytest.raises(RuntimeError):
            sync_connectors([connector_payload(3)])
        assert gc.isenabled() is enabled
        assert not Connector.objects.filter(uuid=connector_payload(3)["uuid"]).exists()
    finally:
        gc.enable() if was else gc.disable()
