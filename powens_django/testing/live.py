"""Which live-server requests are still running, so a test can wait for them to end.

A test that calls ``live_server`` receives the whole response before the server thread
has finished with the request: Django then sends ``request_finished``, whose handlers
(``close_old_connections``, the sandbox's after-response webhooks) use the database.
If the test ends in between, that work runs after the test's database access was
taken away (pytest-django prints "Database access not allowed" tracebacks) or after its
data was flushed. Waiting for the running requests before the test's teardown closes
that window.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.signals import request_finished, request_started


class LiveRequests:
    """The requests being answered in threads other than the main one (a live server's).

    :meth:`start` connects it to ``request_started`` and ``request_finished``; a thread
    counts from the first until the last handler of the second has run, or until it
    ends (a handler that raised).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._threads: set[threading.Thread] = set()
        self._uid = f"powens_django.testing.live.{id(self)}"

    def start(self) -> None:
        """Start tracking (idempotent)."""
        request_started.connect(self._started, dispatch_uid=self._uid + ".started")
        # Connected last, so it runs after every handler connected before it.
        request_finished.connect(self._finished, dispatch_uid=self._uid + ".finished")

    def _started(self, **kwargs: Any) -> None:
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return  # the test client answers in the test's own thread
        with self._lock:
            self._threads.add(thread)

    def _finished(self, **kwargs: Any) -> None:
        with self._lock:
            self._threads.discard(threading.current_thread())
            self._lock.notify_all()

    def running(self) -> int:
        """How many requests are being answered now."""
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            return len(self._threads)

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being answered; False if some still are after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._lock:
                # Woken by a finished request; polled for threads that died instead.
                self._lock.wait(min(remaining, 0.05))
        return True


#: The tracker the pytest plugin and :class:`~powens_django.testing.SandboxLiveServerMixin`
#: use.
live_requests = LiveRequests()
