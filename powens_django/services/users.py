"""Users: a Django user's Powens identity, created on first use, erased on demand, and
deleted at Powens when the Django user is deleted (queued and retried until it is)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import signals, sync
from ..client import AuthenticationError, NotFoundError, PowensClient, PowensError
from ..conf import get_client, powens_settings
from ..fields import DecryptionError, decrypt
from ..models import Connection, PendingPowensUserDeletion, PowensUser
from .errors import (
    AccountCreationPending,
    NoPowensAccount,
    PowensUnavailable,
    ServiceError,
    TokenUnreadable,
    from_powens,
    powens_failures,
)
from .outcomes import DELETED, BatchItem, BatchResult, Outcome

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


@sensitive_variables("created")
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
        _store_identity(powens_user, created)
    except BaseException as error:
        PowensUser.objects.filter(pk=powens_user.pk).update(init_claimed_at=None)
        if isinstance(error, PowensUnavailable):
            # Powens' answer was lost: it may hold a user this site never learnt the
            # token of, and no API lists a client's users. Say so where the site's team
            # looks (error mails), with Powens' request id, to delete it in the console.
            logger.error(
                "POST /auth/init for user pk=%s got no usable answer (%s): Powens may "
                "hold a user this site could not record; check the Powens console",
                user.pk,
                error.detail,
            )
        raise
    logger.info("Created Powens user %s for user pk=%s", powens_user.powens_id, user.pk)
    transaction.on_commit(
        lambda: signals.powens_user_created.send(PowensUser, powens_user=powens_user)
    )
    return powens_user


@sensitive_variables()
def _store_identity(powens_user: PowensUser, created: Mapping[str, Any]) -> None:
    """Save the identity ``/auth/init`` gave. Every local here, and in the ORM frames
    below (they hold the token in clear), is hidden from error reports; the savepoint
    keeps the caller's transaction usable to release the claim if saving fails."""
    powens_user.powens_id = int(created["id_user"])
    powens_user.token = str(created["auth_token"])
    powens_user.init_claimed_at = None
    with transaction.atomic():
        powens_user.save(update_fields=["powens_id", "token", "init_claimed_at", "updated_at"])


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
    """A client carrying ``powens_user``'s token (:class:`NoPowensAccount` without one,
    :class:`TokenUnreadable` when no configured key decrypts it)."""
    if not powens_user.is_linked:
        raise NoPowensAccount("This user has no Powens account yet")
    try:
        token = powens_user.token
    except DecryptionError:
        raise TokenUnreadable(
            "A stored Powens token cannot be decrypted with any configured key "
            "(run manage.py powens_check_keys)"
        ) from None
    return get_client(token)


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
        # Perhaps the Django user was deleted and its deletion at Powens is pending:
        # Powens says it is done (the answer to our DELETE may have been lost).
        pending = PendingPowensUserDeletion.objects.filter(powens_id=powens_id).first()
        if pending is None:
            return Outcome(kind=DELETED)
        with transaction.atomic():
            PendingPowensUserDeletion.objects.filter(pk=pending.pk).delete()
            transaction.on_commit(lambda: _send_user_deleted([pending]))
        return Outcome(kind=DELETED, connection_ids=tuple(pending.connection_ids))
    return Outcome(kind=DELETED, connection_ids=tuple(sync.forget_powens_user(powens_user)))


# -- deletion at Powens of the Powens users of deleted Django users ----------------------
#
# A Django user's deletion cascades to its PowensUser row (and the token with it), so
# the Powens user must be deleted at Powens too, or it could never be reached again.
# ``queue_powens_user_deletion`` runs inside the deletion's transaction (a pre_delete
# receiver, see powens_django.receivers): it copies the Powens id and the token's
# ciphertext into a PendingPowensUserDeletion, which has no foreign key to the user
# model and survives the cascade. Once the deletion commits, a task calls
# ``retry_powens_user_deletions`` for that row: ``DELETE /users/me``, then the row goes.
# A rolled-back deletion rolls the row back and never enqueues the task. A failure is
# recorded on the row and tried again later, with backoff, by the same service (the
# ``powens_delete_users`` command, the ``retry_powens_user_deletions`` task).

