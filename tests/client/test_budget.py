"""The time budget of a web request: every Powens call inside it shares the seconds
left, retries that would not fit are not made, and nothing is sent once it is spent."""

from __future__ import annotations

import pytest
import requests

from powens_django.client import PowensTimeoutError, ServerError, time_budget
from powens_django.client.budget import remaining

from .wire import url


def sent_timeouts(powens) -> list[tuple[float, float]]:
    return [call.request.req_kwargs["timeout"] for call in powens.calls]


def test_outside_a_budget_the_configured_timeouts_apply(powens, make_client):
    client = make_client(timeout=(3.0, 120.0)).with_token("t")
    powens.get(url("users/me"), json={"id": 1})

    client.get_user()

    assert sent_timeouts(powens) == [(3.0, 120.0)]


def test_inside_a_budget_the_read_timeout_is_cut_to_the_time_left(powens, make_client):
    client = make_client(timeout=(3.0, 120.0)).with_token("t")
    powens.get(url("users/me"), json={"id": 1})

    with time_budget(20):
        client.get_user()

    ((connect, read),) = sent_timeouts(powens)
    assert connect == 3.0
    assert 19.0 < read <= 20.0


def test_a_retry_that_would_not_fit_is_not_made(powens, make_client, sleeps):
    client = make_client(max_retries=3, max_retry_wait=60).with_token("t")
    powens.get(url("users/me"), status=503, json={"code": "bug"}, headers={"Retry-After": "10"})

    with time_budget(5), pytest.raises(ServerError):
        client.get_user()

    assert len(powens.calls) == 1
    assert sleeps == []


def test_a_retry_that_fits_is_made(powens, make_client, sleeps):
    client = make_client(max_retries=3).with_token("t")
    powens.get(url("users/me"), status=503, json={"code": "bug"}, headers={"Retry-After": "1"})
    powens.get(url("users/me"), json={"id": 1})

    with time_budget(30):
        assert client.get_user() == {"id": 1}

    assert sleeps == [1.0]


def test_nothing_is_sent_once_the_budget_is_spent(powens, make_client):
    client = make_client().with_token("t")

    with time_budget(0), pytest.raises(PowensTimeoutError, match="No time left"):
        client.get_user()

    assert len(powens.calls) == 0


def test_a_post_that_times_out_inside_the_budget_is_not_repeated(powens, make_client):
    client = make_client(max_retries=3).with_token("t")
    powens.post(url("users/me/connections"), body=requests.ReadTimeout("slow bank"))

    with time_budget(30), pytest.raises(PowensTimeoutError):
        client.create_connection({"login": "a"}, connector_uuid="u")

    assert len(powens.calls) == 1


def test_an_inner_budget_never_extends_the_outer_one():
    with time_budget(5):
        with time_budget(600):
            assert remaining() <= 5
        with time_budget(1):
            assert remaining() <= 1
        assert 4 < remaining() <= 5
    assert remaining() is None


def test_no_budget_means_none():
    with time_budget(None):
        assert remaining() is None
