"""Powens' errors become typed errors carrying what Powens said; nothing from requests or
json ever escapes the client."""

from __future__ import annotations

import pickle

import pytest
import requests

from powens_django.client import (
    ActionNeededError,
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    MalformedResponseError,
    NotFoundError,
    PowensConnectionError,
    PowensError,
    PowensTimeoutError,
    PowensTransportError,
    RateLimitedError,
    ServerError,
    WebsiteUnavailableError,
    WrongPassError,
)

from .wire import REDIRECT_URI, url

CONNECTION_URL = url("users/me/connections/7")


def powens_error(code: str) -> dict:
    return {
        "code": code,
        "description": f"technical text for {code}",
        "message": f"bank message for {code}",
        "request_id": f"req-{code}",
    }


def answer_update_with(powens, status, **kwargs):
    """Make Powens answer the (never retried) POST /users/me/connections/7."""
    powens.post(CONNECTION_URL, status=status, **kwargs)


# -- codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "error_class"),
    [
        ("wrongpass", 400, WrongPassError),
        ("wrongPass", 400, WrongPassError),
        ("actionNeeded", 400, ActionNeededError),
        ("passwordExpired", 400, ActionNeededError),
        ("bankMessage", 400, ActionNeededError),
        ("additionalInformationNeeded", 400, ActionNeededError),
        ("SCARequired", 400, ActionNeededError),
        ("webauthRequired", 400, ActionNeededError),
        ("decoupled", 400, ActionNeededError),
        ("websiteUnavailable", 503, WebsiteUnavailableError),
        ("tooManySync", 409, RateLimitedError),
        ("rateLimiting", 429, RateLimitedError),
        ("connectionLocked", 409, ConflictError),
        ("notFound", 404, NotFoundError),
        ("forbidden", 403, AuthenticationError),
        ("invalidValue", 400, InvalidValueError),
        ("missingParameter", 400, InvalidValueError),
        ("methodNotAllowed", 405, InvalidValueError),
        ("bug", 500, ServerError),
        ("keymanager", 500, ServerError),
    ],
)
def test_each_powens_code_gives_its_error_class_with_what_powens_said(
    powens, user_client, code, status, error_class
):
    answer_update_with(powens, status, json=powens_error(code))

    with pytest.raises(PowensError) as raised:
        user_client.update_connection(7)

    error = raised.value
    assert type(error) is error_class
    assert (error.code, error.description, error.message, error.request_id, error.status) == (
        code,
        f"technical text for {code}",
        f"bank message for {code}",
        f"req-{code}",
        status,
    )
    assert error.body == powens_error(code)


def test_the_code_decides_over_the_status(powens, user_client):
    # /webauth-url answers 409 invalidValue for a connection that needs nothing.
    powens.get(url("webauth-url"), status=409, json=powens_error("invalidValue"))

    with pytest.raises(InvalidValueError) as raised:
        user_client.webauth_url(REDIRECT_URI, id_connection=7)

    assert (raised.value.code, raised.value.status) == ("invalidValue", 409)


def test_an_unknown_code_is_a_generic_error_keeping_the_code(powens, user_client):
    answer_update_with(powens, 400, json=powens_error("someFutureCode"))

    with pytest.raises(PowensError) as raised:
        user_client.update_connection(7)

    assert type(raised.value) is PowensError
    assert raised.value.code == "someFutureCode"
    assert raised.value.message == "bank message for someFutureCode"


def test_an_unknown_code_falls_back_on_the_status_class(powens, user_client):
    answer_update_with(powens, 404, json=powens_error("someFutureCode"))

    with pytest.raises(NotFoundError) as raised:
        user_client.update_connection(7)

    assert raised.value.code == "someFutureCode"


def test_the_request_id_header_is_kept_when_the_body_has_none(powens, user_client):
    answer_update_with(
        powens, 400, json={"code": "wrongpass"}, headers={"X-Request-Id": "req-from-header"}
    )

    with pytest.raises(WrongPassError) as raised:
        user_client.update_connection(7)

    assert raised.value.request_id == "req-from-header"


def test_the_request_id_powens_wrote_in_the_body_wins_over_a_header(powens, user_client):
    answer_update_with(
        powens, 400, json=powens_error("wrongpass"), headers={"X-Request-Id": "req-of-a-proxy"}
    )

    with pytest.raises(WrongPassError) as raised:
        user_client.update_connection(7)

    assert raised.value.request_id == "req-wrongpass"


def test_error_text_names_code_status_and_request_id(powens, user_client):
    answer_update_with(powens, 400, json=powens_error("wrongpass"))

    with pytest.raises(WrongPassError) as raised:
        user_client.update_connection(7)

    assert str(raised.value) == (
        "wrongpass: technical text for wrongpass (HTTP 400, request req-wrongpass)"
    )


# -- bare statuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, PowensError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_an_error_without_a_code_gives_the_class_of_its_status(
    powens, user_client, status, error_class
):
    answer_update_with(powens, status, json={})

    with pytest.raises(PowensError) as raised:
        user_client.update_connection(7)

    assert type(raised.value) is error_class
    assert (raised.value.code, raised.value.status) == (None, status)


