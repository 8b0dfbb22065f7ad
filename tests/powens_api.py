"""Powens mocked with ``responses``, as the app's own client reaches it: the one helper
behind the ``powens_api`` fixture (tests/conftest.py) that the service, task and
command tests register Powens' answers with."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from responses import matchers

#: The Powens tokens of the two people most tests use (the `alice`, `bob` fixtures).
ALICE_TOKEN = "alice-token-7d41c2"
BOB_TOKEN = "bob-token-90be55"


class PowensApi:
    """Powens as the app's own client reaches it (``POWENS["DOMAIN"] = "test"``).

    ``add`` registers an answer for a method and a path under the API root (the query
    string is not matched: tests read it back from :meth:`sent`); every answer
    registered must be used, and any call without one fails the test.
    """

    root = "https://test.biapi.pro/2.0/"

    def __init__(self, mock: Any) -> None:
        self.mock = mock

    def add(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> None:
        """Answer ``method path``; with ``token``, only a request made with that user
        token (``Authorization: Bearer <token>``) gets this answer."""
        if token is not None:
            bearer = matchers.header_matcher({"Authorization": f"Bearer {token}"})
            kwargs["match"] = [*kwargs.get("match", ()), bearer]
        self.mock.add(method, self.root + path, **kwargs)

    def add_callback(self, method: str, path: str, callback: Any) -> None:
        self.mock.add_callback(method, self.root + path, callback=callback)

    def add_connection_fetch(self, payload: dict) -> None:
        """Answer the two requests fetching one connection: GET it, GET all its sources."""
        path = f"users/me/connections/{payload['id']}"
        self.add("GET", path, json=payload)
        self.add("GET", f"{path}/sources", json={"sources": payload["sources"]})

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
