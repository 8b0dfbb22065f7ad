"""Users: a Django user's Powens identity, created on first use and erased on demand."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from .. import signals, sync
from ..client import NotFoundError, PowensClient, PowensError
from ..conf import get_client, powens_settings
from ..models import PowensUser
from .errors import AccountCreationPending, NoPowensAccount, from_powens, powens_failures
from .outcomes import DELETED, Outcome

logger = logging.getLogger("powens_django.services")

#: A Django user (settings.AUTH_USER_MODEL); typed loosely for custom user models.
AnyUser = Any


def _init_claim_seconds() -> float:
    """How long a claim to create a user's Powens account holds: longer than the
    slowest ``/auth/init`` can take (POSTs are not retried), so a slow call is never
    duplicated by a request that thinks the claim was abandoned."""
    connect, read = powens_settings.TIMEOUT
    return float(connect) + float(read) + 30.0


def ensure_powens_user(user: AnyUser, *, request: HttpRequest | None = None) -> PowensUser:
    """The user's :class:`PowensUser`, creating the Powens user on first use.

    Goes through the host's adapter
    (:meth:`~powens_django.adapter.DefaultPowensAdapter.get_or_create_powens_user`),
    whose default is :func:`get_or_create_powens_user`.
    """
    from ..adapter import get_adapter

    return get_adapter(request).get_or_create_powens_user(user)


def get_or_create_powens_user(user: AnyUser, *, wait: float = 15.0) -> PowensUser:
    """The user's :class:`PowensUser`, calling ``POST /auth/init`` on first use.

    ``/auth/init`` is called at most once per Django user, even when two requests
    arrive together: one claims the creation with an atomic UPDATE, the other waits up
    to ``wait`` seconds for its result (then :class:`AccountCreationPending`). No
    database lock is held during the HTTP call (the sandbox may be served by this very
    process and database). Sends ``powens_user_created`` after commit.
    """
    powens_user, _ = PowensUser.objects.get_or_create(user=user)
    if powens_user.is_linked:
        return powens_user
    now = timezone.now()
    stale = now - dt.timedelta(seconds=_init_claim_seconds())
    claimed = (
        PowensUser.objects.filter(pk=powens_user.pk, powens_id__isnull=True)
        .filter(Q(init_claimed_at__isnull=True) | Q(init_claimed_at__lt=stale))
        .update(init_claimed_at=now)
    )
    if not claimed:
        return _wait_for_powens_user(powens_user, wait)
    try:
        with powens_failures():
            created = get_client().init_user()
    except BaseException:
        PowensUser.objects.filter(pk=powens_user.pk).update(init_claimed_at=None)
        raise
    powens_user.powens_id = int(created["id_user"])
    powens_user.token = str(created["auth_token"])
    powens_user.init_claimed_at = None
    powens_user.save(update_fields=["powens_id", "token", "init_claimed_at", "updated_at"])
    logger.info("Created Powens user %s for user pk=%s", powens_user.powens_id, user.pk)
    transaction.on_commit(
        lambda: signals.powens_user_created.send(PowensUser, powens_user=powens_user)
    )
    return powens_user


def _wait_for_powens_user(powens_user: PowensUser, wait: float) -> PowensUser:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.1)
        powens_user.refresh_from_db()
        if powens_user.is_linked:
            return powens_user
        if powens_user.init_claimed_at is None:
            # The other request failed and released its claim: try ourselves.
            return get_or_create_powens_user(
                powens_user.user, wait=max(0.0, deadline - time.monotonic())
            )
    raise AccountCreationPending("Another request is still creating this user's Powens account")


def linked_powens_user(user: AnyUser) -> PowensUser | None:
    """The user's PowensUser when it has a Powens account, else None (reads only:
    refreshing a user who never linked a bank must not create a Powens user)."""
    powens_user = PowensUser.objects.filter(user=user).first()
    return powens_user if powens_user is not None and powens_user.is_linked else None


def client_for(powens_user: PowensUser) -> PowensClient:
    """A client carrying ``powens_user``'s token (:class:`NoPowensAccount` without one)."""
    if not powens_user.is_linked:
        raise NoPowensAccount("This user has no Powens account yet")
    return get_client(powens_user.token)


def delete_powens_user(user: AnyUser) -> Outcome:
    """Erase the user's data at Powens (``DELETE /users/me``), then locally.

    Returns a ``DELETED`` outcome naming the connections erased (none, and nothing
    asked, when the user never had a Powens account). A Powens failure other than
    "already gone" keeps every local row and raises. Sends ``powens_user_deleted``
    and ``connection_deleted`` after commit.
    """
    powens_user = PowensUser.objects.filter(user=user).first()
    if powens_user is None:
        return Outcome(kind=DELETED)
    if powens_user.is_linked:
        try:
            client_for(powens_user).delete_user()
        except NotFoundError:
            logger.info("Powens user %s was already deleted", powens_user.powens_id)
        except PowensError as error:
            raise from_powens(error) from None
    ids = sync.forget_powens_user(powens_user)
    return Outcome(kind=DELETED, connection_ids=tuple(ids))


def forget_powens_user(powens_id: int) -> Outcome:
    """Erase locally what is mirrored of a Powens user Powens already deleted (its
    ``USER_DELETED`` webhook): no call to Powens. The Django user stays.

    Returns a ``DELETED`` outcome naming the connections erased (none when the id is
    unknown here).
    """
    powens_user = PowensUser.objects.filter(powens_id=powens_id).first()
    if powens_user is None:
        return Outcome(kind=DELETED)
    return Outcome(kind=DELETED, connection_ids=tuple(sync.forget_powens_user(powens_user)))
