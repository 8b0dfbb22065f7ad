"""``resume_decoupled``: resuming a connection waiting for the person to validate in
their bank's app."""

from __future__ import annotations

import pytest

from powens_django import services

from ..factories import connection_payload
from .helpers import EXPAND, connection, mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def decoupled(alice):
    mirror(alice, connection_payload(7, state="decoupled"))
    return connection(7)


def test_resuming_a_decoupled_connection_posts_resume_and_waits_for_the_bank(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.resume_decoupled(decoupled)

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {"resume": True}
    assert outcome.kind == services.CONNECTED


def test_a_background_resume_answers_at_once_with_validating(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7, state="validating"))

    outcome = services.resume_decoupled(decoupled, background=True)

    assert powens_api.sent() == [f"POST users/me/connections/7?background=true&{EXPAND}"]
    assert powens_api.body() == {"resume": True}
    assert outcome.kind == services.VALIDATING
    assert connection(7).state == "validating"


def test_a_resume_the_bank_refuses_says_so(powens_api, decoupled):
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "actionNeeded", "message": "Validation refusée dans l'application."},
    )

    outcome = services.resume_decoupled(decoupled)

    assert (outcome.kind, outcome.message) == (
        services.ACTION_NEEDED,
        "Validation refusée dans l'application.",
    )
    assert connection(7).state == "decoupled"


def test_a_powens_failure_while_resuming_raises(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", status=502, json={"code": "bug"})
    powens_api.add_connection_fetch(decoupled.raw)  # still waiting: the resume was lost

    with pytest.raises(services.PowensUnavailable):
        services.resume_decoupled(decoupled)

    assert [r.method for r in powens_api.requests] == ["POST", "GET", "GET"]
    assert connection(7).state == "decoupled"
