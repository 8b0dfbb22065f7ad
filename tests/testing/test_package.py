"""powens_django.testing: helpers importable without pytest, the pytest plugin under
both of its names, and a docstring on everything public."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import powens_django.testing as testing
from powens_django.testing import mixins, pytest_plugin

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_the_helpers_does_not_import_pytest():
    result = run_python(
        """
        import sys
        import django
        django.setup()
        import powens_django.testing as testing
        from powens_django.testing import (
            SANDBOX_PATH, SandboxLiveServerMixin, sandbox_powens_settings, use_sandbox,
            webhook_signature_headers,
        )
        assert callable(use_sandbox) and SANDBOX_PATH == "/sandbox/2.0/"
        print("pytest" in sys.modules, "_pytest" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_the_fixture_is_found_on_the_package_only_through_the_plugin():
    assert testing.powens_sandbox is pytest_plugin.powens_sandbox
    assert "powens_sandbox" in dir(testing)
    with pytest.raises(AttributeError):
        testing.no_such_helper  # noqa: B018


@pytest.mark.slow
@pytest.mark.parametrize("plugin", ["powens_django.testing", "powens_django.testing.pytest_plugin"])
def test_both_plugin_names_give_the_powens_sandbox_fixture(tmp_path, plugin):
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{plugin!r}]\n")
    (tmp_path / "test_it.py").write_text(
        "def test_fixture(request):\n"
        "    manager = request._fixturemanager\n"
        "    [fixturedef] = manager.getfixturedefs('powens_sandbox', request.node)\n"
        "    assert fixturedef.func.__module__ == 'powens_django.testing.pytest_plugin'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def _public(module: object) -> list[tuple[str, object]]:
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = []
    for name in names:
        value = getattr(module, name)
        ours = getattr(value, "__module__", "").startswith("powens_django.testing")
        if ours and (inspect.isfunction(value) or inspect.isclass(value)):
            found.append((name, value))
            if inspect.isclass(value):
                found += [
                    (f"{name}.{attr}", member)
                    for attr, member in vars(value).items()
                    if not attr.startswith("_")
                    and (inspect.isfunction(member) or isinstance(member, property))
                ]
    return found


def test_every_public_helper_has_a_docstring():
    public = _public(testing) + _public(mixins) + [("powens_sandbox", testing.powens_sandbox)]
    names = {name for name, _ in public}
    assert {"use_sandbox", "SandboxLiveServerMixin.setUp", "LiveRequests.wait"} <= names
    assert [name for name, value in public if not inspect.getdoc(value)] == []
