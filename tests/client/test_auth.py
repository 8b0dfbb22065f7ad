"""Users and tokens: the calls around the Connections pages, who may make them, and
which credential each one carries."""

from __future__ import annotations

import pytest
import requests

from powens_django.client import MalformedResponseError, PowensClient

from .wire import (
    API_ROOT,
    CLIENT_ID,
    CLIENT_SECRET,
    CONFIG_TOKEN,
    CONNECTOR_UUID,
    REDIRECT_URI,
    USER_AUTH,
    USER_TOKEN,
    describe,
    sent,
    url,
)

# -- creating users and tokens ---------------------------------------------------------


def test_init_user_posts_the_client_credentials_without_authorization(powens, client):
    answer = {"auth_token": "new-user-token", "type": "permanent", "id_user": 42}
    powens.post(url("auth/init"), json=answer)

    assert client.init_user() == answer
    assert sent(powens) == {
        "method": "POST",
        "url": url("auth/init"),
        "authorization": None,
        "json": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    }


def test_init_user_never_sends_a_user_token_it_happens_to_carry(powens, user_client):
    powens.post(url("auth/init"), json={"auth_token": "t", "type": "permanent", "id_user": 1})

    user_client.init_user()

    assert sent(powens)["authorization"] is None


def test_init_user_answer_without_token_or_user_id_is_malformed(powens, client):
    powens.post(url("auth/init"), json={"type": "permanent"})

    with pytest.raises(MalformedResponseError):
        client.init_user()


@pytest.mark.parametrize(
    "answer",
    [
        {"auth_token": "tok", "id_user": "abc"},
        {"auth_token": "tok", "id_user": -3},
        {"auth_token": "tok", "id_user": True},
        {"auth_token": 12, "id_user": 5},
        {"auth_token": "", "id_user": 5},
    ],
    ids=["text-id", "negative-id", "bool-id", "number-token", "empty-token"],
)
def test_init_user_answer_with_an_unusable_token_or_user_id_is_malformed(powens, client, answer):
    powens.post(url("auth/init"), json=answer)

    with pytest.raises(MalformedResponseError):
        client.init_user()


def test_init_user_accepts_a_user_id_sent_as_digits(powens, client):
    powens.post(url("auth/init"), json={"auth_token": "tok", "id_user": "42", "type": "permanent"})

    assert client.init_user() == {"auth_token": "tok", "id_user": 42, "type": "permanent"}


def test_create_temporary_code_asks_for_a_single_access_code_with_the_user_token(
    powens, user_client
):
    answer = {"code": "temp-code", "type": "singleAccess", "access": "single", "expires_in": 1800}
    powens.get(url("auth/token/code"), json=answer)

    assert user_client.create_temporary_code() == answer
    assert sent(powens) == {
        "method": "GET",
        "url": url("auth/token/code?type=singleAccess"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_create_temporary_code_can_ask_for_a_request_access_code(powens, user_client):
    powens.get(url("auth/token/code"), json={"code": "c", "type": "requestAccess"})

    user_client.create_temporary_code(type="requestAccess")

    assert sent(powens)["url"] == url("auth/token/code?type=requestAccess")


def test_create_temporary_code_answer_without_code_is_malformed(powens, user_client):
    powens.get(url("auth/token/code"), json={"type": "singleAccess"})

    with pytest.raises(MalformedResponseError):
        user_client.create_temporary_code()


@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "permanent-token", "token_type": "Bearer"},
        {"token": "permanent-token"},
    ],
    ids=["access_token", "token"],
)
def test_exchange_code_posts_the_code_and_accepts_both_answer_shapes(powens, client, answer):
    powens.post(url("auth/token/access"), json=answer)

    assert client.exchange_code("temp-code") == "permanent-token"
    assert sent(powens) == {
        "method": "POST",
        "url": url("auth/token/access"),
        "authorization": None,
        "json": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": "temp-code",
        },
    }


def test_exchange_code_sends_the_redirect_uri_when_given(powens, client):
    powens.post(url("auth/token/access"), json={"token": "permanent-token"})

    client.exchange_code("temp-code", redirect_uri=REDIRECT_URI)

    assert sent(powens)["json"]["redirect_uri"] == REDIRECT_URI


def test_exchange_code_answer_without_token_is_malformed(powens, client):
    powens.post(url("auth/token/access"), json={"token_type": "Bearer"})

    with pytest.raises(MalformedResponseError):
        client.exchange_code("temp-code")


def test_renew_token_posts_client_credentials_for_the_user(powens, client):
    powens.post(url("auth/renew"), json={"access_token": "renewed-token", "token_type": "Bearer"})

    assert client.renew_token(42, revoke_previous=True) == "renewed-token"
    assert sent(powens) == {
        "method": "POST",
        "url": url("auth/renew"),
        "authorization": None,
        "json": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
            "id_user": 42,
            "revoke_previous": True,
        },
    }


def test_renew_token_keeps_previous_tokens_by_default(powens, client):
    powens.post(url("auth/renew"), json={"token": "renewed-token"})

    client.renew_token(42)

    assert sent(powens)["json"]["revoke_previous"] is False


