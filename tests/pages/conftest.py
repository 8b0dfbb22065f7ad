"""Fixtures for the end-user pages: the sandbox over ``live_server`` as Powens, a
person logged in with the Django test client, and helpers walking the flows."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.urls import reverse

from powens_django.models import Connection, Connector
from tests.sandbox.conftest import sandbox_settings  # noqa: F401 (fixture)

PASSWORD = "Sup3r-Secret-Pass!"


@pytest.fixture
def sandbox(powens_sandbox: Any) -> Any:
    """Powens is the sandbox at ``{live_server}/sandbox/2.0/``, its catalogue mirrored:
    ``powens_sandbox`` from ``powens_django.testing``, as host projects get it."""
    return powens_sandbox


@pytest.fixture
def person(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="unused-password")


@pytest.fixture
def someone_else(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("mallory", password="unused-password")


@pytest.fixture
def browser(client: Any, person: Any) -> Any:
    """The Django test client, logged in as ``person``."""
    client.force_login(person)
    return client


def connector(name: str) -> Connector:
    return Connector.objects.get(name=name)


def connect_url(name: str) -> str:
    return reverse("powens:connect", args=[connector(name).uuid])


def credentials(login: str = "alice", password: str = "secret", website: str = "par") -> dict:
    return {"website": website, "login": login, "password": password}


def connect_test_bank(client: Any, login: str = "alice", password: str = "secret") -> Any:
    """Post the "Connecteur de test" form; the response is not followed."""
    return client.post(connect_url("Connecteur de test"), credentials(login, password))


def only_connection() -> Connection:
    return Connection.objects.get()


def bank_redirect(client: Any, name: str, action: str, **data: str) -> dict[str, str]:
    """Start a webauth link to ``name``, press ``action`` on the sandbox bank page and
    return the query the bank sends the browser back with (state included)."""
    start = client.post(connect_url(name), data)
    assert start.status_code == 302, start.content
    pressed = requests.post(
        start["Location"], data={"action": action}, allow_redirects=False, timeout=30
    )
    assert pressed.status_code == 303, pressed.text
    location = urlsplit(pressed.headers["Location"])
    assert location.path == reverse("powens:callback")
    return dict(parse_qsl(location.query))


def callback(client: Any, params: dict[str, str]) -> Any:
    return client.get(reverse("powens:callback"), params)