def test_a_bare_429_carries_retry_after(powens, user_client):
    answer_update_with(powens, 429, body="", headers={"Retry-After": "12"})

    with pytest.raises(RateLimitedError) as raised:
        user_client.update_connection(7)

    assert raised.value.retry_after == 12.0


def test_rate_limiting_code_carries_retry_after(powens, user_client):
    answer_update_with(powens, 409, json=powens_error("tooManySync"), headers={"Retry-After": "90"})

    with pytest.raises(RateLimitedError) as raised:
        user_client.update_connection(7)

    assert raised.value.retry_after == 90.0


def test_an_html_error_page_is_a_server_error_that_does_not_pretend_powens_spoke(
    powens, user_client
):
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    answer_update_with(powens, 502, body=page, content_type="text/html")

    with pytest.raises(ServerError) as raised:
        user_client.update_connection(7)

    error = raised.value
    assert (error.status, error.code, error.message, error.body) == (502, None, None, None)
    assert "not Powens' JSON" in error.description
    assert "Bad Gateway" not in str(error)


def test_an_empty_error_body_is_reported_as_such(powens, user_client):
    answer_update_with(powens, 400, body="")

    with pytest.raises(PowensError) as raised:
        user_client.update_connection(7)

    assert type(raised.value) is PowensError
    assert raised.value.status == 400
    assert "empty body" in raised.value.description


# -- answers that are not what Powens documents ----------------------------------------


def test_a_success_that_is_not_json_is_malformed(powens, user_client):
    powens.get(url("users/me/connections"), body="<html>maintenance</html>")

    with pytest.raises(MalformedResponseError) as raised:
        user_client.list_connections()

    assert raised.value.status == 200


def test_a_list_answer_without_its_list_key_is_malformed(powens, user_client):
    powens.get(url("users/me/connections"), json={"items": []})

    with pytest.raises(MalformedResponseError, match="connections"):
        user_client.list_connections()


def test_a_redirect_is_malformed_and_not_followed(powens, user_client):
    powens.get(url("users/me"), status=302, headers={"Location": "https://elsewhere.example/"})

    with pytest.raises(MalformedResponseError) as raised:
        user_client.get_user()

    assert raised.value.status == 302
    assert len(powens.calls) == 1


# -- no answer at all ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), PowensTimeoutError),
        (requests.exceptions.ConnectTimeout("connect timed out"), PowensTimeoutError),
        (requests.exceptions.ConnectionError("connection refused"), PowensConnectionError),
        (requests.exceptions.SSLError("certificate verify failed"), PowensConnectionError),
    ],
    ids=["read-timeout", "connect-timeout", "connection-error", "tls-error"],
)
def test_no_answer_gives_a_transport_error_not_a_requests_exception(
    powens, user_client, failure, error_class
):
    answer_update_with(powens, 200, body=failure)

    with pytest.raises(PowensTransportError) as raised:
        user_client.update_connection(7)

    assert type(raised.value) is error_class
    assert raised.value.status is None
    # The requests exception (whose text holds the full URL) is not chained at all.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None


# -- what callers can rely on ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error_class", "transient"),
    [
        (PowensError, False),
        (WrongPassError, False),
        (ActionNeededError, False),
        (NotFoundError, False),
        (AuthenticationError, False),
        (InvalidValueError, False),
        (WebsiteUnavailableError, True),
        (RateLimitedError, True),
        (ConflictError, True),
        (ServerError, True),
        (MalformedResponseError, True),
        (PowensTimeoutError, True),
        (PowensConnectionError, True),
    ],
)
def test_transient_says_whether_trying_later_may_succeed(error_class, transient):
    assert error_class("x").transient is transient


def test_every_error_is_a_powens_error():
    for error_class in (
        WrongPassError,
        ActionNeededError,
        WebsiteUnavailableError,
        RateLimitedError,
        ConflictError,
        NotFoundError,
        AuthenticationError,
        InvalidValueError,
        ServerError,
        MalformedResponseError,
        PowensTimeoutError,
        PowensConnectionError,
    ):
        assert issubclass(error_class, PowensError)


def raise_from(client, powens, status, **kwargs):
    answer_update_with(powens, status, **kwargs)
    with pytest.raises(PowensError) as raised:
        client.update_connection(7)
    return raised.value


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (400, {"json": powens_error("wrongpass")}),
        (429, {"json": powens_error("rateLimiting"), "headers": {"Retry-After": "15"}}),
        (400, {"json": powens_error("someFutureCode")}),
        (200, {"body": requests.exceptions.ReadTimeout("read timed out")}),
    ],
    ids=["wrongpass", "rate-limited", "unknown-code", "timeout"],
)
def test_pickling_an_error_keeps_its_class_attributes_and_text(powens, user_client, status, answer):
    error = raise_from(user_client, powens, status, **answer)

    restored = pickle.loads(pickle.dumps(error))

    assert type(restored) is type(error)
    assert vars(restored) == vars(error)
    assert str(restored) == str(error)


def test_pickling_a_rate_limited_error_keeps_retry_after(powens, user_client):
    error = raise_from(user_client, powens, 429, body="", headers={"Retry-After": "15"})

    assert pickle.loads(pickle.dumps(error)).retry_after == 15.0