@pytest.mark.parametrize("id_user", [0, -1, "abc", "1/../2", True])
def test_renew_token_refuses_an_id_that_is_not_a_positive_integer(powens, client, id_user):
    with pytest.raises(ValueError, match="id_user"):
        client.renew_token(id_user)
    assert not powens.calls


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (lambda c: c.init_user(), "client_secret"),
        (lambda c: c.renew_token(42), "client_secret"),
        (lambda c: c.exchange_code("temp-code"), "client_secret"),
        (lambda c: c.init_user(), "client_id"),
    ],
    ids=["init_user", "renew_token", "exchange_code", "init_user-no-client-id"],
)
def test_calls_carrying_client_credentials_need_them_before_any_request(
    powens, make_client, call, missing
):
    incomplete = make_client(**{missing: None})

    with pytest.raises(ValueError, match="CLIENT_"):
        call(incomplete)
    assert not powens.calls


# -- the user's own token --------------------------------------------------------------


def test_revoke_token_deletes_the_user_token(powens, user_client):
    powens.delete(url("auth/token"), status=204)

    assert user_client.revoke_token() is None
    assert sent(powens) == {
        "method": "DELETE",
        "url": url("auth/token"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_get_user_gets_the_tokens_user(powens, user_client):
    powens.get(url("users/me"), json={"id": 42, "signin": "2025-01-15 10:30:00"})

    assert user_client.get_user() == {"id": 42, "signin": "2025-01-15 10:30:00"}
    assert sent(powens) == {
        "method": "GET",
        "url": url("users/me"),
        "authorization": USER_AUTH,
        "json": None,
    }


def test_a_user_answer_that_is_not_an_object_is_malformed(powens, user_client):
    powens.get(url("users/me"), json=[{"id": 42}])

    with pytest.raises(MalformedResponseError):
        user_client.get_user()


def test_delete_user_deletes_the_tokens_user(powens, user_client):
    powens.delete(url("users/me"), status=204)

    assert user_client.delete_user() is None
    assert sent(powens) == {
        "method": "DELETE",
        "url": url("users/me"),
        "authorization": USER_AUTH,
        "json": None,
    }


# -- which calls need which credential -------------------------------------------------

USER_CALLS = {
    "create_temporary_code": lambda c: c.create_temporary_code(),
    "revoke_token": lambda c: c.revoke_token(),
    "get_user": lambda c: c.get_user(),
    "delete_user": lambda c: c.delete_user(),
    "create_connection": lambda c: c.create_connection({"login": "a"}, id_connector=59),
    "list_connections": lambda c: c.list_connections(),
    "get_connection": lambda c: c.get_connection(7),
    "update_connection": lambda c: c.update_connection(7),
    "sync_connection": lambda c: c.sync_connection(7),
    "delete_connection": lambda c: c.delete_connection(7),
    "webauth_url": lambda c: c.webauth_url(REDIRECT_URI, id_connector=59),
    "list_connection_sources": lambda c: c.list_connection_sources(7),
    "get_connection_source": lambda c: c.get_connection_source(7, 3),
    "update_connection_source": lambda c: c.update_connection_source(7, 3, disabled=True),
    "list_connection_logs": lambda c: c.list_connection_logs(7),
}

CONFIG_CALLS = {
    "update_connector": lambda c: c.update_connector(CONNECTOR_UUID, hidden=True),
    "update_connectors": lambda c: c.update_connectors({CONNECTOR_UUID: {"hidden": True}}),
    "update_connectors_by_ids": lambda c: c.update_connectors_by_ids([1, 2], hidden=True),
    "update_connector_source": lambda c: c.update_connector_source(
        CONNECTOR_UUID, 12, disabled=None
    ),
}


@pytest.mark.parametrize("call", USER_CALLS.values(), ids=USER_CALLS.keys())
def test_user_calls_without_a_user_token_fail_before_any_request(powens, client, call):
    with pytest.raises(ValueError, match="user token"):
        call(client)
    assert not powens.calls


@pytest.mark.parametrize("call", CONFIG_CALLS.values(), ids=CONFIG_CALLS.keys())
def test_config_calls_without_a_config_token_fail_before_any_request(powens, make_client, call):
    no_config = make_client(config_token=None).with_token(USER_TOKEN)

    with pytest.raises(ValueError, match="configuration token"):
        call(no_config)
    assert not powens.calls


# -- with_token ------------------------------------------------------------------------


def test_with_token_gives_a_client_sending_that_token(powens, client):
    powens.get(url("users/me"), json={"id": 1})
    powens.get(url("users/me"), json={"id": 2})

    client.with_token("token-of-alice").get_user()
    client.with_token("token-of-bob").get_user()

    assert [describe(call.request)["authorization"] for call in powens.calls] == [
        "Bearer token-of-alice",
        "Bearer token-of-bob",
    ]


def test_with_token_leaves_the_original_client_without_a_token(powens, client):
    client.with_token(USER_TOKEN)

    assert not client.has_token
    with pytest.raises(ValueError, match="user token"):
        client.get_user()
    assert not powens.calls


def test_with_token_shares_the_http_session(powens, sleeps):
    session = requests.Session()
    session.headers["X-Shop"] = "acme"
    client = PowensClient(API_ROOT, session=session, sleep=sleeps.append)
    powens.get(url("users/me"), json={"id": 1})

    alice = client.with_token(USER_TOKEN)
    alice.get_user()

    assert alice.transport.session is session
    assert powens.calls[0].request.headers["X-Shop"] == "acme"


def test_repr_of_a_client_shows_no_credential(make_client):
    shown = repr(make_client().with_token(USER_TOKEN))

    assert API_ROOT in shown
    for secret in (USER_TOKEN, CLIENT_SECRET, CONFIG_TOKEN):
        assert secret not in shown
