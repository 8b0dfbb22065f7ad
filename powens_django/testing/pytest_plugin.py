"""The pytest plugin: the sandbox as Powens over pytest-django's ``live_server``.

Load it from the project's root ``conftest.py``::

    pytest_plugins = ["powens_django.testing.pytest_plugin"]

This is the only module of ``powens_django.testing`` that imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import live_requests, use_sandbox


@pytest.fixture
def powens_sandbox(live_server: Any, settings: Any) -> Iterator[Any]:
    """The sandbox over ``live_server`` as Powens, its catalogue loaded and mirrored.

    Yields the live server (``.url``). Scenarios are chosen by the login typed
    (``otp``, ``wrongpass``, ``decoupled``, ``sca``...): see docs/sandbox.md. After the
    test it waits for the live server's running requests, so none reaches the
    database once the test's access to it has ended.
    """
    live_requests.start()
    use_sandbox(settings, live_server.url)
    yield live_server
    if not live_requests.wait():
        pytest.fail("live-server requests still running 10 s after the test", pytrace=False)
