"""Faults on demand: 503, 429 with Retry-After, slow and malformed answers."""

from __future__ import annotations

import json
import time

import pytest

from powens_django.sandbox import config
from powens_django.sandbox.models import User

from .conftest import CLIENT_ID, CLIENT_SECRET, SANDBOX_DB

pytestmark = SANDBOX_DB


def test_a_503_share_of_one_spoils_every_call(api, catalogue, sandbox_settings, schema):
    sandbox_settings(FAULTS="503:1")

    response = api.get("connectors")

    assert response.status_code == 503
    schema("core.yml", "ServiceError", response.json())
    assert response.headers["X-Sandbox-Fault"] == "503"


def test_a_429_carries_retry_after(api, catalogue, sandbox_settings):
    sandbox_settings(FAULTS="429:1", FAULT_RETRY_AFTER=7)

    response = api.get("connectors")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == "rateLimiting"


def test_a_malformed_answer_is_not_json(api, catalogue, sandbox_settings):
    sandbox_settings(FAULTS="malformed:1")

    response = api.get("connectors")

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_a_slow_answer_takes_the_configured_time(api, catalogue, sandbox_settings):
    sandbox_settings(FAULTS="slow:1", FAULT_SLOW_SECONDS=0.3)

    started = time.monotonic()
    response = api.get("connectors")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_fault_changes_nothing_on_the_sandbox(api, sandbox_settings):
    sandbox_settings(FAULTS="503:1")

    response = api.post("auth/init", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})

    assert response.status_code == 503
    assert not User.objects.exists()


def test_faults_with_a_seed_are_reproducible(api, catalogue, sandbox_settings):
    def statuses() -> list[int]:
        sandbox_settings(FAULTS="503:0.5", FAULTS_SEED=1234)
        return [api.get("connectors").status_code for _ in range(12)]

    first, second = statuses(), statuses()

    assert first == second
    assert set(first) == {200, 503}


def test_a_zero_share_never_fires(api, catalogue, sandbox_settings):
    sandbox_settings(FAULTS="503:0,429:0")

    assert {api.get("connectors").status_code for _ in range(5)} == {200}


def test_the_environment_variable_is_used_when_the_setting_is_absent(monkeypatch, settings):
    settings.POWENS_SANDBOX = {k: v for k, v in settings.POWENS_SANDBOX.items() if k != "FAULTS"}
    monkeypatch.setenv("POWENS_SANDBOX_FAULTS", "429:0.25")

    assert config.parse_faults(config.get("FAULTS")).rate_limited == 0.25


def test_the_setting_wins_over_the_environment(monkeypatch, sandbox_settings):
    sandbox_settings(FAULTS="")
    monkeypatch.setenv("POWENS_SANDBOX_FAULTS", "503:1")

    assert not config.parse_faults(config.get("FAULTS")).any


def test_the_fault_string_is_parsed():
    faults = config.parse_faults("503:0.1, 429:0.05,slow:0.1,malformed:0.05")

    assert (faults.unavailable, faults.rate_limited, faults.slow, faults.malformed) == (
        0.1,
        0.05,
        0.1,
        0.05,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("500:0.1", "Unknown"),
        ("503:x", "Unreadable"),
        ("503:2", "between"),
        ("503:0.6,429:0.6", "add up"),
    ],
)
def test_a_bad_fault_string_is_an_error(text, problem):
    with pytest.raises(ValueError, match=problem):
        config.parse_faults(text)


def test_the_bank_page_and_webauth_redirect_are_not_spoiled(api, sandbox_settings):
    sandbox_settings(FAULTS="503:1")

    assert api.get("bank/unknown").status_code == 410
    assert api.get("webauth").status_code == 400
