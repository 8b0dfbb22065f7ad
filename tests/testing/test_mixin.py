"""SandboxLiveServerMixin under pytest (the cases of runner_cases.py) and under Django's
own test runner (the same module, in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .runner_cases import SandboxMixinTests, WithoutCatalogueTests  # noqa: F401 (collected)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.live
def test_djangos_test_runner_refuses_the_sandbox_when_debug_is_off_unless_allowed():
    # The runner turns DEBUG off before its system checks: tests.settings, which does
    # not allow the sandbox without DEBUG, stops there (runner_settings.py allows it).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "sqlite://:memory:"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "test",
            "tests.testing.runner_cases",
            "--settings=tests.settings",
            "--noinput",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "powens_sandbox.E006" in result.stderr + result.stdout


@pytest.mark.slow
@pytest.mark.live
def test_the_mixin_works_under_djangos_test_runner():
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # Its own in-memory database: never the test database of the running suite.
        "DATABASE_URL": "sqlite://:memory:",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "test",
            "tests.testing.runner_cases",
            "--settings=tests.testing.runner_settings",
            "--noinput",
            "-v",
            "2",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "Ran 5 tests" in output
    assert "\nOK\n" in output
    assert output.count(" ... ok") == 5
    assert "Database access not allowed" not in output
