from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from powens_django.testing import live_requests

from .powens_api import ALICE_TOKEN, BOB_TOKEN, PowensApi

# The sandbox as Powens over live_server (``powens_sandbox``), as host projects get it.
pytest_plugins = ["powens_django.testing.pytest_plugin"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark ``live`` every test served by a live server (``make test-fast`` leaves them
    out, with the ``e2e`` browser tests)."""
    from django.test import LiveServerTestCase

    for item in items:
        cls = getattr(item, "cls", None)
        if "live_server" in getattr(item, "fixturenames", ()) or (
            isinstance(cls, type) and issubclass(cls, LiveServerTestCase)
        ):
            item.add_marker(pytest.mark.live)


@pytest.fixture(autouse=True)
def _live_requests_end_with_the_test(request: Any) -> Iterator[None]:
    """Wait, before a live-server test's database teardown, for the requests the
    server is still answering: a response reaches the test before the server thread
    has run ``request_finished`` (which uses the database), and without this wait that
    work would run after the test had lost its database access."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    live_requests.start()
    yield
    assert live_requests.wait(), "live-server requests still running 10 s after the test"


@pytest.fixture
def api_root() -> str:
    """The API root of tests/settings.py (``DOMAIN = "test"``), mocked by ``responses``."""
    return "https://test.biapi.pro/2.0/"


# -- the service layer, its tasks and commands (tests/services/, test_tasks.py,
# -- test_commands.py): Powens mocked with `responses`, users at Powens -------------------


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


@pytest.fixture
def alice(user_factory: Any) -> Any:
    """A person with a Powens account (Powens user 501, token ``ALICE_TOKEN``)."""
    return user_factory("alice", powens_id=501, token=ALICE_TOKEN)


@pytest.fixture
def bob(user_factory: Any) -> Any:
    """Another person with a Powens account (Powens user 502, token ``BOB_TOKEN``)."""
    return user_factory("bob", powens_id=502, token=BOB_TOKEN)
