"""Webhooks the sandbox sends: bodies, signatures, delivery after the response, retries.

Each payload is recorded as a :class:`~.models.WebhookDelivery` whose primary key is
the body's ``id_webhook_data``. Delivery follows ``POWENS_SANDBOX["WEBHOOK_DELIVERY"]``:

- ``after_response`` (default): sent once the response of the call that triggered it
  is finished (Django's ``request_finished`` signal), as Powens does; outside a
  request (a management command) it is sent when the transaction commits;
- ``immediate``: sent when the transaction commits, before the response returns,
  which makes tests deterministic;
- ``manual``: recorded only; ``manage.py sandbox_retry_webhooks`` sends them.

A failed delivery is retried by ``sandbox_retry_webhooks`` and whenever the next
webhook is sent, up to ``WEBHOOK_MAX_ATTEMPTS`` attempts.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.core.signals import request_finished
from django.db import transaction
from django.db.models import F

from . import config
from .models import WebhookDelivery
from .wire import now

if TYPE_CHECKING:
    from .models import Connection, User

logger = logging.getLogger("powens_django.sandbox")

CONNECTION_SYNCED = "CONNECTION_SYNCED"
CONNECTION_DELETED = "CONNECTION_DELETED"
USER_DELETED = "USER_DELETED"


# -- bodies -------------------------------------------------------------------------


def connection_synced(connection: Connection) -> WebhookDelivery | None:
    """Queue ``CONNECTION_SYNCED``: the user, and the connection with its connector,
    sources and accounts, each with the transactions this sync found."""
    if not _url(CONNECTION_SYNCED):
        return None
    from . import serializers
    from .models import Transaction

    connection.refresh_from_db()
    payload = serializers.connection(connection, "connector[fields,sources],sources")
    accounts = []
    if connection.state is None:
        rows = list(connection.accounts.filter(disabled__isnull=True))
        new: dict[int, list[Transaction]] = {}
        for item in Transaction.objects.filter(
            account__connection=connection, sync_number=connection.sync_count
        ).order_by("date", "id"):
            new.setdefault(item.account_id, []).append(item)
        for row in rows:
            data = serializers.account(row, connection.user_id)
            data["transactions"] = [serializers.transaction(t, row) for t in new.get(row.pk, [])]
            data["investments"] = []
            data["market_orders"] = []
            accounts.append(data)
    payload["accounts"] = accounts
    payload["subscriptions"] = []
    body = {"user": serializers.user(connection.user), "connection": payload}
    return enqueue(CONNECTION_SYNCED, body, user=connection.user)


def connection_deleted(connection: Connection) -> WebhookDelivery | None:
    """Queue ``CONNECTION_DELETED``: the Connection object (built before the delete)."""
    if not _url(CONNECTION_DELETED):
        return None
    from . import serializers

    return enqueue(CONNECTION_DELETED, serializers.connection(connection), user=connection.user)


def user_deleted(user: User, token: str | None) -> WebhookDelivery | None:
    """Queue ``USER_DELETED``: the User object (built before the delete)."""
    if not _url(USER_DELETED):
        return None
    from . import serializers

    return enqueue(USER_DELETED, serializers.user(user), user=user, bearer=token)


def _url(event: str) -> str | None:
    urls = config.get("WEBHOOK_URLS") or {}
    url = urls.get(event)
    return str(url) if url else None


def enqueue(
    event: str, payload: dict[str, Any], *, user: User | None, bearer: str | None = None
) -> WebhookDelivery | None:
    """Record a webhook for ``event`` and schedule its delivery (see the module doc).

    Nothing is recorded when no URL is configured for ``event``.
    """
    url = _url(event)
    if not url:
        return None
    if bearer is None and user is not None:
        token = user.tokens.filter(revoked__isnull=True).order_by("-created").first()
        bearer = token.token if token else None
    delivery = WebhookDelivery.objects.create(
        event=event,
        url=url,
        body="",
        id_user=user.pk if user else None,
        bearer=bearer,
        created=now(),
    )
    delivery.body = json.dumps({"id_webhook_data": delivery.pk, **payload})
    delivery.save(update_fields=["body"])
    _schedule(delivery.pk)
    return delivery


# -- signatures ---------------------------------------------------------------------


def signature_date(moment: dt.datetime | None = None) -> str:
    """``BI-Signature-Date``: UTC ISO 8601 with microseconds and ``Z``."""
    moment = (moment or now()).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sign(secret: str, method: str, path: str, date: str, body: str) -> str:
    """``BI-Signature``: base64(HMAC-SHA256(secret, METHOD.PATH.DATE.BODY)), where PATH
    is the receiver URL's path without query and BODY the uncompressed JSON body."""
    message = f"{method.upper()}.{path}.{date}.{body}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# -- delivery -----------------------------------------------------------------------

