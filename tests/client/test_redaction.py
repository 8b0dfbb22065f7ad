"""Secrets never reach logs or error texts, while every call is still logged with what
is needed to follow it up with Powens: method, path, status and request id."""

from __future__ import annotations

import logging
import traceback

import pytest
import requests

from powens_django.client import PowensError

from .wire import (
    CLIENT_SECRET,
    CONFIG_TOKEN,
    CONNECTOR_UUID,
    REDIRECT_URI,
    USER_TOKEN,
    url,
)

TEMP_CODE = "temp-code-3f9a77d2"
STATE = "state-7c1e40bb9d"
PASSWORD = "hunter2-secret"
NEW_TOKEN = "fresh-permanent-token-81e2"

SECRETS = [USER_TOKEN, CLIENT_SECRET, CONFIG_TOKEN, TEMP_CODE, STATE, PASSWORD, NEW_TOKEN]


def init_user(client, powens):
    powens.post(url("auth/init"), json={"auth_token": NEW_TOKEN, "id_user": 42})
    client.init_user()


def renew_token(client, powens):
    powens.post(url("auth/renew"), json={"access_token": NEW_TOKEN, "token_type": "Bearer"})
    client.renew_token(42)


def create_temporary_code(client, powens):
    powens.get(url("auth/token/code"), json={"code": TEMP_CODE, "type": "singleAccess"})
    client.with_token(USER_TOKEN).create_temporary_code()


def exchange_code(client, powens):
    powens.post(url("auth/token/access"), json={"token": NEW_TOKEN})
    client.exchange_code(TEMP_CODE)


def webauth_url_with_state(client, powens):
    powens.get(url("webauth-url"), status=503, body="")
    powens.get(url("webauth-url"), json={"url": "https://bank.example/a"})
    client.with_token(USER_TOKEN).webauth_url(REDIRECT_URI, id_connector=59, state=STATE)


def build_webauth_redirect(client, powens):
    client.build_webauth_redirect(TEMP_CODE, REDIRECT_URI, id_connection=7, state=STATE)


def create_connection_with_password(client, powens):
    powens.post(url("users/me/connections"), json={"id": 7}, status=201)
    client.with_token(USER_TOKEN).create_connection(
        {"login": "alice", "password": PASSWORD}, connector_uuid=CONNECTOR_UUID
    )


def update_connector_with_config_token(client, powens):
    powens.put(url(f"connectors/{CONNECTOR_UUID}"), json={"uuid": CONNECTOR_UUID})
    client.update_connector(CONNECTOR_UUID, hidden=True)


def wrong_password(client, powens):
    powens.post(
        url("users/me/connections"),
        status=400,
        json={"code": "wrongpass", "description": "Wrong credentials", "request_id": "r-1"},
    )
    client.with_token(USER_TOKEN).create_connection(
        {"login": "alice", "password": PASSWORD}, connector_uuid=CONNECTOR_UUID
    )


def refused_token(client, powens):
    powens.get(url("users/me"), status=401, json={"code": "forbidden", "request_id": "r-2"})
    client.with_token(USER_TOKEN).get_user()


def unreachable_webauth(client, powens):
    failure = requests.exceptions.ConnectionError(
        f"Max retries exceeded with url: /2.0/webauth-url?state={STATE}"
    )
    powens.get(url("webauth-url"), body=failure)
    client.with_token(USER_TOKEN).webauth_url(REDIRECT_URI, id_connection=7, state=STATE)


def timed_out_connection(client, powens):
    powens.post(url("users/me/connections"), body=requests.exceptions.ReadTimeout("timed out"))
    client.with_token(USER_TOKEN).create_connection(
        {"password": PASSWORD}, connector_uuid=CONNECTOR_UUID
    )


SCENARIOS = [
    init_user,
    renew_token,
    create_temporary_code,
    exchange_code,
    webauth_url_with_state,
    build_webauth_redirect,
    create_connection_with_password,
    update_connector_with_config_token,
    wrong_password,
    refused_token,
    unreachable_webauth,
    timed_out_connection,
]


