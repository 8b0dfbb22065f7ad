"""Service errors: one place reads Powens' error classes; callers get a stable code, a
translated message, the detail for logs and the Powens error without its frames."""

from __future__ import annotations

import pytest
from django.utils import translation

from powens_django import services
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
    RateLimitedError,
    ServerError,
)
from powens_django.services.errors import NothingToRepair, from_powens, powens_failures


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (ServerError("boom", code="bug", status=500), "powens_unavailable", 503),
        (PowensTimeoutError("slow"), "powens_unavailable", 503),
        (PowensConnectionError("refused"), "powens_unavailable", 503),
        (MalformedResponseError("not JSON"), "powens_unavailable", 503),
        (RateLimitedError("slow down", status=429, retry_after=12), "rate_limited", 503),
        (ConflictError("locked", code="connectionLocked", status=409), "sync_in_progress", 409),
        (AuthenticationError("bad token", code="forbidden", status=401), "access_refused", 502),
        (InvalidValueError("bad", code="invalidValue", status=400), "powens_refused", 502),
        (NotFoundError("gone", code="notFound", status=404), "powens_refused", 502),
        (ActionNeededError("act", code="actionNeeded", status=400), "powens_refused", 502),
        (PowensError("new family", code="someFutureCode", status=418), "powens_refused", 502),
    ],
)
def test_each_powens_failure_becomes_one_service_error(error, code, status):
    service_error = from_powens(error)

    assert isinstance(service_error, services.ServiceError)
    assert (service_error.code, service_error.http_status) == (code, status)
    assert service_error.powens_error is error
    assert service_error.detail == str(error)


def test_a_rate_limit_carries_the_delay_powens_asked_for():
    error = from_powens(RateLimitedError("slow down", status=429, retry_after=12))

    assert error.retry_after == 12
    assert error.transient


def test_a_409_on_a_repair_means_nothing_to_repair():
    conflict = InvalidValueError("Connection is up to date", code="invalidValue", status=409)

    assert from_powens(conflict, conflict=NothingToRepair).code == "nothing_to_repair"
    assert from_powens(conflict).code == "powens_refused"


def test_the_powens_error_is_kept_without_its_frames_nor_chained():
    def call_powens(token: str) -> None:
        raise ServerError("boom", code="bug", status=500)

    with pytest.raises(services.PowensUnavailable) as raised, powens_failures():
        call_powens("secret-token")

    assert raised.value.powens_error.__traceback__ is None
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ is True


def test_messages_are_translated():
    error = from_powens(PowensTimeoutError("slow"))

    with translation.override("fr"):
        french = str(error.message)
    with translation.override("en"):
        english = str(error.message)

    assert english == "We could not reach the bank connection service. Please try again shortly."
    assert french != english


def test_the_repr_never_carries_the_message_only_the_code_and_detail():
    error = services.NotFound("User pk=3 has no connection 7")

    assert repr(error) == "<NotFound code='not_found' detail='User pk=3 has no connection 7'>"
    assert str(services.NotFound().message) == "This bank connection does not exist."
