"""Refreshing many users: a bounded number of Powens calls in flight, users streamed
from the database, and a rate limit that slows the sweep down instead of failing users."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from django.core.management import call_command

from powens_django import services
from powens_django.models import Connection, PowensUser

from ..factories import connection_payload

pytestmark = pytest.mark.django_db

USERS = 12


@pytest.fixture
def people(user_factory):
    return [user_factory(f"person{i}", powens_id=600 + i, token=f"tok-{i}") for i in range(USERS)]


class SlowPowens:
    """Answers each user's connection list after a pause, counting calls in flight."""

    def __init__(self, pause: float = 0.05) -> None:
        self.pause = pause
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.calls: list[tuple[float, str]] = []
        self.refuse: dict[str, int] = {}  # token -> how many 429s it gets first
        self.retry_after = "0.2"

    def __call__(self, request):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        with self.lock:
            self.calls.append((time.monotonic(), token))
            if self.refuse.get(token):
                self.refuse[token] -= 1
                return 429, {"Retry-After": self.retry_after}, '{"code": "rateLimiting"}'
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.pause)
        with self.lock:
            self.in_flight -= 1
        number = int(token.removeprefix("tok-"))
        return 200, {}, json.dumps({"connections": [connection_payload(9000 + number)]})


@pytest.fixture
def slow_powens(powens_api):
    powens = SlowPowens()
    powens_api.mock.assert_all_requests_are_fired = False
    powens_api.add_callback("GET", "users/me/connections", powens)
    return powens


def test_calls_in_flight_never_exceed_the_concurrency(people, slow_powens):
    result = services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=4)

    assert len(result.succeeded) == USERS
    assert 1 < slow_powens.most <= 4
    assert Connection.objects.count() == USERS


def test_the_setting_sets_the_default_concurrency(settings, people, slow_powens):
    settings.POWENS = {**settings.POWENS, "SYNC_CONCURRENCY": 3}

    services.refresh_powens_users(services.powens_users_to_refresh())

    assert 1 < slow_powens.most <= 3


def test_results_come_in_the_order_the_users_were_read(people, slow_powens):
    result = services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=6)

    assert [item.key for item in result] == [person.pk for person in people]


def test_a_rate_limited_user_is_tried_again_after_retry_after_not_failed(people, slow_powens):
    slow_powens.refuse = {"tok-0": 2, "tok-5": 1}

    result = services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=4)

    assert not result.failed
    assert len(result) == USERS
    assert Connection.objects.filter(powens_id=9000).exists()
    refused_at = [at for at, token in slow_powens.calls if token == "tok-0"]
    assert len(refused_at) == 3
    # Once the 429 was seen, nothing more was sent within its Retry-After (calls
    # already on their way may still arrive a moment later).
    first_429 = refused_at[0]
    assert not [at for at, _ in slow_powens.calls if first_429 + 0.05 < at < first_429 + 0.19]


def test_a_rate_limit_lowers_the_calls_in_flight(people, slow_powens):
    slow_powens.refuse = {f"tok-{i}": 1 for i in range(4)}
    slow_powens.retry_after = "0.05"

    services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=8)
    before = slow_powens.most

    # After the first round of 429s the sweep never went back to 8 at once.
    assert before < 8


def test_a_user_refused_again_and_again_is_reported_failed_in_the_end(
    people, slow_powens, monkeypatch
):
    from powens_django.services import batch

    monkeypatch.setattr(batch, "RATE_LIMIT_ATTEMPTS", 3)
    slow_powens.refuse = {"tok-1": 100}
    slow_powens.retry_after = "0.01"

    result = services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=4)

    (failed,) = result.failed
    assert failed.key == people[1].pk
    assert failed.error.code == "rate_limited"
    assert len([t for _, t in slow_powens.calls if t == "tok-1"]) == 3


def test_users_are_streamed_from_the_database(people, slow_powens, monkeypatch):
    from django.db.models.query import QuerySet

    streamed = []
    iterator = QuerySet.iterator

    def spy(self, *args, **kwargs):
        streamed.append(self.model)
        return iterator(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "iterator", spy)

    services.refresh_powens_users(services.powens_users_to_refresh(), concurrency=2)

    assert PowensUser in streamed


def test_the_command_takes_a_concurrency(people, slow_powens):
    call_command("powens_sync_connections", "--concurrency", "2", stdout=io.StringIO())

    assert 1 < slow_powens.most <= 2
    assert Connection.objects.count() == USERS


def test_the_command_refuses_a_concurrency_out_of_range(people):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--concurrency"):
        call_command("powens_sync_connections", "--concurrency", "0")
