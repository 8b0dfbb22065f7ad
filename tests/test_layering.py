"""The floors of DESIGN.md: front doors stand on the service layer only.

A view, a task, a management command, a form or the adapter parses input, calls a
service and renders; none of them imports the client, the sync module or the bulk
writer, so none can talk to Powens, write mirrored rows or read Powens' error classes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "powens_django"
FORBIDDEN = {"client", "sync", "bulk"}

FRONT_DOORS = sorted(
    [
        PACKAGE / "views.py",
        PACKAGE / "tasks.py",
        PACKAGE / "forms.py",
        PACKAGE / "adapter.py",
        PACKAGE / "receivers.py",
        *(PACKAGE / "management" / "commands").glob("*.py"),
        *(PACKAGE / "templatetags").glob("*.py"),
        *[path for name in ("admin.py", "webhooks.py") if (path := PACKAGE / name).exists()],
        *(PACKAGE / "admin").glob("*.py"),
        *(PACKAGE / "api").glob("*.py"),
        *(PACKAGE / "webhooks").glob("*.py"),
    ]
)


def imported_modules(path: Path, package_parts: tuple[str, ...] | None = None) -> set[str]:
    """Every module ``path`` imports, as a dotted name inside the package ("client",
    "services.errors"...), or the absolute name for other packages."""
    if package_parts is None:
        package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - node.level + 1])
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            names = [module] if node.module else []
            names += [f"{module}.{alias.name}" for alias in node.names]
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name.removeprefix("powens_django.") for name in found}


def test_the_front_doors_are_found():
    names = {p.name for p in FRONT_DOORS}
    assert {"views.py", "tasks.py", "powens_sync_connections.py"} <= names


@pytest.mark.parametrize("path", FRONT_DOORS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_front_door_imports_nothing_below_the_service_layer(path):
    reached = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN and not name.startswith("services")
    }

    assert reached == set(), f"{path.name} reaches below the services: {sorted(reached)}"


def test_the_check_sees_a_forbidden_import(tmp_path):
    door = tmp_path / "probe.py"
    door.write_text("from ...client import PowensError\nfrom ... import sync\n")

    found = imported_modules(door, ("powens_django", "management", "commands"))

    assert {"client", "client.PowensError", "sync"} <= found


def test_the_service_layer_does_not_import_the_front_doors():
    for path in (PACKAGE / "services").glob("*.py"):
        reached = {
            name
            for name in imported_modules(path)
            if name.split(".")[0] in {"views", "forms", "tasks", "admin", "api", "webhooks"}
        }
        assert reached == set(), f"services/{path.name} imports {sorted(reached)}"
