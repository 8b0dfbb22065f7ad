"""``set_connection_active``: turning a connection's automatic syncs on or off."""

from __future__ import annotations

import pytest

from powens_django import services

from ..factories import connection_payload
from .helpers import BUG, EXPAND, connection, mirror

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("active", [False, True])
def test_turning_automatic_syncs_on_or_off_posts_active(powens_api, alice, active):
    mirror(alice, connection_payload(7, active=not active))
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7, active=active))

    updated = services.set_connection_active(connection(7), active).connection

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {"active": active}
    assert updated.active is active
    assert connection(7).active is active


def test_a_refused_activation_change_raises_and_keeps_the_local_flag(powens_api, alice):
    mirror(alice, connection_payload(7, active=True))
    powens_api.add("POST", "users/me/connections/7", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.set_connection_active(connection(7), False)

    assert connection(7).active is True
