"""Fixtures for the sandbox tests: the sandbox over real HTTP (``live_server``), users,
the catalogue, a webhook receiver and Powens' OpenAPI schemas.

Nothing here uses ``powens_django.client``: the sandbox is driven with plain
``requests``, so that it is checked against the reference, not against our client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings

from powens_django.sandbox import faults
from powens_django.sandbox.catalogue import load_catalogue, shipped_catalogue
from powens_django.sandbox.models import Connector

from . import openapi

#: Tests over HTTP need committed data (``live_server`` runs in another thread); only
#: the sandbox's tables are emptied after each, which keeps PostgreSQL runs fast.
SANDBOX_DB = pytest.mark.django_db(transaction=True, available_apps=["powens_django.sandbox"])

CLIENT_ID = django_settings.POWENS["CLIENT_ID"]
CLIENT_SECRET = django_settings.POWENS["CLIENT_SECRET"]
CONFIG_TOKEN = django_settings.POWENS["CONFIG_TOKEN"]
WEBHOOK_SECRET = django_settings.POWENS_SANDBOX["WEBHOOK_SECRET"]


class Api:
    """``requests`` against the sandbox root, with an optional bearer token."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return self.root + path.lstrip("/")

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(live_server: Any, settings: Any) -> Iterator[Api]:
    """The sandbox API over HTTP, at ``{live_server}/sandbox/2.0/``, with
    :data:`REDIRECT_URI` registered (``POWENS_SANDBOX["REDIRECT_URIS"]``)."""
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "REDIRECT_URIS": [REDIRECT_URI]}
    client = Api(live_server.url + "/sandbox/2.0/")
    yield client
    client.session.close()


@pytest.fixture
def catalogue(api: Api) -> dict[str, Connector]:
    """The shipped catalogue, loaded; connectors by name."""
    load_catalogue()
    return {row.name: row for row in Connector.objects.all()}


@pytest.fixture
def test_connector(catalogue: dict[str, Connector]) -> Connector:
    """Powens' "Connecteur de test" look-alike (credentials: website, login, password)."""
    return catalogue["Connecteur de test"]


@dataclass
class PowensUser:
    """A sandbox user and its permanent token."""

    id: int
    token: str


def make_user(api: Api) -> PowensUser:
    """Create a user through ``POST /auth/init`` with the client credentials."""
    response = api.post("auth/init", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert response.status_code == 200, response.text
    data = response.json()
    return PowensUser(id=data["id_user"], token=data["auth_token"])


@pytest.fixture
def user(api: Api) -> PowensUser:
    return make_user(api)


@pytest.fixture
def other_user(api: Api) -> PowensUser:
    return make_user(api)


def credentials(login: str = "alice", **extra: str) -> dict[str, str]:
    """Values for the test connector's fields; ``login`` picks the scenario."""
    return {"website": "par", "login": login, "password": "secret", **extra}


def create_connection(
    api: Api, user: PowensUser, connector: Connector, login: str = "alice", **kwargs: Any
) -> requests.Response:
    """``POST /users/me/connections`` on ``connector`` with ``login``."""
    body = {"connector_uuid": str(connector.uuid), **credentials(login)}
    return api.post("users/me/connections", token=user.token, json=body, **kwargs)


@pytest.fixture
def connect(api: Api, user: PowensUser, test_connector: Connector) -> Any:
    """Create a connection of ``user`` on the test connector; returns its JSON."""

    def make(login: str = "alice", expand: str | None = None) -> dict[str, Any]:
        params = {"expand": expand} if expand else None
        response = create_connection(api, user, test_connector, login, params=params)
        assert response.status_code in (201, 202), response.text
        return response.json()

    return make


# -- webauth ------------------------------------------------------------------------

REDIRECT_URI = "https://site.example/powens/callback"


def open_bank_page(api: Api, user: PowensUser, **params: Any) -> requests.Response:
    """``GET /webauth-url`` with ``params`` (client id and redirect URI filled in)."""
    query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, **params}
    return api.get("webauth-url", token=user.token, params=query)


