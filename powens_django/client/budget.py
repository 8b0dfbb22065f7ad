"""A time budget shared by every Powens call made inside one block (a web request).

A web request must never wait minutes on a bank: retries, backoffs and long read
timeouts add up. Inside :func:`time_budget`, each attempt's read timeout is cut to the
time left, a retry that would not fit is not made, and a call that starts with nothing
left fails at once with :class:`~.errors.PowensTimeoutError`, without being sent. Outside
a budget (commands, workers) nothing changes. Budgets nest: the inner one never
extends the outer one.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "powens_deadline", default=None
)


@contextmanager
def time_budget(seconds: float | None, *, replace: bool = False) -> Iterator[None]:
    """Give every Powens call made inside the block ``seconds`` in all (None: no
    budget). With ``replace`` the block gets its own ``seconds`` whatever is left of an
    outer budget: for a short recovery after a lost answer, which has spent it."""
    if seconds is None:
        yield
        return
    deadline = time.monotonic() + float(seconds)
    outer = None if replace else _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current budget (never negative), or None without one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())
