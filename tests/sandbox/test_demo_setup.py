"""The example site's ``demo_setup`` loads the sandbox catalogue, idempotently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_demo_setup_loads_the_catalogue_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWENS_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DEBUG="True",
    )
    count = (
        "from powens_django.sandbox.models import Connector;"
        "print(Connector.objects.filter(synthetic=False).count())"
    )

    first = manage(env, "demo_setup")
    second = manage(env, "demo_setup")

    assert "24 connectors created" in first
    assert "0 connectors created, 24 updated" in second
    assert manage(env, "shell", "-c", count).strip().splitlines()[-1] == "24"