def log_text(caplog) -> str:
    """Everything the records would show: formatted messages and their raw arguments."""
    return "\n".join(
        f"{record.getMessage()} {record.msg!r} {record.args!r}" for record in caplog.records
    )


def client_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "powens_django.client"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_no_secret_reaches_the_logs_or_the_error(powens, client, caplog, scenario):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    error = None

    try:
        scenario(client, powens)
    except PowensError as raised:
        error = raised

    shown = log_text(caplog)
    if error is not None:
        shown += "\n" + str(error) + "\n" + repr(error)
        shown += "\n" + "".join(traceback.format_exception(error))
    for secret in SECRETS:
        assert secret not in shown


def test_a_successful_call_is_logged_with_method_path_status_and_request_id(
    powens, user_client, caplog
):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    powens.get(
        url("users/me/connections"),
        json={"connections": []},
        headers={"X-Request-Id": "req-header-1"},
    )

    user_client.list_connections()

    [line] = client_lines(caplog)
    assert line.startswith("Powens GET /2.0/users/me/connections -> 200 ")
    assert "req-header-1" in line


def test_a_failed_call_is_logged_with_the_request_id_of_the_error_body(powens, user_client, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    powens.post(
        url("users/me/connections/7"),
        status=400,
        json={"code": "wrongpass", "description": "Wrong credentials", "request_id": "req-body-2"},
    )

    with pytest.raises(PowensError):
        user_client.update_connection(7, {"password": PASSWORD})

    [line] = client_lines(caplog)
    assert line.startswith("Powens POST /2.0/users/me/connections/7 -> 400 ")
    assert "req-body-2" in line


def test_a_call_with_a_secret_query_parameter_is_logged_with_it_masked(powens, user_client, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    powens.get(url("webauth-url"), json={"url": "https://bank.example/a"})

    user_client.webauth_url(REDIRECT_URI, id_connection=7, state=STATE)

    [line] = client_lines(caplog)
    assert "/2.0/webauth-url?" in line
    assert "id_connection=7" in line
    assert "state=***" in line
    assert "-> 200" in line


def test_each_attempt_and_each_retry_is_logged(powens, user_client, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    powens.get(url("users/me"), status=503, body="", headers={"X-Request-Id": "req-a"})
    powens.get(url("users/me"), json={"id": 1}, headers={"X-Request-Id": "req-b"})

    user_client.get_user()

    lines = client_lines(caplog)
    assert len(lines) == 3
    assert "-> 503" in lines[0]
    assert "req-a" in lines[0]
    assert "GET /2.0/users/me gave 503; retrying" in lines[1]
    assert "-> 200" in lines[2]
    assert "req-b" in lines[2]


def test_a_call_that_got_no_answer_is_logged_with_what_went_wrong(powens, user_client, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")
    powens.post(url("users/me/connections/7"), body=requests.exceptions.ReadTimeout("slow"))

    with pytest.raises(PowensError):
        user_client.update_connection(7)

    [line] = client_lines(caplog)
    assert line.startswith("Powens POST /2.0/users/me/connections/7 -> PowensTimeoutError ")


@pytest.mark.parametrize("status", [400, 503])
def test_error_report_with_local_variables_never_shows_the_token(powens, client, status):
    # Django's debug page, HTML error mails and Sentry print every frame's locals.
    import sys

    from django.views.debug import ExceptionReporter

    body = {"code": "wrongpass", "description": "refused", "message": None}
    powens.get(url("users/me"), status=status, json=body)
    if status == 503:  # retried: register the remaining attempts too
        for _ in range(client.transport.max_retries):
            powens.get(url("users/me"), status=status, json=body)
    try:
        client.with_token(USER_TOKEN).get_user()
    except PowensError:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    else:
        pytest.fail("the call should have failed")
    assert "get_user" in report  # the report does show the client's frames
    assert USER_TOKEN not in report
