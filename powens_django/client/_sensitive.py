"""``sensitive``: Django's ``sensitive_variables`` for the client, which needs no Django.

A function decorated ``@sensitive()`` has every local hidden in Django's error reports
(error mails, ``SafeExceptionReporterFilter``, Sentry's Django integration), and so has
every frame it calls down to the next decorated one: the transport's ``json_body`` and
the ``requests`` frames below a call that sends credentials. Without Django installed
it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def sensitive(*names: str) -> Callable[[F], F]:
    """Hide ``names`` (every local when none is given) from Django's error reports."""
    try:
        from django.views.decorators.debug import sensitive_variables
    except ImportError:  # pragma: no cover - the client used without Django
        return lambda func: func
    return cast(Callable[[F], F], sensitive_variables(*names))
