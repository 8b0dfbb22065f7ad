"""The built distribution: a wheel that carries package data and compiled catalogues."""

import gettext
import io
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> zipfile.ZipFile:
    [path] = dist.glob("powens_django-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contains_templates_static_locale_and_migrations(wheel):
    names = set(wheel.namelist())
    expected = {
        "powens_django/py.typed",
        "powens_django/templates/powens_django/base.html",
        "powens_django/static/powens_django/powens.css",
        "powens_django/locale/fr/LC_MESSAGES/django.po",
        "powens_django/locale/fr/LC_MESSAGES/django.mo",
        "powens_django/migrations/__init__.py",
        "powens_django/sandbox/migrations/__init__.py",
    }
    assert expected <= names, expected - names


def test_wheel_ships_every_po_compiled(wheel):
    names = set(wheel.namelist())
    catalogues = {n for n in names if n.endswith(".po")}
    assert catalogues
    assert {n[:-3] + ".mo" for n in catalogues} <= names


def test_compiled_catalogue_translates(wheel):
    data = wheel.read("powens_django/locale/fr/LC_MESSAGES/django.mo")
    catalogue = gettext.GNUTranslations(io.BytesIO(data))
    assert catalogue.gettext("Powens bank connections") == "Connexions bancaires Powens"


def test_wheel_leaves_out_tests_and_the_example_project(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"powens_django", next(t for t in tops if t.endswith(".dist-info"))}


def test_wheel_metadata_declares_dependencies_and_extras(wheel):
    [meta_name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(wheel.read(meta_name).decode())
    assert meta["Name"] == "powens-django"
    assert meta["Requires-Python"] == ">=3.11"
    requires = " ".join(meta.get_all("Requires-Dist"))
    for dependency in (
        "django>=5.2",
        "requests",
        "cryptography",
        "regex",
        "jwcrypto",
        "django-tasks",
    ):
        assert dependency in requires.lower(), dependency
    assert {"drf", "dev"} <= set(meta.get_all("Provides-Extra"))
    assert "djangorestframework>=3.15; extra == 'drf'" in requires


def test_sdist_carries_sources_not_compiled_catalogues(dist):
    [path] = dist.glob("powens_django-*.tar.gz")
    with tarfile.open(path) as archive:
        names = archive.getnames()
    assert any(n.endswith("powens_django/locale/fr/LC_MESSAGES/django.po") for n in names)
    assert any(n.endswith("hatch_build.py") for n in names)
    assert not any(n.endswith(".mo") for n in names)
