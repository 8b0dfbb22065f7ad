"""The Connections reference page: every call's method, path, query, body and token, and
what the client hands back."""

from __future__ import annotations

import datetime as dt

import pytest

from powens_django.client import MalformedResponseError

from .wire import (
    API_ROOT,
    CLIENT_ID,
    CONNECTION,
    CONNECTOR_UUID,
    ENCODED_REDIRECT_URI,
    REDIRECT_URI,
    USER_AUTH,
    sent,
    url,
)

SOURCE = {"id": 3, "id_connection": 7, "name": "openapi", "disabled": None}

# -- create ----------------------------------------------------------------------------


def test_create_connection_posts_connector_uuid_source_and_fields(powens, user_client):
    powens.post(url("users/me/connections"), json=CONNECTION, status=201)

    created = user_client.create_connection(
        {"login": "alice", "password": "s3cret"},
        connector_uuid=CONNECTOR_UUID,
        source="openapi",
        expand=["connector", "sources"],
    )

    assert created == CONNECTION
    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections?expand=connector,sources"),
        "authorization": USER_AUTH,
        "json": {
            "connector_uuid": CONNECTOR_UUID,
            "source": "openapi",
            "login": "alice",
            "password": "s3cret",
        },
    }


def test_create_connection_by_deprecated_connector_id(powens, user_client):
    powens.post(url("users/me/connections"), json=CONNECTION, status=201)

    user_client.create_connection({"login": "alice"}, id_connector=59)

    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections"),
        "authorization": USER_AUTH,
        "json": {"id_connector": 59, "login": "alice"},
    }


def test_create_connection_for_a_user_given_by_id(powens, user_client):
    powens.post(url("users/42/connections"), json=CONNECTION, status=201)

    user_client.create_connection(connector_uuid=CONNECTOR_UUID, user=42)

    assert sent(powens)["url"] == url("users/42/connections")


@pytest.mark.parametrize(
    "connector",
    [{}, {"connector_uuid": CONNECTOR_UUID, "id_connector": 59}],
    ids=["neither", "both"],
)
def test_create_connection_needs_exactly_one_connector_reference(powens, user_client, connector):
    with pytest.raises(ValueError, match="exactly one"):
        user_client.create_connection({"login": "alice"}, **connector)
    assert not powens.calls


@pytest.mark.parametrize("name", ["id_connector", "connector_uuid", "source"])
def test_create_connection_refuses_fields_named_like_request_keys(powens, user_client, name):
    with pytest.raises(ValueError, match="clash"):
        user_client.create_connection({name: "x"}, connector_uuid=CONNECTOR_UUID)
    assert not powens.calls


# -- read ------------------------------------------------------------------------------


def test_list_connections_unwraps_the_users_connections(powens, user_client):
    powens.get(url("users/me/connections"), json={"connections": [CONNECTION]})

    assert user_client.list_connections(expand="connector") == [CONNECTION]
    assert sent(powens) == {
        "method": "GET",
        "url": url("users/me/connections?expand=connector"),
        "authorization": USER_AUTH,
        "json": None,
    }


@pytest.mark.parametrize("user", [42, "42"])
def test_user_may_be_given_as_a_positive_id(powens, user_client, user):
    powens.get(url("users/42/connections"), json={"connections": []})

    user_client.list_connections(user=user)

    assert sent(powens)["url"] == url("users/42/connections")


@pytest.mark.parametrize(
    "user", [0, -1, "0", "", "you", "٤٢", "1/../2", "me/../1", "me ", "42?x=1", True, None, 4.2]
)
def test_user_that_is_neither_me_nor_a_positive_id_is_refused(powens, user_client, user):
    with pytest.raises(ValueError, match="user"):
        user_client.list_connections(user=user)
    assert not powens.calls


