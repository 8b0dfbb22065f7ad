"""Faults on demand: a share of API answers made 503, 429, slow or malformed.

Configured with ``POWENS_SANDBOX["FAULTS"]`` (or ``$POWENS_SANDBOX_FAULTS`` when the
key is absent), e.g. ``"503:0.1,429:0.05,slow:0.1,malformed:0.05"``. A share of 1
always fires; ``FAULTS_SEED`` makes the draws reproducible. Faults strike before the
view runs, so a spoiled call changes nothing on the sandbox side.
"""

from __future__ import annotations

import random
import threading
import time

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

from . import config
from .wire import ApiError

_lock = threading.Lock()
# Fault draws need reproducibility (FAULTS_SEED), not unpredictability.
_rng = random.Random()  # noqa: S311
_seed: object = None

#: The body of a "malformed" answer: JSON cut short, as a broken proxy would send.
MALFORMED_BODY = b'{"connections": [{"id": 1, "state": '


def _draw() -> float:
    global _rng, _seed
    seed = config.get("FAULTS_SEED")
    with _lock:
        if seed != _seed:
            _seed = seed
            _rng = random.Random(seed)  # noqa: S311
        return _rng.random()


def reset() -> None:
    """Restart the draws from ``FAULTS_SEED`` (for tests)."""
    global _seed
    with _lock:
        _seed = object()


def maybe_fault() -> HttpResponse | None:
    """Sleep, raise a 503/429 :class:`~.wire.ApiError`, or answer malformed JSON, as
    the configured shares say; None to answer normally."""
    try:
        faults = config.parse_faults(config.get("FAULTS"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"POWENS_SANDBOX['FAULTS']: {exc}") from None
    if not faults.any:
        return None
    if faults.slow and _draw() < faults.slow:
        time.sleep(float(config.get("FAULT_SLOW_SECONDS") or 0))
    draw = _draw()
    if draw < faults.unavailable:
        raise ApiError(
            503,
            "bug",
            "The sandbox is unavailable (fault injected by POWENS_SANDBOX['FAULTS'])",
            headers={"X-Sandbox-Fault": "503"},
        )
    draw -= faults.unavailable
    if draw < faults.rate_limited:
        retry_after = str(config.get("FAULT_RETRY_AFTER"))
        raise ApiError(
            429,
            "rateLimiting",
            "Too many requests (fault injected by POWENS_SANDBOX['FAULTS'])",
            headers={"Retry-After": retry_after, "X-Sandbox-Fault": "429"},
        )
    draw -= faults.rate_limited
    if draw < faults.malformed:
        response = HttpResponse(MALFORMED_BODY, content_type="application/json")
        response["X-Sandbox-Fault"] = "malformed"
        return response
    return None
