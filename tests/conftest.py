from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses


@pytest.fixture
def api_root() -> str:
    """The API root of tests/settings.py (``DOMAIN = "test"``), mocked by ``responses``."""
    return "https://test.biapi.pro/2.0/"


# -- the service layer, its tasks and commands (tests/test_services*.py, test_tasks.py,
# -- test_commands.py): Powens mocked with `responses`, users at Powens -------------------


class PowensApi:
    """Powens as the app's own client reaches it (``POWENS["DOMAIN"] = "test"``).

    ``add`` registers an answer for a method and a path under the API root (the query
    string is not matched: tests read it back from :meth:`sent`); every answer
    registered must be used, and any call without one fails the test.
    """

    root = "https://test.biapi.pro/2.0/"

    def __init__(self, mock: Any) -> None:
        self.mock = mock

    def add(self, method: str, path: str, **kwargs: Any) -> None:
        self.mock.add(method, self.root + path, **kwargs)

    def add_callback(self, method: str, path: str, callback: Any) -> None:
        self.mock.add_callback(method, self.root + path, callback=callback)

    @property
    def requests(self) -> list[Any]:
        return [call.request for call in self.mock.calls]

    def sent(self) -> list[str]:
        """Every request made, in order, as ``"METHOD path?query"`` under the root."""
        return [f"{r.method} {r.url.removeprefix(self.root)}" for r in self.requests]

    def query(self, index: int = 0) -> dict[str, str]:
        """The query parameters of the ``index``-th request (a bare flag gives "")."""
        query = urlsplit(self.requests[index].url).query
        return dict(parse_qsl(query, keep_blank_values=True))

    def forget_calls(self) -> None:
        """Forget the requests made so far (after a test's arrangement)."""
        self.mock.calls.reset()

    def body(self, index: int = 0) -> Any:
        """The decoded JSON body of the ``index``-th request (None without a body)."""
        raw = self.requests[index].body
        return json.loads(raw) if raw else None


@pytest.fixture
def powens_api(settings: Any) -> Iterator[PowensApi]:
    """Powens behind the service layer, mocked by ``responses`` (never the network).

    Retries are off, so a failing answer is one request and nothing sleeps.
    """
    settings.POWENS = {**settings.POWENS, "MAX_RETRIES": 0}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield PowensApi(mock)


@pytest.fixture
def user_factory(db: Any) -> Any:
    """Make a Django user; ``powens_id`` and ``token`` give it a Powens account already
    (as :func:`powens_django.services.ensure_powens_user` would have stored it)."""
    from django.contrib.auth import get_user_model

    from powens_django.models import PowensUser

    def make(username: str, *, powens_id: int | None = None, token: str | None = None) -> Any:
        user = get_user_model().objects.create_user(username, password="unused-password")
        if powens_id is not None:
            PowensUser.objects.create(user=user, powens_id=powens_id, token=token or "tok")
        return user

    return make


# The sandbox as Powens over live_server, as host projects get it (powens_django.testing).
from powens_django.testing import powens_sandbox  # noqa: E402,F401
