"""``reauthenticate``: clearing a connection's SCA with an empty update."""

from __future__ import annotations

import pytest

from powens_django import services

from ..factories import connection_payload
from .helpers import EXPAND, connection, mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def needs_sca(alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    return connection(7)


def test_reauthenticating_posts_an_empty_update_that_clears_sca(powens_api, needs_sca):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.reauthenticate(needs_sca)

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {}
    assert outcome.kind == services.CONNECTED
    assert connection(7).state is None


def test_when_the_bank_wants_a_browser_the_outcome_says_reauthenticate(powens_api, needs_sca):
    powens_api.add(
        "POST", "users/me/connections/7", json=connection_payload(7, state="webauthRequired")
    )

    outcome = services.reauthenticate(needs_sca)

    assert (outcome.kind, outcome.state) == (services.REAUTHENTICATE, "webauthRequired")


def test_a_powens_failure_while_reauthenticating_raises_and_keeps_the_state(powens_api, needs_sca):
    powens_api.add("POST", "users/me/connections/7", status=500, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.reauthenticate(needs_sca)

    assert connection(7).state == "SCARequired"
