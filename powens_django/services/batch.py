"""Operations over many connections or users, for the admin, commands and tasks.

Each item is done on its own: one failure is recorded in its :class:`BatchItem` and
never stops the others. Nothing here is for a person's own request, so syncs say
``psu_requested=false`` (Powens' fair-use rule).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from ..fields import DecryptionError
from ..models import Connection, PowensUser
from .connections import delete_connection, refresh_connection, refresh_powens_user, sync_connection
from .errors import ServiceError, TokenUnreadable
from .outcomes import BatchItem, BatchResult

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
) -> BatchResult:
    """Refresh every connection of each user with one GET per user (GETs only);
    keyed by Django user pk, each ``result`` a :class:`~powens_django.sync.SyncResult`."""
    return _each(powens_users, lambda u: u.user_id, refresh_powens_user, progress=progress)