_local = threading.local()
_inflight = threading.Condition()
_inflight_count = 0


def begin_request() -> None:
    """Mark the current thread as answering a sandbox request (see ``after_response``)."""
    _local.in_request = True
    _local.pending = []


def _schedule(pk: int) -> None:
    mode = config.get("WEBHOOK_DELIVERY")
    if mode == "manual":
        return
    if mode == "after_response" and getattr(_local, "in_request", False):
        _track(+1)
        # Appended only on commit: a rolled-back change sends nothing.
        transaction.on_commit(lambda: _local.pending.append(pk))
        _local.scheduled = getattr(_local, "scheduled", 0) + 1
        return
    transaction.on_commit(lambda: deliver_now(pk))


def _after_response(**kwargs: Any) -> None:
    if not getattr(_local, "in_request", False):
        return
    pending = list(getattr(_local, "pending", []))
    scheduled = getattr(_local, "scheduled", 0)
    _local.in_request = False
    _local.pending = []
    _local.scheduled = 0
    try:
        for pk in pending:
            deliver_now(pk)
    finally:
        _track(-scheduled)


request_finished.connect(_after_response, dispatch_uid="powens_sandbox_webhooks")


def _track(delta: int) -> None:
    global _inflight_count
    with _inflight:
        _inflight_count = max(0, _inflight_count + delta)
        _inflight.notify_all()


def wait_for_deliveries(timeout: float = 5.0) -> bool:
    """Wait until webhooks scheduled "after the response" in this process are sent.

    For tests against ``live_server``: a response can reach the test before the
    server thread has sent its webhooks. Returns False on timeout.
    """
    with _inflight:
        return _inflight.wait_for(lambda: _inflight_count == 0, timeout=timeout)


def deliver_now(pk: int) -> bool:
    """Send one recorded webhook, then retry earlier failed ones. Returns whether
    this one was acknowledged."""
    delivery = WebhookDelivery.objects.filter(pk=pk).first()
    ok = _attempt(delivery) if delivery else False
    retry_failed(exclude=pk)
    return ok


def retry_failed(*, exclude: int | None = None, limit: int = 50) -> tuple[int, int]:
    """Retry failed deliveries that have attempts left. Returns ``(sent, failed)``."""
    maximum = int(config.get("WEBHOOK_MAX_ATTEMPTS") or 10)
    query = WebhookDelivery.objects.filter(
        status__in=(WebhookDelivery.FAILED, WebhookDelivery.PENDING), attempts__lt=maximum
    ).exclude(attempts=0, status=WebhookDelivery.PENDING)
    if exclude is not None:
        query = query.exclude(pk=exclude)
    sent = failed = 0
    for delivery in query.order_by("id")[:limit]:
        if _attempt(delivery):
            sent += 1
        else:
            failed += 1
    return sent, failed


def send_pending(limit: int = 500) -> tuple[int, int]:
    """Send every recorded delivery that is not delivered and has attempts left
    (``manual`` mode, or a retry on demand). Returns ``(sent, failed)``."""
    maximum = int(config.get("WEBHOOK_MAX_ATTEMPTS") or 10)
    sent = failed = 0
    query = WebhookDelivery.objects.exclude(status=WebhookDelivery.DELIVERED).filter(
        attempts__lt=maximum
    )
    for delivery in query.order_by("id")[:limit]:
        if _attempt(delivery):
            sent += 1
        else:
            failed += 1
    return sent, failed


def _attempt(delivery: WebhookDelivery) -> bool:
    body = delivery.body
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "powens-django-sandbox"}
    if config.get("WEBHOOK_AUTH") == "bearer":
        if delivery.bearer:
            headers["Authorization"] = f"Bearer {delivery.bearer}"
    else:
        secret = config.get("WEBHOOK_SECRET")
        if secret:
            date = signature_date()
            path = urlsplit(delivery.url).path or "/"
            headers["BI-Signature-Date"] = date
            headers["BI-Signature"] = sign(str(secret), "POST", path, date, body)
    if config.get("WEBHOOK_GZIP"):
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    status: int | None = None
    error = ""
    try:
        response = requests.post(
            delivery.url,
            data=data,
            headers=headers,
            timeout=float(config.get("WEBHOOK_TIMEOUT") or 5),
            allow_redirects=False,
        )
        status = response.status_code
        ok = 200 <= status < 300
        if not ok:
            error = f"HTTP {status}: {response.text[:200]}"
    except requests.RequestException as exc:
        ok = False
        error = f"{type(exc).__name__}: {exc}"[:500]
    moment = now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        last_attempt=moment,
        response_status=status,
        error=error,
        status=WebhookDelivery.DELIVERED if ok else WebhookDelivery.FAILED,
        delivered=moment if ok else None,
    )
    if not ok:
        logger.info("Sandbox webhook %s #%s failed: %s", delivery.event, delivery.pk, error)
    return ok
