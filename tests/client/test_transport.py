"""The HTTP layer: retries of idempotent calls with backoff, Retry-After, timeouts and
the headers every request carries."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from powens_django import __version__
from powens_django.client import (
    PowensClient,
    PowensConnectionError,
    PowensTimeoutError,
    RateLimitedError,
    ServerError,
)

from .wire import API_ROOT, CONNECTION, CONNECTOR_UUID, url

CONNECTIONS_URL = url("users/me/connections")
LISTED = {"connections": [CONNECTION]}

# -- what is retried -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_get_answered_with_a_retryable_status_is_tried_again(powens, user_client, sleeps, status):
    powens.get(CONNECTIONS_URL, status=status, body="")
    powens.get(CONNECTIONS_URL, json=LISTED)

    assert user_client.list_connections() == [CONNECTION]
    assert len(powens.calls) == 2
    assert len(sleeps) == 1


def test_a_put_sync_is_retried(powens, user_client, sleeps):
    powens.put(url("users/me/connections/7"), status=503, body="")
    powens.put(url("users/me/connections/7"), json=CONNECTION)

    assert user_client.sync_connection(7) == CONNECTION
    assert len(powens.calls) == 2


def test_a_delete_is_retried(powens, user_client, sleeps):
    powens.delete(url("users/me/connections/7"), status=502, body="")
    powens.delete(url("users/me/connections/7"), status=204)

    assert user_client.delete_connection(7) is None
    assert len(powens.calls) == 2


def test_success_after_several_retries_returns_the_data(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=503, body="")
    powens.get(CONNECTIONS_URL, status=429, body="")
    powens.get(CONNECTIONS_URL, status=504, body="")
    powens.get(CONNECTIONS_URL, json=LISTED)

    assert user_client.list_connections() == [CONNECTION]
    assert len(powens.calls) == 4
    assert len(sleeps) == 3


def test_retries_stop_after_max_retries_with_the_typed_error(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=503, json={"code": "bug", "description": "maintenance"})

    with pytest.raises(ServerError) as raised:
        user_client.list_connections()

    assert raised.value.status == 503
    assert len(powens.calls) == 1 + 3
    assert len(sleeps) == 3


def test_max_retries_is_configurable(powens, make_client, sleeps):
    client = make_client(max_retries=1, token="t")
    powens.get(CONNECTIONS_URL, status=503, body="")

    with pytest.raises(ServerError):
        client.list_connections()

    assert len(powens.calls) == 2


def test_a_bare_429_that_stays_is_a_rate_limited_error(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=429, body="")

    with pytest.raises(RateLimitedError):
        user_client.list_connections()

    assert len(powens.calls) == 4


def test_a_500_is_not_retried(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=500, json={"code": "bug"})

    with pytest.raises(ServerError):
        user_client.list_connections()

    assert len(powens.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_post_creating_a_connection_is_never_retried(powens, user_client, sleeps, status):
    powens.post(url("users/me/connections"), status=status, body="")

    with pytest.raises((ServerError, RateLimitedError)):
        user_client.create_connection({"login": "alice"}, connector_uuid=CONNECTOR_UUID)

    assert len(powens.calls) == 1
    assert sleeps == []


def test_a_post_is_not_retried_after_a_connection_error(powens, user_client, sleeps):
    powens.post(url("users/me/connections"), body=requests.exceptions.ConnectionError("reset"))

    with pytest.raises(PowensConnectionError):
        user_client.create_connection({"login": "alice"}, connector_uuid=CONNECTOR_UUID)

    assert len(powens.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectionError("connection refused"),
        requests.exceptions.ConnectTimeout("connect timed out"),
    ],
    ids=["connection-error", "connect-timeout"],
)
def test_a_get_that_never_reached_powens_is_retried(powens, user_client, sleeps, failure):
    powens.get(CONNECTIONS_URL, body=failure)
    powens.get(CONNECTIONS_URL, json=LISTED)

    assert user_client.list_connections() == [CONNECTION]
    assert len(powens.calls) == 2
    assert len(sleeps) == 1


def test_connection_errors_that_persist_give_a_connection_error(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, body=requests.exceptions.ConnectionError("connection refused"))

    with pytest.raises(PowensConnectionError):
        user_client.list_connections()

    assert len(powens.calls) == 4


def test_a_read_timeout_is_not_retried(powens, user_client, sleeps):
    # Powens may still be talking to the bank: asking again would only add load.
    powens.get(CONNECTIONS_URL, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(PowensTimeoutError):
        user_client.list_connections()

    assert len(powens.calls) == 1
    assert sleeps == []


# -- how long it waits -----------------------------------------------------------------


def test_backoff_doubles_with_jitter_below_each_step(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=503, body="")

    with pytest.raises(ServerError):
        user_client.list_connections()

    # backoff=0.5: steps of 0.5, 1 and 2 seconds, each jittered into [step/2, step).
    steps = [0.5, 1.0, 2.0]
    assert len(sleeps) == len(steps)
    for slept, step in zip(sleeps, steps, strict=True):
        assert step / 2 <= slept < step
    assert sleeps == sorted(sleeps)


def test_backoff_never_exceeds_max_retry_wait(powens, make_client, sleeps):
    client = make_client(token="t", backoff=10.0, max_retry_wait=15.0)
    powens.get(CONNECTIONS_URL, status=503, body="")

    with pytest.raises(ServerError):
        client.list_connections()

    # Steps 10, 20 and 40 seconds are capped at 15, then jittered.
    for slept, step in zip(sleeps, [10.0, 15.0, 15.0], strict=True):
        assert step / 2 <= slept < step


def test_retry_after_in_seconds_is_honoured(powens, user_client, sleeps):
    powens.get(CONNECTIONS_URL, status=429, headers={"Retry-After": "7"}, body="")
    powens.get(CONNECTIONS_URL, json=LISTED)

    assert user_client.list_connections() == [CONNECTION]
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured(powens, user_client, sleeps):
    in_twenty_seconds = email.utils.formatdate(time.time() + 20, usegmt=True)
    powens.get(CONNECTIONS_URL, status=503, headers={"Retry-After": in_twenty_seconds}, body="")
    powens.get(CONNECTIONS_URL, json=LISTED)

    user_client.list_connections()

    assert len(sleeps) == 1
    assert 18.0 <= sleeps[0] <= 20.0


def test_retry_after_longer_than_max_retry_wait_is_handed_to_the_caller(
    powens, user_client, sleeps
):
    powens.get(CONNECTIONS_URL, status=429, headers={"Retry-After": "120"}, body="")

    with pytest.raises(RateLimitedError) as raised:
        user_client.list_connections()

    assert raised.value.retry_after == 120.0
    assert len(powens.calls) == 1
    assert sleeps == []


def test_max_retry_wait_is_configurable(powens, make_client, sleeps):
    client = make_client(token="t", max_retry_wait=200.0)
    powens.get(CONNECTIONS_URL, status=429, headers={"Retry-After": "120"}, body="")
    powens.get(CONNECTIONS_URL, json=LISTED)

    client.list_connections()

    assert sleeps == [120.0]


# -- what every request carries --------------------------------------------------------


def test_requests_name_powens_django_and_its_version_in_the_user_agent(powens, client):
    powens.get(url("connectors"), json={"connectors": []})

    client.list_connectors()

    agent = powens.calls[0].request.headers["User-Agent"]
    assert agent.startswith(f"powens-django/{__version__} ")


def test_user_agent_extra_is_appended(powens, make_client):
    powens.get(url("connectors"), json={"connectors": []})

    make_client(user_agent_extra="acme-shop/2.1").list_connectors()

    assert powens.calls[0].request.headers["User-Agent"].endswith(" acme-shop/2.1")


def test_requests_ask_for_json(powens, client):
    powens.get(url("connectors"), json={"connectors": []})

    client.list_connectors()

    assert powens.calls[0].request.headers["Accept"] == "application/json"


def test_reads_wait_long_by_default_since_syncs_wait_for_the_bank(powens, client):
    powens.get(url("connectors"), json={"connectors": []})

    client.list_connectors()

    assert powens.calls[0].request.req_kwargs["timeout"] == (10.0, 300.0)


def test_timeout_is_configurable(powens, make_client):
    powens.get(url("connectors"), json={"connectors": []})

    make_client(timeout=(2.0, 30.0)).list_connectors()

    assert powens.calls[0].request.req_kwargs["timeout"] == (2.0, 30.0)


# -- the API root ----------------------------------------------------------------------


def test_an_api_root_without_trailing_slash_is_accepted(powens, sleeps):
    powens.get(url("connectors"), json={"connectors": []})

    PowensClient(API_ROOT.rstrip("/"), sleep=sleeps.append).list_connectors()

    assert powens.calls[0].request.url == url("connectors")


@pytest.mark.parametrize("root", ["test.biapi.pro/2.0/", "/2.0/", "ftp://test.biapi.pro/2.0/"])
def test_an_api_root_that_is_not_an_absolute_http_url_is_refused(root):
    with pytest.raises(ValueError, match="absolute"):
        PowensClient(root)


def test_a_url_outside_the_api_root_is_never_called_with_a_token(powens, user_client):
    # e.g. a _links.next.href pointing elsewhere.
    with pytest.raises(ValueError, match="outside the API root"):
        user_client.transport.request(
            "GET", "https://evil.example/2.0/users/me/connections", bearer="user-token"
        )
    assert not powens.calls
