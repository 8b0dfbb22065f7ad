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
            "--settings=tests.settings",
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
    assert "Ran 4 tests" in output
    assert "\nOK\n" in output
    assert output.count(" ... ok") == 4
    assert "Database access not allowed" not in output