def test_get_connection_gets_one_connection(powens, user_client):
    powens.get(url("users/me/connections/7"), json=CONNECTION)

    assert user_client.get_connection(7, expand=["connector", "accounts"]) == CONNECTION
    assert sent(powens) == {
        "method": "GET",
        "url": url("users/me/connections/7?expand=connector,accounts"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_connection_id_may_be_a_numeric_string(powens, user_client):
    powens.get(url("users/me/connections/7"), json=CONNECTION)

    user_client.get_connection("7")

    assert sent(powens)["url"] == url("users/me/connections/7")


@pytest.mark.parametrize(
    "bad_id", [0, -3, "٣", "abc", "", "1/../2", "7?all", "7#x", True, None, 2.5]
)
def test_connection_id_that_is_not_a_positive_integer_is_refused(powens, user_client, bad_id):
    with pytest.raises(ValueError, match="connection_id"):
        user_client.get_connection(bad_id)
    assert not powens.calls


def test_a_connection_answer_that_is_not_an_object_is_malformed(powens, user_client):
    powens.get(url("users/me/connections/7"), json=[CONNECTION])

    with pytest.raises(MalformedResponseError):
        user_client.get_connection(7)


@pytest.mark.parametrize(
    "bad_id",
    [None, "7", -4, 0, True, 7.5],
    ids=["missing", "text", "negative", "zero", "bool", "float"],
)
@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "users/me/connections", lambda c: c.create_connection({}, connector_uuid="u")),
        ("GET", "users/me/connections/7", lambda c: c.get_connection(7)),
        ("POST", "users/me/connections/7", lambda c: c.update_connection(7)),
        ("PUT", "users/me/connections/7", lambda c: c.sync_connection(7, psu_requested=False)),
    ],
    ids=["create", "get", "update", "sync"],
)
def test_a_connection_answer_without_a_usable_id_is_malformed(
    powens, user_client, method, path, call, bad_id
):
    answer = {k: v for k, v in CONNECTION.items() if k != "id"}
    if bad_id is not None:
        answer["id"] = bad_id
    powens.add(method, url(path), json=answer)

    with pytest.raises(MalformedResponseError, match="usable id"):
        call(user_client)


# -- update, sync, delete --------------------------------------------------------------


def test_update_connection_posts_the_fields_the_connection_asked_for(powens, user_client):
    powens.post(url("users/me/connections/7"), json=CONNECTION)

    assert user_client.update_connection(7, {"openapiotp": "123456"}) == CONNECTION
    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections/7"),
        "authorization": USER_AUTH,
        "json": {"openapiotp": "123456"},
    }


def test_update_connection_with_nothing_posts_an_empty_body_which_is_a_sync(powens, user_client):
    powens.post(url("users/me/connections/7"), json=CONNECTION)

    user_client.update_connection(7)

    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections/7"),
        "authorization": USER_AUTH,
        "json": {},
    }


def test_update_connection_sends_source_active_and_expire(powens, user_client):
    powens.post(url("users/me/connections/7"), json=CONNECTION)

    user_client.update_connection(
        7,
        {"password": "new"},
        source="openapi",
        active=False,
        expire=dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC),
    )

    assert sent(powens)["json"] == {
        "source": "openapi",
        "active": False,
        "expire": "2025-01-15 10:30:00",
        "password": "new",
    }


@pytest.mark.parametrize(
    ("expire", "on_the_wire"),
    [
        (dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC), "2025-01-15 10:30:00"),
        (dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC), "2025-07-15 11:30:00"),
        (dt.datetime(2025, 7, 15, 9, 30), "2025-07-15 09:30:00"),
        (dt.date(2025, 7, 15), "2025-07-15 00:00:00"),
    ],
    ids=["winter-utc", "summer-utc", "naive-is-paris", "date-is-midnight"],
)
def test_update_connection_sends_expire_as_paris_wall_clock(
    powens, user_client, expire, on_the_wire
):
    powens.post(url("users/me/connections/7"), json=CONNECTION)

    user_client.update_connection(7, expire=expire)

    assert sent(powens)["json"] == {"expire": on_the_wire}


def test_update_connection_resumes_a_decoupled_connection_in_the_background(powens, user_client):
    powens.post(url("users/me/connections/7"), json=CONNECTION, status=202)

    user_client.update_connection(7, resume=True, background=True, expand="sources")

    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections/7?background=true&expand=sources"),
        "authorization": USER_AUTH,
        "json": {"resume": True},
    }


def test_update_connection_asks_for_a_new_authentication(powens, user_client):
    powens.post(url("users/me/connections/7"), json=CONNECTION)

    user_client.update_connection(7, refresh_auth=True)

    assert sent(powens)["json"] == {"refresh_auth": True}


@pytest.mark.parametrize("name", ["source", "active", "expire", "resume", "refresh_auth"])
def test_update_connection_refuses_fields_named_like_request_keys(powens, user_client, name):
    with pytest.raises(ValueError, match="clashes"):
        user_client.update_connection(7, {name: "x"})
    assert not powens.calls


