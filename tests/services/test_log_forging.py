"""A service error's ``detail`` goes to logs: Powens' text in it is one bounded line,
so a description with newlines cannot forge log records."""

from __future__ import annotations

import pytest

from powens_django import services
from powens_django.client import ServerError
from powens_django.services.errors import DETAIL_LIMIT, from_powens

FORGED = "Internal error\n2026-12-01 INFO powens_django Bank link succeeded for user pk=1"


def test_a_description_with_a_newline_stays_on_one_line():
    error = from_powens(ServerError(FORGED, code="bug", status=500))

    assert "\n" not in error.detail and "\n" not in str(error)
    assert error.detail == (
        "bug: Internal error\\n2026-12-01 INFO powens_django Bank link succeeded for user "
        "pk=1 (HTTP 500)"
    )


def test_a_huge_description_is_cut():
    error = from_powens(ServerError("x" * 100_000, code="bug", status=500))

    assert len(error.detail) == DETAIL_LIMIT
    assert error.detail.endswith("[...]")


def test_any_service_error_detail_is_one_line():
    assert services.InvalidCallback("bad\r\nstate\x1b[2J").detail == "bad\\r\\nstate\\x1b[2J"


@pytest.mark.django_db
def test_the_detail_of_a_failed_call_is_one_line(powens_api, alice, bank):
    powens_api.add(
        "POST", "users/me/connections", status=500, json={"code": "bug", "description": FORGED}
    )

    with pytest.raises(services.PowensUnavailable) as raised:
        services.add_credentials_connection(alice, bank, {"login": "alice", "password": "x"})

    assert "\n" not in raised.value.detail
    assert "Internal error\\n2026-12-01" in raised.value.detail
