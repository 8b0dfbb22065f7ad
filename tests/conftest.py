from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from .powens_api import PowensApi


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


# The sandbox as Powens over live_server, as host projects get it (powens_django.testing).
from powens_django.testing import powens_sandbox  # noqa: E402,F401
