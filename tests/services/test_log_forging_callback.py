"""Text from outside never forges a log line: the callback's error and description,
and Powens' request ids, reach the log escaped and cut to length."""

from __future__ import annotations

import logging

import pytest

from powens_django import services

pytestmark = pytest.mark.django_db

FORGED = "server_error\n2026-12-01 INFO powens_django Admin logged in\r\x1b[2J"


def test_a_callback_error_is_logged_on_one_line(started, alice, caplog):
    state = started(alice, session_key=None)

    with caplog.at_level(logging.INFO, logger="powens_django.services"):
        services.finish_callback(
            alice, {"state": state, "error": FORGED, "error_description": "x\n" * 500}
        )

    (line,) = [r.getMessage() for r in caplog.records if "Bank link failed" in r.getMessage()]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "\\n2026-12-01 INFO" in line
    assert len(line) < 500


def test_a_request_id_from_powens_is_escaped(powens_api, alice):
    powens_api.add(
        "GET",
        "users/me/connections",
        status=500,
        json={"code": "bug"},
        headers={"X-Request-Id": "abc\nFAKE LINE"},
    )

    with pytest.raises(services.PowensUnavailable) as raised:
        services.fetch_connections(alice)

    assert "\n" not in raised.value.detail
    assert "FAKE LINE" in raised.value.detail