#: The wait before the n-th retry is ``RETRY_BASE_SECONDS * 2**(n-1)``, at most
#: ``RETRY_MAX_SECONDS`` (a longer Retry-After from Powens wins).
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 6 * 3600.0
#: Rows claimed and tried per batch (each batch is a fixed number of queries).
RETRY_BATCH_SIZE = 100


def queue_powens_user_deletion(user: AnyUser) -> PendingPowensUserDeletion | None:
    """Keep what deleting ``user``'s Powens user at Powens needs, in a row that
    outlives ``user``, and return it (None when the user has no Powens account).

    Called inside the Django user's deletion (``pre_delete``), so the row commits or
    rolls back with it. It holds the Powens id, the token as stored (its ciphertext is
    copied, never decrypted here: an unreadable token does not stop the deletion), the
    deleted user's pk and its mirrored connection ids. No call to Powens: that is
    :func:`retry_powens_user_deletions`, once the deletion has committed.
    """
    row = (
        PowensUser.objects.filter(user=user, powens_id__isnull=False, token__isnull=False)
        .annotate(ciphertext=Cast("token", output_field=TextField()))
        .values_list("powens_id", "ciphertext")
        .first()
    )
    if row is None:
        return None
    powens_id, ciphertext = row
    if powens_id is None:  # excluded by the filter; narrows the type
        return None
    connection_ids = list(
        Connection.objects.filter(powens_user__user=user)
        .order_by("powens_id")
        .values_list("powens_id", flat=True)
    )
    pending, _ = PendingPowensUserDeletion.objects.update_or_create(
        powens_id=powens_id,
        defaults={
            # An expression is written as is: the ciphertext is not encrypted again.
            "token": Value(ciphertext, output_field=TextField()),
            "user_pk": str(user.pk),
            "connection_ids": connection_ids,
            "attempts": 0,
            "last_error": "",
            "last_powens_code": "",
            "last_status": None,
            "last_attempt_at": None,
            "next_attempt_at": timezone.now(),
        },
    )
    logger.info("Queued the deletion at Powens of Powens user %s (user pk=%s)", powens_id, user.pk)
    return pending


def pending_powens_user_deletions(*, failing: bool = False) -> QuerySet[PendingPowensUserDeletion]:
    """The Powens users still to delete at Powens (``failing``: only those whose last
    attempt failed), soonest retry first. The token is not loaded (a row whose token
    no key decrypts can still be listed)."""
    queryset = PendingPowensUserDeletion.objects.defer("token").order_by("next_attempt_at", "pk")
    return queryset.exclude(last_error="") if failing else queryset