@pytest.mark.parametrize(
    ("psu_requested", "query"), [(True, "psu_requested=true"), (False, "psu_requested=false")]
)
def test_sync_connection_puts_and_says_whether_the_person_asked(
    powens, user_client, psu_requested, query
):
    powens.put(url("users/me/connections/7"), json=CONNECTION)

    assert user_client.sync_connection(7, psu_requested=psu_requested) == CONNECTION
    assert sent(powens) == {
        "method": "PUT",
        "url": url(f"users/me/connections/7?{query}"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_sync_connection_is_asked_by_the_person_by_default(powens, user_client):
    powens.put(url("users/me/connections/7"), json=CONNECTION)

    user_client.sync_connection(7, expand=["accounts"])

    assert sent(powens)["url"] == url("users/me/connections/7?psu_requested=true&expand=accounts")


def test_sync_connection_in_the_background_says_so(powens, user_client):
    powens.put(url("users/me/connections/7"), json=CONNECTION, status=202)

    assert user_client.sync_connection(7, background=True, expand="sources") == CONNECTION
    assert sent(powens) == {
        "method": "PUT",
        "url": url("users/me/connections/7?psu_requested=true&background=true&expand=sources"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_delete_connection_deletes_it_and_returns_nothing(powens, user_client):
    powens.delete(url("users/42/connections/7"), status=204)

    assert user_client.delete_connection(7, user=42) is None
    assert sent(powens) == {
        "method": "DELETE",
        "url": url("users/42/connections/7"),
        "authorization": USER_AUTH,
        "json": None,
    }


# -- web authorization -----------------------------------------------------------------


def test_webauth_url_for_a_new_connection_returns_the_bank_url(powens, user_client):
    powens.get(url("webauth-url"), json={"url": "https://bank.example/authorize?x=1"})

    bank_url = user_client.webauth_url(
        REDIRECT_URI, id_connector=59, source="openapi", state="st4te"
    )

    assert bank_url == "https://bank.example/authorize?x=1"
    assert sent(powens) == {
        "method": "GET",
        "url": url(
            f"webauth-url?client_id={CLIENT_ID}&redirect_uri={ENCODED_REDIRECT_URI}"
            "&id_connector=59&source=openapi&state=st4te"
        ),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_webauth_url_for_a_connector_uuid(powens, user_client):
    powens.get(url("webauth-url"), json={"url": "https://bank.example/a"})

    user_client.webauth_url(REDIRECT_URI, connector_uuid=CONNECTOR_UUID)

    assert sent(powens)["url"] == url(
        f"webauth-url?client_id={CLIENT_ID}&redirect_uri={ENCODED_REDIRECT_URI}"
        f"&connector_uuid={CONNECTOR_UUID}"
    )


def test_webauth_url_to_repair_an_existing_connection(powens, user_client):
    powens.get(url("webauth-url"), json={"url": "https://bank.example/a"})

    user_client.webauth_url(REDIRECT_URI, id_connection=7, state="st4te")

    assert sent(powens)["url"] == url(
        f"webauth-url?client_id={CLIENT_ID}&redirect_uri={ENCODED_REDIRECT_URI}"
        "&id_connection=7&state=st4te"
    )


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://shop.example/callback?next=/accounts",
        "https://shop.example/callback#done",
        "/powens/callback",
        "ftp://shop.example/callback",
    ],
)
def test_webauth_url_refuses_a_redirect_uri_powens_would_refuse(powens, user_client, redirect_uri):
    with pytest.raises(ValueError, match="redirect_uri"):
        user_client.webauth_url(redirect_uri, id_connector=59)
    assert not powens.calls


@pytest.mark.parametrize(
    "targets",
    [
        {},
        {"id_connector": 59, "id_connection": 7},
        {"id_connector": 59, "connector_uuid": CONNECTOR_UUID},
        {"connector_uuid": CONNECTOR_UUID, "id_connection": 7},
    ],
    ids=["none", "connector-and-connection", "id-and-uuid", "uuid-and-connection"],
)
def test_webauth_url_needs_exactly_one_target(powens, user_client, targets):
    with pytest.raises(ValueError, match="exactly one"):
        user_client.webauth_url(REDIRECT_URI, **targets)
    assert not powens.calls


def test_webauth_url_answer_without_url_is_malformed(powens, user_client):
    powens.get(url("webauth-url"), json={"link": "https://bank.example/a"})

    with pytest.raises(MalformedResponseError):
        user_client.webauth_url(REDIRECT_URI, id_connector=59)


def test_build_webauth_redirect_builds_the_browser_url_without_calling_powens(powens, client):
    redirect = client.build_webauth_redirect(
        "temp-code", REDIRECT_URI, id_connection=7, source="openapi", state="st4te"
    )

    assert redirect == (
        f"{API_ROOT}webauth?client_id={CLIENT_ID}&redirect_uri={ENCODED_REDIRECT_URI}"
        "&id_connection=7&source=openapi&state=st4te&token=temp-code"
    )
    assert not powens.calls


def test_build_webauth_redirect_checks_its_arguments_like_webauth_url(powens, client):
    with pytest.raises(ValueError, match="redirect_uri"):
        client.build_webauth_redirect("temp-code", "https://shop.example/cb?x=1", id_connector=59)
    assert not powens.calls


# -- connection sources and logs -------------------------------------------------------


def test_list_connection_sources_unwraps_the_enabled_sources(powens, user_client):
    powens.get(url("users/me/connections/7/sources"), json={"sources": [SOURCE]})

    assert user_client.list_connection_sources(7) == [SOURCE]
    assert sent(powens) == {
        "method": "GET",
        "url": url("users/me/connections/7/sources"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_list_connection_sources_with_all_sends_the_value_less_flag(powens, user_client):
    powens.get(url("users/me/connections/7/sources"), json={"sources": [SOURCE]})

    user_client.list_connection_sources(7, all=True)

    assert sent(powens)["url"] == url("users/me/connections/7/sources?all")


def test_get_connection_source_gets_one_source(powens, user_client):
    powens.get(url("users/me/connections/7/sources/3"), json=SOURCE)

    assert user_client.get_connection_source(7, 3) == SOURCE
    assert sent(powens) == {
        "method": "GET",
        "url": url("users/me/connections/7/sources/3"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_get_connection_source_with_all_reaches_a_disabled_source(powens, user_client):
    powens.get(url("users/me/connections/7/sources/3"), json=SOURCE)

    user_client.get_connection_source(7, 3, all=True)

    assert sent(powens)["url"] == url("users/me/connections/7/sources/3?all")


@pytest.mark.parametrize("bad_id", [0, "3/../4", "x", None])
def test_connection_source_id_that_is_not_a_positive_integer_is_refused(
    powens, user_client, bad_id
):
    with pytest.raises(ValueError, match="source_id"):
        user_client.get_connection_source(7, bad_id)
    assert not powens.calls


def test_update_connection_source_disables_it_reaching_disabled_sources_by_default(
    powens, user_client
):
    powens.post(url("users/me/connections/7/sources/3"), json=SOURCE)

    assert user_client.update_connection_source(7, 3, disabled=True) == SOURCE
    assert sent(powens) == {
        "method": "POST",
        "url": url("users/me/connections/7/sources/3?all"),
        "authorization": USER_AUTH,
        "json": {"disabled": True},
    }


def test_update_connection_source_enables_it_without_the_all_flag(powens, user_client):
    powens.post(url("users/me/connections/7/sources/3"), json=SOURCE)

    user_client.update_connection_source(7, 3, disabled=False, all=False)

    assert sent(powens)["url"] == url("users/me/connections/7/sources/3")
    assert sent(powens)["json"] == {"disabled": False}


def test_list_connection_logs_sends_paging_dates_and_source(powens, user_client):
    logs = [{"id": 1, "id_connection": 7, "state": None}]
    powens.get(url("users/me/connections/7/logs"), json={"connectionlogs": logs, "total": 1})

    listed = user_client.list_connection_logs(
        7,
        limit=50,
        offset=100,
        min_date=dt.date(2025, 1, 1),
        max_date="2025-01-31",
        id_source=3,
    )

    assert listed == logs
    assert sent(powens) == {
        "method": "GET",
        "url": url(
            "users/me/connections/7/logs"
            "?limit=50&offset=100&min_date=2025-01-01&max_date=2025-01-31&id_source=3"
        ),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_list_connection_logs_sends_a_datetime_as_its_paris_date(powens, user_client):
    powens.get(url("users/me/connections/7/logs"), json={"connectionlogs": []})

    # 23:30 UTC on 31 January is already 1 February in Paris.
    user_client.list_connection_logs(7, min_date=dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC))

    assert sent(powens)["url"] == url("users/me/connections/7/logs?min_date=2025-02-01")


def test_list_connection_logs_accepts_the_logs_key(powens, user_client):
    logs = [{"id": 1}]
    powens.get(url("users/me/connections/7/logs"), json={"logs": logs})

    assert user_client.list_connection_logs(7) == logs
