"""The sandbox is the other side of the wire: it imports nothing from the rest of
``powens_django`` (DESIGN.md), so it can never agree with a bug of the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SANDBOX = Path(__file__).resolve().parent.parent.parent / "powens_django" / "sandbox"
MODULES = sorted(SANDBOX.rglob("*.py"))


def imported(path: Path, package: list[str] | None = None) -> set[str]:
    """The absolute names of the modules ``path`` (of ``package``) imports."""
    if package is None:
        package = ["powens_django", *path.relative_to(SANDBOX.parent).with_suffix("").parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_modules_are_found():
    names = {p.name for p in MODULES}
    assert {"bank.py", "webview.py", "webview_urls.py", "0002_webviewvisit.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SANDBOX)))
def test_a_sandbox_module_imports_nothing_of_the_app(path):
    outside = {
        name
        for name in imported(path)
        if name.split(".")[0] == "powens_django"
        and name != "powens_django"
        and not name.startswith("powens_django.sandbox")
    }

    assert outside == set(), f"{path.name} imports {sorted(outside)}"


def test_the_check_sees_a_relative_import_out_of_the_sandbox(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ...services import users\nfrom .. import bank\nimport powens_django.conf\n"
    )

    found = imported(probe, ["powens_django", "sandbox", "views"])

    assert "powens_django.services.users" in found
    assert "powens_django.sandbox.bank" in found
    assert "powens_django.conf" in found
