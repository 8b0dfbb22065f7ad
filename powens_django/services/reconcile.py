"""Nothing left at Powens without a local way to reach it.

A create whose outcome is unknown (a timeout after the request left, a 5xx, a garbled
answer) may still have made a connection at Powens. Instead of telling the person to
try again, and so making a second one, the service lists the user's connections at
Powens and adopts those the mirror lacks (what
:func:`~.connections.fetch_connections`, My banks' Refresh, does for a whole user). A per-user guard
(:func:`link_guard`) refuses a second create while one is running (a double submit, a
second tab), for the same reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

from ..client import time_budget
from ..conf import powens_settings
from ..models import Connection, PowensUser
from .connections import refresh_powens_user
from .errors import LinkInProgress, ServiceError

logger = logging.getLogger("powens_django.services")


def _claim_seconds() -> float:
    # Longer than the slowest create can take (POSTs are not retried), so a slow one
    # is never doubled by a request that believes the claim was abandoned.
    connect, read = powens_settings.TIMEOUT
    return float(connect) + float(read) + 30.0


#: Seconds the recovery after a lost answer may take, outside the request's own budget
#: (which the lost answer has usually spent): one listing of the user's connections.
RECOVERY_SECONDS = 15.0


class LinkClaim:
    """The user's link claim, held while a connection is being created (see
    :func:`link_guard`): ``known`` is what the mirror held before the create."""

    def __init__(self, powens_user: PowensUser, claimed_at: dt.datetime) -> None:
        self.powens_user = powens_user
        self.claimed_at = claimed_at
        self.keep = False
        self.known: set[int] = set(
            Connection.objects.filter(powens_user=powens_user).values_list("powens_id", flat=True)
        )

    def keep_until_settled(self) -> None:
        """Keep the claim when the request ends (it expires on its own): Powens may
        still be making the connection, and a second attempt would make another."""
        self.keep = True


@contextmanager
def link_guard(powens_user: PowensUser) -> Iterator[LinkClaim]:
    """Hold the user's link claim while a connection is being created.

    Raises :class:`LinkInProgress` when another request holds it. The claim is an
    atomic UPDATE (no lock is held across the HTTP call) and expires on its own after
    the longest a create can take, so a crashed worker blocks nobody for long. It is
    released at the end unless :meth:`LinkClaim.keep_until_settled` was called.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=_claim_seconds())
    claimed = (
        PowensUser.objects.filter(pk=powens_user.pk)
        .exclude(link_claimed_at__gte=stale)
        .update(link_claimed_at=now)
    )
    if not claimed:
        raise LinkInProgress(f"User pk={powens_user.user_id} is already linking a bank")
    claim = LinkClaim(powens_user, now)
    try:
        yield claim
    finally:
        if not claim.keep:
            PowensUser.objects.filter(pk=powens_user.pk, link_claimed_at=now).update(
                link_claimed_at=None
            )


def known_connections(powens_user: PowensUser) -> set[int]:
    """The Powens ids the mirror holds for ``powens_user`` now."""
    return set(
        Connection.objects.filter(powens_user=powens_user).values_list("powens_id", flat=True)
    )


def adopt_after_uncertain_create(
    powens_user: PowensUser, *, known: set[int], connector_uuid: str, cause: ServiceError
) -> Connection | None:
    """After a create whose outcome is unknown, list the user's connections at Powens
    and adopt the ones the mirror lacks; return the newest connection to
    ``connector_uuid`` that was not in ``known`` (the mirror before the create: a
    webhook or another tab may have mirrored it meanwhile), or None.

    The listing gets its own :data:`RECOVERY_SECONDS`, outside the request's budget.
    Its failure is logged and gives None: the caller reports the original failure
    (``cause``), and My banks' Refresh can adopt it later.
    """
    try:
        with time_budget(RECOVERY_SECONDS, replace=True):
            refresh_powens_user(powens_user)
    except ServiceError as error:
        logger.warning(
            "Could not reconcile user pk=%s after %s: %s",
            powens_user.user_id,
            cause.code,
            error.code,
        )
        return None
    adopted = (
        Connection.objects.filter(powens_user=powens_user, connector_id=connector_uuid)
        .exclude(powens_id__in=known)
        .select_related("connector", "powens_user")
        .order_by("-created", "-powens_id")
        .first()
    )
    logger.info(
        "Reconciled user pk=%s after %s: %s",
        powens_user.user_id,
        cause.code,
        f"adopted connection {adopted.powens_id}" if adopted else "nothing to adopt",
    )
    return adopted
