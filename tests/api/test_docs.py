"""The front-end sequence of docs/api.md, run as written against the sandbox: the
picker, a link on the bank's website, its callback, the list; and credentials with a
one-time code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from powens_django.models import Connection

from ..pages.conftest import sandbox  # noqa: F401 (fixture)
from .conftest import API

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def open_in_browser(url: str) -> dict[str, str]:
    """The person approves at the sandbox bank; the query it sends the browser back
    with."""
    pressed = requests.post(url, data={"action": "approve"}, allow_redirects=False, timeout=30)
    assert pressed.status_code == 303, pressed.text
    return dict(parse_qsl(urlsplit(pressed.headers["Location"]).query))


@pytest.fixture
def namespace(sandbox, django_user_model) -> dict[str, Any]:  # noqa: F811
    django_user_model.objects.create_user("reader", password="doc-pass-1")
    api = requests.Session()
    api.auth = ("reader", "doc-pass-1")
    return {"api": api, "SITE": sandbox.url + API, "open_in_browser": open_in_browser}


def test_the_doc_has_the_two_sequences():
    assert len(doc_blocks()) == 2


@pytest.mark.parametrize("index", [0, 1], ids=["webauth", "credentials-otp"])
def test_the_documented_sequence_runs_as_written(namespace, index, capsys):
    exec(compile(doc_blocks()[index], str(DOC), "exec"), namespace)

    connection = Connection.objects.get(powens_user__user__username="reader")
    assert connection.state is None
    if index == 0:
        assert "Up to date" in capsys.readouterr().out
