"""Bulk writes: one SQL statement per call whatever the number of rows, rows matched on
their natural key and updated in place, values stored exactly as given."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from powens_django import bulk
from powens_django.models import (
    Connection,
    Connector,
    ConnectorCountry,
    ConnectorSource,
    PowensUser,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def connector_row(i, **values):
    """Every column of a connector row (the NOT NULL ones have no database default)."""
    row = {
        "uuid": f"uuid-{i}",
        "powens_id": i,
        "name": f"Bank {i}",
        "search_name": f"bank {i}",
        "slug": f"B{i}",
        "code": str(30000 + i),
        "color": "0b57d0",
        "hidden": False,
        "beta": False,
        "charged": True,
        "restricted": False,
        "auth_mechanism": "webauth",
        "available_auth_mechanisms": ["webauth"],
        "transfer_mechanism": "",
        "siret": "",
        "months_to_fetch": 12,
        "capabilities": ["bank"],
        "products": ["bank"],
        "account_usages": ["PRIV"],
        "urls": [],
        "fields": [],
        "payment_settings": None,
        "raw": {"id": i},
        "raw_hash": "",
        "synced_at": None,
    }
    return {**row, **values}


def source_row(connector_pk, powens_id):
    return {
        "powens_id": powens_id,
        "connector_id": connector_pk,
        "name": "openapi",
        "auth_mechanism": "webauth",
        "available_auth_mechanisms": [],
        "disabled": None,
        "priority": 1,
        "account_usages": [],
        "raw": {},
        "raw_hash": "",
        "synced_at": None,
    }


def connectors(*numbers):
    bulk.upsert(Connector, [connector_row(i) for i in numbers], unique_fields="uuid")
    return {c.uuid: c for c in Connector.objects.all()}


@pytest.fixture
def powens_user():
    user = get_user_model().objects.create_user("alice")
    return PowensUser.objects.create(user=user, powens_id=1)


def connection_row(powens_user, powens_id=1, **values):
    row = {
        "powens_id": powens_id,
        "powens_user_id": powens_user.pk,
        "connector_id": "uuid-1",
        "state": None,
        "error_message": None,
        "fields": None,
        "active": True,
        "last_update": None,
        "raw": {},
        "raw_hash": "",
    }
    return {**row, **values}


# -- upsert -----------------------------------------------------------------------------


def test_upsert_inserts_rows_that_do_not_exist():
    bulk.upsert(Connector, [connector_row(1), connector_row(2)], unique_fields="uuid")

    assert list(Connector.objects.order_by("uuid").values_list("uuid", "name")) == [
        ("uuid-1", "Bank 1"),
        ("uuid-2", "Bank 2"),
    ]


def test_upsert_updates_existing_rows_in_place():
    before = connectors(1, 2)["uuid-1"]

    bulk.upsert(Connector, [connector_row(1, name="Renamed", hidden=True)], unique_fields="uuid")

    after = Connector.objects.get(uuid="uuid-1")
    assert (after.pk, after.name, after.hidden) == (before.pk, "Renamed", True)
    assert Connector.objects.count() == 2


def test_upsert_inserts_and_updates_in_the_same_call():
    before = connectors(1)["uuid-1"]

    rows = [connector_row(1, name="Renamed"), connector_row(2)]
    bulk.upsert(Connector, rows, unique_fields="uuid")

    assert dict(Connector.objects.values_list("uuid", "name")) == {
        "uuid-1": "Renamed",
        "uuid-2": "Bank 2",
    }
    assert Connector.objects.get(uuid="uuid-1").pk == before.pk


def test_upsert_leaves_columns_it_is_not_given_as_they_were(powens_user):
    bulk.upsert(
        Connection,
        [connection_row(powens_user, error_message="Bank said no", state="wrongpass")],
        unique_fields="powens_id",
    )

    only_some = {"powens_id": 1, "powens_user_id": powens_user.pk, "raw": {}, "raw_hash": ""}
    bulk.upsert(Connection, [{**only_some, "active": False}], unique_fields="powens_id")

    connection = Connection.objects.get()
    assert (connection.error_message, connection.state, connection.active) == (
        "Bank said no",
        "wrongpass",
        False,
    )


def test_upsert_matches_rows_on_a_composite_unique_constraint():
    first, second = connectors(1, 2).values()
    rows = [
        {"connector_id": first.pk, "code": "FR", "name": "France"},
        {"connector_id": first.pk, "code": "ES", "name": "Spain"},
    ]
    bulk.upsert(ConnectorCountry, rows, unique_fields=("connector", "code"))
    france = ConnectorCountry.objects.get(connector=first, code="FR")

    rows = [
        {"connector_id": first.pk, "code": "FR", "name": "République française"},
        {"connector_id": second.pk, "code": "FR", "name": "France"},
    ]
    bulk.upsert(ConnectorCountry, rows, unique_fields=("connector", "code"))

    assert sorted(ConnectorCountry.objects.values_list("connector__uuid", "code", "name")) == [
        ("uuid-1", "ES", "Spain"),
        ("uuid-1", "FR", "République française"),
        ("uuid-2", "FR", "France"),
    ]
    assert ConnectorCountry.objects.get(connector=first, code="FR").pk == france.pk


def test_upsert_of_no_rows_runs_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        bulk.upsert(Connector, [], unique_fields="uuid")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("state", None, id="null-text"),
        pytest.param("state", "someFutureState", id="text"),
        pytest.param("error_message", 'Accès refusé — 中文 «🔒»\n"quoted" \\ back', id="unicode"),
        pytest.param("error_message", "", id="empty-text"),
        pytest.param("active", False, id="false"),
        pytest.param("active", True, id="true"),
        pytest.param("fields", None, id="null-json"),
        pytest.param("fields", [], id="empty-json-list"),
        pytest.param(
            "fields",
            [{"name": "otp", "values": [{"label": "É", "value": None}], "n": 1.5, "ok": True}],
            id="json-list",
        ),
        pytest.param(
            "raw",
            {"a": {"b": [1, None, "x", {"c": False}]}, "emoji": "😀", "n": -3, "f": 0.1},
            id="nested-json",
        ),
        pytest.param("raw", {}, id="empty-json-object"),
        pytest.param("raw", "a JSON string", id="json-string"),
        pytest.param(
            "last_update", dt.datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=PARIS), id="paris"
        ),
        pytest.param("last_update", dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC), id="utc"),
        pytest.param(
            "last_update",
            dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            id="offset",
        ),
        pytest.param("last_update", None, id="null-datetime"),
    ],
)
@pytest.mark.parametrize("path", ["insert", "update"])
def test_upsert_stores_values_exactly(powens_user, column, value, path):
    if path == "update":
        bulk.upsert(Connection, [connection_row(powens_user)], unique_fields="powens_id")

    bulk.upsert(
        Connection, [connection_row(powens_user, **{column: value})], unique_fields="powens_id"
    )

    stored = Connection.objects.values_list(column, flat=True).get()
    assert stored == value
    assert type(stored) is type(value)


def test_upsert_tells_equal_short_lists_of_other_types_apart():
    # [1], [True] and [1.0] are equal Python tuples: the short lists encoded once each
    # must not give one of them the text of another.
    rows = [connector_row(i, capabilities=value) for i, value in enumerate([[1], [True], [1.0]])]

    bulk.upsert(Connector, rows, unique_fields="uuid")

    stored = dict(Connector.objects.values_list("uuid", "capabilities"))
    assert stored == {"uuid-0": [1], "uuid-1": [True], "uuid-2": [1.0]}
    assert [type(v[0]) for v in stored.values()] == [int, bool, float]


@pytest.mark.parametrize("new", [True, False])
@pytest.mark.parametrize("call", ["upsert", "load"])
def test_json_columns_given_encoded_are_stored_as_they_are(call, new):
    if not new:
        bulk.upsert(Connector, [connector_row(1)], unique_fields="uuid")
    row = connector_row(
        1,
        capabilities='["bank","x"]',
        fields='[{"name":"otp","n":1.5}]',
        payment_settings=None,
        raw='{"id":1,"name":"Crédit"}',
    )
    encoded = ("capabilities", "fields", "payment_settings", "raw")

    getattr(bulk, call)(Connector, [row], unique_fields="uuid", new=new, encoded=encoded)

    stored = Connector.objects.get(uuid="uuid-1")
    assert stored.capabilities == ["bank", "x"]
    assert stored.fields == [{"name": "otp", "n": 1.5}]
    assert stored.payment_settings is None
    assert stored.raw == {"id": 1, "name": "Crédit"}
    assert stored.products == ["bank"]  # not named: encoded by bulk as before


def test_upsert_stores_none_in_a_json_column_as_sql_null(powens_user):
    bulk.upsert(Connection, [connection_row(powens_user, fields=None)], unique_fields="powens_id")

    assert Connection.objects.filter(fields__isnull=True).count() == 1


def test_upsert_stores_aware_datetimes_as_the_same_instant(powens_user):
    paris_noon = dt.datetime(2026, 11, 20, 12, 0, tzinfo=PARIS)

    bulk.upsert(
        Connection, [connection_row(powens_user, last_update=paris_noon)], unique_fields="powens_id"
    )

    assert Connection.objects.filter(
        last_update=dt.datetime(2026, 11, 20, 11, 0, tzinfo=dt.UTC)
    ).exists()


@pytest.mark.parametrize("count", [1, 3000])
def test_upsert_is_one_statement_whatever_the_number_of_rows(django_assert_num_queries, count):
    rows = [connector_row(i) for i in range(count)]

    with django_assert_num_queries(1):
        bulk.upsert(Connector, rows, unique_fields="uuid")

    assert Connector.objects.count() == count


@pytest.mark.parametrize("count", [1, 3000])
def test_upsert_of_existing_rows_is_one_statement(django_assert_num_queries, count):
    bulk.upsert(Connector, [connector_row(i) for i in range(count)], unique_fields="uuid")
    rows = [connector_row(i, name="Renamed") for i in range(count)]

    with django_assert_num_queries(1):
        bulk.upsert(Connector, rows, unique_fields="uuid")

    assert set(Connector.objects.values_list("name", flat=True)) == {"Renamed"}


# -- delete_missing -------------------------------------------------------------------------


@pytest.fixture
def two_connectors_with_sources():
    """uuid-1 with sources 11, 12, 13; uuid-2 with sources 21, 22, 23."""
    by_uuid = connectors(1, 2)
    rows = [source_row(by_uuid[f"uuid-{c}"].pk, c * 10 + s) for c in (1, 2) for s in (1, 2, 3)]
    bulk.upsert(ConnectorSource, rows, unique_fields="powens_id")
    return by_uuid["uuid-1"], by_uuid["uuid-2"]


def remaining_sources():
    return set(ConnectorSource.objects.values_list("powens_id", flat=True))


def test_delete_missing_deletes_the_given_parents_rows_not_kept(two_connectors_with_sources):
    first, _ = two_connectors_with_sources

    deleted = bulk.delete_missing(
        ConnectorSource,
        parent_field="connector",
        parent_ids=[first.pk],
        keep_field="powens_id",
        keep_values=[12, 21],
    )

    assert deleted == 2
    assert remaining_sources() == {12, 21, 22, 23}


def test_delete_missing_with_nothing_kept_empties_the_given_parents(
    two_connectors_with_sources,
):
    first, second = two_connectors_with_sources

    deleted = bulk.delete_missing(
        ConnectorSource,
        parent_field="connector",
        parent_ids=[first.pk, second.pk],
        keep_field="powens_id",
        keep_values=[],
    )

    assert deleted == 6
    assert remaining_sources() == set()


def test_delete_missing_keeping_everything_deletes_nothing(two_connectors_with_sources):
    first, second = two_connectors_with_sources

    deleted = bulk.delete_missing(
        ConnectorSource,
        parent_field="connector",
        parent_ids=[first.pk, second.pk],
        keep_field="powens_id",
        keep_values=[11, 12, 13, 21, 22, 23],
    )

    assert deleted == 0
    assert len(remaining_sources()) == 6


def test_delete_missing_without_parents_runs_no_statement(
    two_connectors_with_sources, django_assert_num_queries
):
    with django_assert_num_queries(0):
        deleted = bulk.delete_missing(
            ConnectorSource,
            parent_field="connector",
            parent_ids=[],
            keep_field="powens_id",
            keep_values=[],
        )

    assert deleted == 0
    assert len(remaining_sources()) == 6


@pytest.mark.parametrize("count", [1, 3000])
def test_delete_missing_is_one_statement_whatever_the_number_of_rows(
    django_assert_num_queries, count
):
    parents = list(connectors(*range(count)).values())
    rows = [source_row(c.pk, 2 * n + s) for n, c in enumerate(parents) for s in (0, 1)]
    bulk.upsert(ConnectorSource, rows, unique_fields="powens_id")

    with django_assert_num_queries(1):
        deleted = bulk.delete_missing(
            ConnectorSource,
            parent_field="connector",
            parent_ids=[c.pk for c in parents],
            keep_field="powens_id",
            keep_values=[2 * n for n in range(count)],
        )

    assert deleted == count
    assert remaining_sources() == {2 * n for n in range(count)}


# -- delete_in ---------------------------------------------------------------------------


def test_delete_in_deletes_rows_by_primary_key():
    by_uuid = connectors(1, 2, 3)

    deleted = bulk.delete_in(
        Connector, field="pk", values=[by_uuid["uuid-1"].pk, by_uuid["uuid-3"].pk]
    )

    assert deleted == 2
    assert list(Connector.objects.values_list("uuid", flat=True)) == ["uuid-2"]


def test_delete_in_deletes_rows_by_a_text_column():
    connectors(1, 2, 3)

    deleted = bulk.delete_in(Connector, field="uuid", values=["uuid-2", "uuid-404"])

    assert deleted == 1
    assert sorted(Connector.objects.values_list("uuid", flat=True)) == ["uuid-1", "uuid-3"]


def test_delete_in_deletes_rows_by_a_foreign_key(two_connectors_with_sources):
    _, second = two_connectors_with_sources

    deleted = bulk.delete_in(ConnectorSource, field="connector", values=[second.pk])

    assert deleted == 3
    assert remaining_sources() == {11, 12, 13}


def test_delete_in_of_no_values_runs_no_statement(django_assert_num_queries):
    connectors(1)

    with django_assert_num_queries(0):
        assert bulk.delete_in(Connector, field="pk", values=[]) == 0

    assert Connector.objects.count() == 1


@pytest.mark.parametrize("count", [1, 3000])
def test_delete_in_is_one_statement_whatever_the_number_of_rows(django_assert_num_queries, count):
    pks = [c.pk for c in connectors(*range(count + 1)).values()]

    with django_assert_num_queries(1):
        deleted = bulk.delete_in(Connector, field="pk", values=pks[:count])

    assert deleted == count
    assert list(Connector.objects.values_list("pk", flat=True)) == pks[count:]


def test_lookups_and_deletes_take_keys_of_mixed_types_as_the_column_reads_them(
    two_connectors_with_sources,
):
    # Keys as numbers and as text for an integer column: each is read as the column's
    # type (on PostgreSQL too, where one typed array could not hold both).
    first, _ = two_connectors_with_sources

    found = bulk.select_in(
        ConnectorSource, field="powens_id", values=[11, "12", None], columns=("powens_id",)
    )
    kept = bulk.delete_missing(
        ConnectorSource,
        parent_field="connector",
        parent_ids=[str(first.pk)],
        keep_field="powens_id",
        keep_values=[11, "12"],
    )
    deleted = bulk.delete_in(ConnectorSource, field="powens_id", values=["21", 22])

    assert sorted(found) == [(11,), (12,)]
    assert kept == 1
    assert deleted == 2
    assert remaining_sources() == {11, 12, 23}


def test_load_takes_rows_from_a_generator_each_built_once():
    from django.db import transaction

    built = []

    def rows(numbers, **values):
        for i in numbers:
            built.append(i)
            yield connector_row(i, **values)

    with transaction.atomic():  # load's staging tables live until commit on PostgreSQL
        bulk.load(Connector, rows([1, 2, 3]), unique_fields="uuid", new=True)
        bulk.load(Connector, rows([2, 3, 4], name="Again"), unique_fields="uuid")
        bulk.load(Connector, rows([]), unique_fields="uuid")

    assert built == [1, 2, 3, 2, 3, 4]
    assert dict(Connector.objects.values_list("uuid", "name")) == {
        "uuid-1": "Bank 1",
        "uuid-2": "Again",
        "uuid-3": "Again",
        "uuid-4": "Again",
    }


# -- lookups when the statistics lie --------------------------------------------------


def _plans_of(statements):
    """Each statement re-run under ``EXPLAIN ANALYZE``: the plan nodes, flattened."""
    from django.db import connection

    nodes = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            (plan,) = cursor.fetchone()[0]
            stack = [plan["Plan"]]
            while stack:
                node = stack.pop()
                nodes.append(node)
                stack += node.get("Plans", [])
    return nodes


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "postgresql",
    reason="PostgreSQL's planner and statistics (SQLite's IN-list needs no statistics)",
)
def test_lookups_run_each_plan_node_once_though_the_statistics_say_the_table_is_empty():
    """An ANALYZE by another session (autovacuum) while a refresh writes sees none of
    its rows: the statistics say 0 rows over many pages. A list lookup planned as a
    set-returning function then ran as a nested loop re-reading the list for every row
    of the table (a catalogue refresh of 5,000 took 30 s instead of 1.5)."""
    import psycopg
    from django.db import connection, transaction

    count = 2000
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic():
        bulk.load(
            Connector,
            [connector_row(i) for i in range(1, count + 1)],
            unique_fields="uuid",
            new=True,
        )
        params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k in ("dbname", "user", "password", "host", "port")
        }
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("ANALYZE powens_django_connector")
            (tuples,) = other.execute(
                "SELECT reltuples FROM pg_class WHERE relname = 'powens_django_connector'"
            ).fetchone()
        assert tuples == 0  # what the planner believes: none of our rows is visible yet

        with connection.execute_wrapper(record):
            found = bulk.select_in(
                Connector,
                field="uuid",
                values=[f"uuid-{i}" for i in range(1, count + 1)],
                columns=("pk",),
            )
        pks = [pk for (pk,) in found]
        assert len(pks) == count
        nodes = _plans_of(statements)
        statements.clear()
        with connection.execute_wrapper(record):
            bulk.delete_in(Connector, field="pk", values=pks[: count // 2])
        nodes += _plans_of(statements)  # EXPLAIN ANALYZE deletes again: none is left

        assert nodes
        assert max(node["Actual Loops"] for node in nodes) == 1, nodes
        transaction.set_rollback(True)
