"""The test matrix: the whole suite on each supported Django and Python.

    nox -l                 # the sessions
    nox -s django-6.0      # Django 6.0 on Python 3.12 (SQLite)
    nox -s django-5.2      # Django 5.2 on Python 3.11 (DATABASE_URL picks the database)

Extra arguments go to pytest: ``nox -s django-6.0 -- -x tests/test_tasks.py``.
Each interpreter is taken from pyenv's versions directory when it is there
(``$PYENV_ROOT/versions/X.Y.*/bin``, put first on PATH: pyenv's shims refuse versions
not activated), otherwise from PATH.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["django-5.2", "django-6.0"]

#: (session name, Python, Django requirement, database): what the matrix runs. The
#: README and the pyproject classifiers claim exactly these lines.
MATRIX = [
    ("django-5.2", "3.11", "Django>=5.2,<6.0", None),
    # SQLite only: the database code does not depend on the Django version, and CI runs
    # PostgreSQL on the 5.2 line.
    ("django-6.0", "3.12", "Django>=6.0,<6.1", "sqlite://:memory:"),
]


def _pyenv_bin_dir(version: str) -> str | None:
    """The ``bin`` directory of pyenv's newest ``version`` (``"3.12"``), if installed."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = [
        path
        for path in root.glob(f"{version}.*")
        if re.fullmatch(rf"{re.escape(version)}\.\d+", path.name)
        and (path / "bin" / f"python{version}").exists()
    ]
    if not found:
        return None
    newest = max(found, key=lambda path: int(path.name.rsplit(".", 1)[1]))
    return str(newest / "bin")


def _add_pyenv_to_path() -> None:
    """Put pyenv's interpreters of the matrix first on PATH.

    pyenv's shims answer ``python3.12`` with an error unless that version is activated,
    so a shim on PATH is not enough: the version's own ``bin`` goes before it.
    """
    known = os.environ.get("PATH", "").split(os.pathsep)
    wanted = [_pyenv_bin_dir(python) for _, python, _, _ in MATRIX]
    first = [d for d in dict.fromkeys(wanted) if d and d not in known]
    if first:
        os.environ["PATH"] = os.pathsep.join([*first, *known])


_add_pyenv_to_path()


def _suite(session: nox.Session, django: str, database: str | None) -> None:
    session.install("-e", ".[dev,drf]", django)
    session.run("python", "-m", "django", "--version")
    session.run("python", "hatch_build.py")  # compiled catalogues for the i18n tests
    env = {"DATABASE_URL": database} if database else {}
    session.run("python", "-m", "pytest", *session.posargs, env=env)


def _define(name: str, python: str, django: str, database: str | None) -> None:
    @nox.session(name=name, python=python)
    def run(session: nox.Session) -> None:
        _suite(session, django, database)

    run.__doc__ = f"The test suite on {django} / Python {python}" + (
        " (SQLite)" if database and database.startswith("sqlite") else ""
    )


for _name, _python, _django, _database in MATRIX:
    _define(_name, _python, _django, _database)