def retry_powens_user_deletions(
    powens_ids: Iterable[int] | None = None,
    *,
    due_only: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Delete at Powens (``DELETE /users/me``) the pending Powens users of deleted
    Django users: every one due for a try (every one with ``due_only=False``), or
    only those of ``powens_ids``, soonest first.

    Returns a :class:`BatchResult` keyed by Powens id: a ``DELETED`` outcome (with the
    connection ids) when Powens confirmed, else the :class:`ServiceError` that stopped
    it; one failure never stops the others. Powens' 404 (the user is gone) and its
    401/403 (Powens no longer knows the token, which this app never revokes: the user
    is gone) count as done. A done row is deleted and ``powens_user_deleted`` is sent
    after commit; a failed one records the attempt, the error's code (never its text)
    and the next try, with exponential backoff. Rows are claimed in short transactions
    before any call, so two workers do not try the same row at once and no lock is held
    while Powens answers. Queries: one, plus a fixed number per batch of
    ``RETRY_BATCH_SIZE`` rows, whatever its size; one Powens call per row.
    """
    queryset = PendingPowensUserDeletion.objects.order_by("next_attempt_at", "pk")
    if powens_ids is not None:
        queryset = queryset.filter(powens_id__in=list(powens_ids))
    if due_only:
        queryset = queryset.filter(next_attempt_at__lte=timezone.now())
    pks = list(queryset.values_list("pk", flat=True))
    result = BatchResult()
    for start in range(0, len(pks), RETRY_BATCH_SIZE):
        _retry_batch(pks[start : start + RETRY_BATCH_SIZE], due_only, result, progress, len(pks))
    return result


def _retry_batch(
    pks: list[int],
    due_only: bool,
    result: BatchResult,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    now = timezone.now()
    queryset = PendingPowensUserDeletion.objects.filter(pk__in=pks).order_by(
        "next_attempt_at", "pk"
    )
    if due_only:  # again: another worker may have claimed some meanwhile
        queryset = queryset.filter(next_attempt_at__lte=now)
    # The token is read as ciphertext: one that no key decrypts is that row's failure,
    # not the batch's.
    queryset = queryset.annotate(ciphertext=Cast("token", output_field=TextField())).defer("token")
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True))
        if rows:
            claim = dt.timedelta(seconds=_init_claim_seconds() * len(rows))
            PendingPowensUserDeletion.objects.filter(pk__in=[r.pk for r in rows]).update(
                next_attempt_at=now + claim
            )
    done: list[PendingPowensUserDeletion] = []
    failed: list[PendingPowensUserDeletion] = []
    for pending in rows:
        error = _delete_at_powens(pending)
        pending.attempts += 1
        pending.last_attempt_at = timezone.now()
        if error is None:
            done.append(pending)
            outcome = Outcome(kind=DELETED, connection_ids=tuple(pending.connection_ids))
            result.items.append(BatchItem(pending.powens_id, outcome=outcome))
        else:
            _record_failure(pending, error)
            failed.append(pending)
            result.items.append(BatchItem(pending.powens_id, error=error))
        if progress is not None:
            progress(len(result), total)
    if not (done or failed):
        return
    with transaction.atomic():
        if done:
            PendingPowensUserDeletion.objects.filter(pk__in=[p.pk for p in done]).delete()
            transaction.on_commit(lambda: _send_user_deleted(done))
        if failed:
            PendingPowensUserDeletion.objects.bulk_update(
                failed,
                [
                    "attempts",
                    "last_error",
                    "last_powens_code",
                    "last_status",
                    "last_attempt_at",
                    "next_attempt_at",
                ],
            )


@sensitive_variables("token")
def _delete_at_powens(pending: PendingPowensUserDeletion) -> ServiceError | None:
    """``DELETE /users/me`` with the pending row's token: None when the Powens user is
    gone, else the service error saying why not."""
    try:
        token = decrypt(getattr(pending, "ciphertext"))  # noqa: B009 (an annotation)
    except DecryptionError as error:
        logger.error("Powens user %s: %s", pending.powens_id, error)
        return TokenUnreadable(str(error))
    try:
        get_client(token).delete_user()
    except NotFoundError:
        logger.info("Powens user %s was already deleted", pending.powens_id)
    except AuthenticationError as error:
        logger.info(
            "Powens no longer knows the token of Powens user %s (HTTP %s): deleted",
            pending.powens_id,
            error.status,
        )
    except PowensError as error:
        failure = from_powens(error)
        logger.warning(
            "Deleting Powens user %s at Powens failed (attempt %s): %s",
            pending.powens_id,
            pending.attempts + 1,
            failure.code,
        )
        return failure
    else:
        logger.info("Deleted Powens user %s at Powens", pending.powens_id)
    return None


def _record_failure(pending: PendingPowensUserDeletion, error: ServiceError) -> None:
    powens_error = error.powens_error
    pending.last_error = error.code
    pending.last_powens_code = str(powens_error.code or "")[:64] if powens_error else ""
    pending.last_status = powens_error.status if powens_error else None
    delay = min(RETRY_BASE_SECONDS * 2 ** (pending.attempts - 1), RETRY_MAX_SECONDS)
    if error.retry_after:
        delay = max(delay, float(error.retry_after))
    pending.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)


def _send_user_deleted(rows: list[PendingPowensUserDeletion]) -> None:
    user_pk_field = get_user_model()._meta.pk
    assert user_pk_field is not None
    for pending in rows:
        signals.powens_user_deleted.send(
            PowensUser,
            user_id=user_pk_field.to_python(pending.user_pk) if pending.user_pk else None,
            powens_id=pending.powens_id,
            connection_ids=list(pending.connection_ids),
        )