def press(url: str, action: str) -> requests.Response:
    """Press a button of the sandbox bank page at ``url``, as a browser without any
    cookie would (the page carries its own flow id)."""
    return requests.post(url, data={"action": action}, allow_redirects=False, timeout=30)


def callback_params(response: requests.Response) -> dict[str, str]:
    """The query of the redirect to ``redirect_uri``."""
    from urllib.parse import parse_qs, urlsplit

    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def webauth_connection(api: Api, user: PowensUser) -> Any:
    """Create a connection of ``user`` through the bank page (Approve)."""

    def make(connector: Connector, **params: Any) -> dict[str, Any]:
        page = open_bank_page(api, user, connector_uuid=str(connector.uuid), **params)
        assert page.status_code == 200, page.text
        callback = callback_params(press(page.json()["url"], "approve"))
        response = api.get(f"users/me/connections/{callback['id_connection']}", token=user.token)
        return response.json()

    return make


# -- webhooks -----------------------------------------------------------------------


@dataclass
class ReceivedWebhook:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny HTTP server standing for the site's webhook endpoint."""

    url: str
    received: list[ReceivedWebhook] = field(default_factory=list)
    status: int = 200
    #: When set, the handler waits for it before answering (ordering tests).
    gate: threading.Event | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedWebhook]:
        """Wait until ``count`` webhooks have arrived; return them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        assert len(self.received) >= count, f"{len(self.received)} webhooks, expected {count}"
        return list(self.received)


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[tuple[ThreadingHTTPServer, Receiver]]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["receiver"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            item = ReceivedWebhook(
                method="POST",
                path=self.path,
                headers=dict(self.headers.items()),
                body=body,
                received_at=time.monotonic(),
            )
            with receiver.arrived:
                receiver.received.append(item)
                receiver.arrived.notify_all()
            if receiver.gate is not None:
                receiver.gate.wait(timeout=10)
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    state["receiver"] = receiver
    yield server, receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(_receiver_server: tuple[ThreadingHTTPServer, Receiver], settings: Any) -> Receiver:
    """A fresh webhook receiver, with every event type pointed at it:
    ``{url}/hooks/connection-synced`` and so on."""
    _, receiver = _receiver_server
    receiver.received.clear()
    receiver.status = 200
    receiver.gate = None
    settings.POWENS_SANDBOX = {
        **settings.POWENS_SANDBOX,
        "WEBHOOK_URLS": {
            "CONNECTION_SYNCED": receiver.url + "/hooks/connection-synced",
            "CONNECTION_DELETED": receiver.url + "/hooks/connection-deleted",
            "USER_DELETED": receiver.url + "/hooks/user-deleted",
        },
    }
    return receiver


@pytest.fixture
def sandbox_settings(settings: Any) -> Any:
    """Change ``POWENS_SANDBOX`` keys for one test: ``sandbox_settings(FAULTS="503:1")``."""

    def change(**values: Any) -> None:
        settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, **values}
        # Fault draws restart from FAULTS_SEED, as in a freshly started server.
        faults.reset()

    return change


# -- schemas ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema() -> Any:
    """``schema("connections.yml", "Connection", data)`` validates against Powens'
    OpenAPI files. Without them the tests using it skip, with one reason, unless
    ``$POWENS_OPENAPI_DIR`` names them: then they fail."""
    reason = openapi.missing()
    if reason and openapi.required():
        pytest.fail(f"{reason}, named by $POWENS_OPENAPI_DIR", pytrace=False)
    if reason:
        pytest.skip(f"{reason}: {OPENAPI_HINT}")
    return openapi.validate


OPENAPI_HINT = "set $POWENS_OPENAPI_DIR to run the contract tests"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Report every contract test skipped for want of the OpenAPI files at one place,
    so the summary says it once (pytest reports a fixture's skip at each test)."""
    outcome = yield
    report = outcome.get_result()
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and OPENAPI_HINT in str(longrepr[2]):
        report.longrepr = (openapi.__file__, 1, longrepr[2])


@pytest.fixture(scope="session")
def shipped() -> tuple[dict[str, Any], ...]:
    """The shipped catalogue's raw entries."""
    return shipped_catalogue()
