"""Operations over many connections or users, for the admin, commands and tasks.

Each item is done on its own: one failure is recorded in its :class:`BatchItem` and
never stops the others. Nothing here is for a person's own request, so syncs say
``psu_requested=false`` (Powens' fair-use rule).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import requests
from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from requests.adapters import HTTPAdapter

from .. import sync
from ..conf import get_client, powens_settings
from ..fields import DecryptionError
from ..models import Connection, PowensUser
from .connections import (
    CONNECTION_EXPAND,
    delete_connection,
    refresh_connection,
    sync_connection,
)
from .errors import PowensRateLimited, ServiceError, TokenUnreadable, powens_failures
from .outcomes import BatchItem, BatchResult
from .users import client_for

logger = logging.getLogger("powens_django.services")


def _each(
    objects: Iterable[Any],
    key: Callable[[Any], Any],
    run: Callable[[Any], Any],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    items = list(objects)
    result = BatchResult()
    for done, obj in enumerate(items, 1):
        try:
            value = run(obj)
        except (DecryptionError, TokenUnreadable) as error:
            # A token no key can decrypt (a key dropped before rotation): that user's
            # failure, not the batch's, but the site's team must hear of it.
            failure = error if isinstance(error, TokenUnreadable) else TokenUnreadable(str(error))
            logger.error("Batch item %s failed: %s", key(obj), failure.detail)
            result.items.append(BatchItem(key(obj), error=failure))
        except ServiceError as error:
            logger.info("Batch item %s failed: %s", key(obj), error.detail)
            result.items.append(BatchItem(key(obj), error=error))
        else:
            if hasattr(value, "kind"):
                result.items.append(BatchItem(key(obj), outcome=value))
            else:
                result.items.append(BatchItem(key(obj), result=value))
        if progress is not None:
            progress(done, len(items))
    return result


def _connections(connections: Iterable[Connection]) -> Iterable[Connection]:
    if isinstance(connections, QuerySet):
        return connections.select_related("connector", "powens_user__user")
    return connections


def refresh_connections(connections: Iterable[Connection]) -> BatchResult:
    """Refresh each connection from Powens (GETs only); keyed by Powens id."""
    return _each(_connections(connections), lambda c: c.powens_id, refresh_connection)


def sync_connections(connections: Iterable[Connection]) -> BatchResult:
    """Ask Powens to sync each connection now, with ``psu_requested=false`` (nobody
    asked in person); keyed by Powens id."""
    return _each(
        _connections(connections),
        lambda c: c.powens_id,
        lambda c: sync_connection(c, psu_requested=False),
    )


def delete_connections(connections: Iterable[Connection]) -> BatchResult:
    """Delete each connection at Powens, then locally; keyed by Powens id."""
    return _each(_connections(connections), lambda c: c.powens_id, delete_connection)


def powens_users_to_refresh(
    *, user_id: int | None = None, stale_hours: float | None = None
) -> QuerySet[PowensUser]:
    """Users with a Powens account, optionally only one (``user_id``, a Django user
    pk) or only those with a connection not refreshed for ``stale_hours`` (or never)."""
    # Tokens are loaded per user when used, so that one no key can decrypt is that
    # user's failure, not the whole query's.
    users = PowensUser.objects.filter(powens_id__isnull=False).defer("token").select_related("user")
    if user_id is not None:
        users = users.filter(user_id=user_id)
    if stale_hours is not None:
        cutoff = timezone.now() - dt.timedelta(hours=stale_hours)
        users = users.annotate(oldest=Min("connections__synced_at")).filter(
            Q(oldest__lt=cutoff) | Q(oldest__isnull=True)
        )
    return users.order_by("pk")


def refresh_powens_users(
    powens_users: Iterable[PowensUser],
    *,
    progress: Callable[[int, int], None] | None = None,
    concurrency: int | None = None,
) -> BatchResult:
    """Refresh every connection of each user with one GET per user (GETs only);
    keyed by Django user pk, each ``result`` a :class:`~powens_django.sync.SyncResult`.

    Up to ``concurrency`` calls are in flight at once (``POWENS["SYNC_CONCURRENCY"]``
    by default): worker threads only wait on Powens, while this thread reads the users
    (a queryset is streamed, never loaded whole) and writes the mirror. When Powens
    answers 429, fewer calls are kept in flight (halved, then grown back by one per
    round of successes), nothing is sent before its ``Retry-After``, and the user is
    tried again: a rate limit slows the sweep down, it does not fail users (a user
    still refused after :data:`RATE_LIMIT_ATTEMPTS` tries is reported failed).
    """
    limit = int(concurrency or powens_settings.SYNC_CONCURRENCY)
    return _Sweep(limit, progress).run(powens_users)


#: How many times a user refused with 429 is tried before the sweep reports it failed.
RATE_LIMIT_ATTEMPTS = 8


def _fetch_connections(client: Any) -> Any:
    # In a worker thread: the network only (no database, no Django state).
    with powens_failures():
        return client.list_connections(expand=CONNECTION_EXPAND)


def _sweep_session(base: requests.Session, size: int) -> requests.Session:
    # As many pooled connections as calls in flight (requests keeps 10 by default and
    # would open and drop a connection per call beyond that).
    session = requests.Session()
    session.headers.update(base.headers)
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _sweep_client(powens_user: PowensUser, session: requests.Session) -> Any:
    client = client_for(powens_user)
    # A 429 comes back at once instead of one thread sleeping on it in its slot:
    # the sweep slows every thread down instead (see _Sweep._rate_limited).
    transport = copy.copy(client.transport)
    transport.max_retry_wait = 0.0
    transport.session = session
    client.transport = transport
    return client


class _Sweep:
    """Users in, a bounded number of Powens calls in flight, the mirror written here."""

    def __init__(self, limit: int, progress: Callable[[int, int], None] | None) -> None:
        self.ceiling = max(1, limit)
        self.limit = self.ceiling
        self.progress = progress
        self.result = BatchResult()
        self.total = 0
        self.paused_until = 0.0
        self.successes = 0
        self.retries: deque[tuple[float, PowensUser, int]] = deque()
        self.order: dict[int, int] = {}  # id(user) -> its rank among the users read
        self.ranked: list[tuple[int, BatchItem]] = []
        self.read = 0
        self.users_done = False

    def run(self, powens_users: Iterable[PowensUser]) -> BatchResult:
        if isinstance(powens_users, QuerySet):
            self.total = powens_users.count()
            users: Iterator[PowensUser] = powens_users.iterator(chunk_size=500)
        else:
            listed = list(powens_users)
            self.total = len(listed)
            users = iter(listed)
        pending: dict[Future[Any], tuple[PowensUser, int]] = {}
        session = _sweep_session(get_client().transport.session, self.ceiling)
        with (
            session,
            ThreadPoolExecutor(self.ceiling, thread_name_prefix="powens-sweep") as pool,
        ):
            while True:
                while len(pending) < self.limit and time.monotonic() >= self.paused_until:
                    job = self._next(users)
                    if job is None:
                        break
                    powens_user, attempt = job
                    try:
                        client = _sweep_client(powens_user, session)
                    except ServiceError as error:
                        self._record(powens_user, error=error)
                        continue
                    pending[pool.submit(_fetch_connections, client)] = (powens_user, attempt)
                if not pending:
                    if self.users_done and not self.retries:
                        break
                    time.sleep(max(0.0, min(self._wake_up() - time.monotonic(), 1.0)))
                    continue
                timeout = max(0.0, self._wake_up() - time.monotonic()) if self.retries else None
                done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    powens_user, attempt = pending.pop(future)
                    self._settle(future, powens_user, attempt)
        # In the order the users were read, whatever order Powens answered in.
        self.ranked.sort(key=lambda ranked: ranked[0])
        self.result.items = [item for _, item in self.ranked]
        return self.result

    def _next(self, users: Iterator[PowensUser]) -> tuple[PowensUser, int] | None:
        if self.retries and self.retries[0][0] <= time.monotonic():
            _, powens_user, attempt = self.retries.popleft()
            return powens_user, attempt
        if self.users_done:
            return None
        following = next(users, None)
        if following is None:
            self.users_done = True
            return None
        self.order[id(following)] = self.read
        self.read += 1
        return following, 1

    def _wake_up(self) -> float:
        due = self.retries[0][0] if self.retries else time.monotonic()
        return max(due, self.paused_until)

    def _settle(self, future: Future[Any], powens_user: PowensUser, attempt: int) -> None:
        try:
            payloads = future.result()
        except PowensRateLimited as error:
            if attempt < RATE_LIMIT_ATTEMPTS:
                self._rate_limited(powens_user, attempt, error.retry_after)
                return
            self._record(powens_user, error=error)
            return
        except ServiceError as error:
            self._record(powens_user, error=error)
            return
        try:
            synced = sync.sync_connections(powens_user, payloads, complete=True)
        except ServiceError as error:
            self._record(powens_user, error=error)
            return
        self.successes += 1
        if self.limit < self.ceiling and self.successes >= self.limit:
            self.limit += 1
            self.successes = 0
        self._record(powens_user, result=synced)

    def _rate_limited(
        self, powens_user: PowensUser, attempt: int, retry_after: float | None
    ) -> None:
        delay = retry_after if retry_after is not None else min(60.0, 0.5 * 2**attempt)
        now = time.monotonic()
        self.paused_until = max(self.paused_until, now + delay)
        self.limit = max(1, self.limit // 2)
        self.successes = 0
        logger.info(
            "Powens rate limit: %d call(s) in flight at most, next call in %.1f s",
            self.limit,
            delay,
        )
        self.retries.append((now + delay, powens_user, attempt + 1))

    def _record(
        self,
        powens_user: PowensUser,
        *,
        result: Any = None,
        error: ServiceError | None = None,
    ) -> None:
        key = powens_user.user_id
        if error is not None:
            if isinstance(error, TokenUnreadable):
                logger.error("Batch item %s failed: %s", key, error.detail)
            else:
                logger.info("Batch item %s failed: %s", key, error.detail)
            item = BatchItem(key, error=error)
        else:
            item = BatchItem(key, result=result)
        self.ranked.append((self.order.pop(id(powens_user), 0), item))
        if self.progress is not None:
            self.progress(len(self.ranked), max(self.total, len(self.ranked)))
