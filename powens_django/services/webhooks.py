"""Webhooks from Powens: read, authenticate, record, and process each delivery once.

The receiver (:mod:`powens_django.webhooks`) is a thin door over :func:`receive`:

1. the body is read with a size limit checked while reading, and un-gzipped with the
   same limit (a gzip bomb or an endless body is cut off, a truncated one refused);
2. the delivery is authenticated: an HMAC signature (``BI-Signature``, with a date
   tolerance against replays and several secrets for rotation) and/or the bearer
   token of the Powens user the body names, compared in constant time with the
   stored one (``POWENS["WEBHOOK_AUTH"]``);
3. it is recorded as a :class:`~powens_django.models.WebhookEvent` in its own
   statement, outside the processing transaction, so a failure is kept. A refused
   delivery is recorded too (``valid=False``, secret headers redacted, body cut);
4. a valid event is processed in one transaction that first claims it (a conditional
   update that a concurrent delivery of the same ``id_webhook_data`` waits on, then
   finds done): the mirror is updated through :mod:`powens_django.sync`, then the
   ``webhook_received`` signal hands the payload to the host. An error anywhere rolls
   everything back, is written on the event, and the receiver answers 500 so Powens
   retries. With ``POWENS["WEBHOOK_PROCESSING"] = "task"`` step 4 runs in a task.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import signals, sync
from ..client.dates import parse_datetime
from ..conf import powens_settings
from ..fields import DecryptionError
from ..logsafe import printable
from ..models import Connection, PendingPowensUserDeletion, PowensUser, WebhookEvent
from .errors import ServiceError
from .outcomes import BatchItem, BatchResult

logger = logging.getLogger("powens_django.webhooks")

CONNECTION_SYNCED = "CONNECTION_SYNCED"
CONNECTION_DELETED = "CONNECTION_DELETED"
USER_DELETED = "USER_DELETED"

#: Powens' webhook types (NOTES.md). Others are accepted too, recorded and signalled.
KNOWN_EVENT_TYPES = frozenset(
    {
        "USER_CREATED",
        USER_DELETED,
        CONNECTION_SYNCED,
        CONNECTION_DELETED,
        "ACCOUNTS_FETCHED",
        "ACCOUNT_SYNCED",
        "ACCOUNT_DISABLED",
        "ACCOUNT_ENABLED",
        "ACCOUNT_FOUND",
        "ACCOUNT_CATEGORIZED",
        "ACCOUNT_OWNERSHIPS_FOUND",
        "TRANSACTION_ATTACHMENTS_FOUND",
        "SUBSCRIPTION_SYNCED",
        "SUBSCRIPTION_FOUND",
        "PAYMENT_STATE_UPDATED",
    }
)

#: Authentication methods of ``POWENS["WEBHOOK_AUTH"]``.
AUTH_METHODS = ("hmac", "bearer")

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){0,7}$")
#: Headers recorded as they came; every other header is recorded as ``"<redacted>"``
#: when its name suggests a secret, or left out.
_KEPT_HEADERS = frozenset(
    {
        "bi-signature-date",
        "content-type",
        "content-length",
        "content-encoding",
        "user-agent",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-request-id",
    }
)
_SECRET_WORDS = ("auth", "signature", "cookie", "token", "secret", "key", "session")
#: How much of a refused delivery's body is kept (enough to diagnose, not a flood).
REFUSED_BODY_KEPT = 8 * 1024
_CHUNK = 64 * 1024


def event_type_for(slug: str) -> str | None:
    """``"connection-synced"`` -> ``"CONNECTION_SYNCED"``; None for a malformed slug."""
    if not isinstance(slug, str) or len(slug) > 64 or not _SLUG.match(slug):
        return None
    return slug.replace("-", "_").upper()


def slug_for(event_type: str) -> str:
    """``"CONNECTION_SYNCED"`` -> ``"connection-synced"`` (the receiver's URL segment)."""
    return event_type.lower().replace("_", "-")


# -- refusals ---------------------------------------------------------------------------


class WebhookRefused(ServiceError):
    """A delivery that was not accepted: nothing was processed. ``code`` says why; the
    receiver answers ``http_status``. ``refusal`` is recorded on the event."""

    code = "webhook_refused"
    default_message = _("This webhook delivery was refused.")

    def __init__(self, refusal: str, detail: str = "", *, http_status: int = 400) -> None:
        super().__init__(detail or refusal)
        self.refusal = refusal
        self.http_status = http_status  # type: ignore[misc]


class WebhookFailed(ServiceError):
    """Processing a valid event failed: its changes were rolled back and the error was
    written on the event; Powens (or a reprocess) will try again."""

    code = "webhook_failed"
    default_message = _("This webhook could not be processed.")
    http_status = 500
    transient = True


# -- reading ----------------------------------------------------------------------------


def read_body(stream: IO[bytes], *, content_length: int | None, limit: int) -> bytes:
    """The body of a delivery as it came over the wire, at most ``limit`` bytes.

    Read in chunks so an endless (or lying) body is cut off as soon as it passes the
    limit. Raises :class:`WebhookRefused` (413).
    """
    if content_length is not None and content_length > limit:
        raise WebhookRefused("too_large", f"Content-Length {content_length}", http_status=413)
    chunks, size = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise WebhookRefused("too_large", f"more than {limit} bytes", http_status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_body(wire: bytes, content_encoding: str, *, limit: int) -> bytes:
    """``wire`` un-gzipped when ``Content-Encoding`` says so, with the same ``limit``
    (no gzip bomb); a truncated or corrupt gzip body is refused, and so is an encoding
    other than gzip (:class:`WebhookRefused`, 413, 400 or 415)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return wire
    if encoding not in ("gzip", "x-gzip"):
        raise WebhookRefused(
            "unsupported_encoding",
            f"Content-Encoding {printable(encoding, limit=40)}",
            http_status=415,
        )
    return _gunzip(wire, limit)


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise WebhookRefused("bad_gzip", f"corrupt gzip body: {error}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise WebhookRefused("too_large", f"more than {limit} bytes once inflated", http_status=413)
    if not inflater.eof:
        raise WebhookRefused("bad_gzip", "truncated gzip body")
    return out


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as recorded: harmless ones as they came, secret ones as ``<redacted>``."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in _KEPT_HEADERS:
            kept[name] = printable(value, limit=500)
        elif any(word in lower for word in _SECRET_WORDS):
            kept[name] = "<redacted>"
    return kept


# -- authentication ---------------------------------------------------------------------


@dataclass
class Delivery:
    """One HTTP delivery as the receiver got it."""

    event_type: str
    body: bytes
    headers: Mapping[str, str]
    path: str
    method: str = "POST"
    remote_addr: str | None = None
    #: The body as it came over the wire (gzip), when it differs from ``body``.
    wire_body: bytes | None = None

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""


def sign(secret: str, method: str, path: str, date: str, body: bytes) -> str:
    """``BI-Signature``: base64(HMAC-SHA256(secret, METHOD.PATH.DATE.BODY))."""
    message = f"{method.upper()}.{path}.{date}.".encode() + body
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed_path(delivery: Delivery) -> str:
    """The path Powens signed: ``POWENS["WEBHOOK_PATH_PREFIX"]`` + the event's segment
    when the site is behind a proxy that rewrites paths, else the request's own path."""
    prefix = powens_settings.WEBHOOK_PATH_PREFIX
    if prefix:
        return str(prefix).rstrip("/") + "/" + slug_for(delivery.event_type) + "/"
    return delivery.path


def _check_hmac(delivery: Delivery) -> None:
    secrets = [s for s in powens_settings.WEBHOOK_SECRETS or [] if isinstance(s, str) and s]
    signature = delivery.header("BI-Signature").strip()
    date = delivery.header("BI-Signature-Date").strip()
    if not secrets:
        raise WebhookRefused("no_secret", "no WEBHOOK_SECRETS configured", http_status=403)
    if not date:
        raise WebhookRefused("missing_signature_date", http_status=401)
    moment = _parse_signature_date(date)
    if moment is None:
        raise WebhookRefused("bad_signature_date", f"BI-Signature-Date {date!r}", http_status=401)
    age = abs((timezone.now() - moment).total_seconds())
    if age > float(powens_settings.WEBHOOK_TOLERANCE):
        raise WebhookRefused("stale_signature", f"signed {age:.0f} s away", http_status=401)
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused(
            "bad_signature", "BI-Signature is not base64", http_status=403
        ) from None
    path = signed_path(delivery)
    # Powens has not said whether a gzip body is signed before or after compression:
    # both are accepted.
    bodies = [delivery.body] + ([delivery.wire_body] if delivery.wire_body is not None else [])
    for secret in secrets:
        for body in bodies:
            expected = base64.b64decode(sign(secret, delivery.method, path, date, body))
            if hmac.compare_digest(given, expected):
                return
    raise WebhookRefused("bad_signature", "no secret matches BI-Signature", http_status=403)


def _parse_signature_date(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _named_user_id(event_type: str, payload: Mapping[str, Any]) -> int | None:
    """The Powens user a body is about: ``user.id``, else ``id_user``, else (a User
    object: USER_CREATED, USER_DELETED) its ``id``."""
    user = payload.get("user")
    for value in (
        user.get("id") if isinstance(user, Mapping) else None,
        payload.get("id_user"),
        payload.get("connection", {}).get("id_user")
        if isinstance(payload.get("connection"), Mapping)
        else None,
        payload.get("id") if event_type.startswith("USER_") else None,
    ):
        if _positive_int(value) is not None:
            return value
    return None


def _check_bearer(delivery: Delivery, payload: Mapping[str, Any]) -> None:
    header = delivery.header("Authorization")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise WebhookRefused("missing_authentication", http_status=401)
    user_id = _named_user_id(delivery.event_type, payload)
    powens_user = PowensUser.objects.filter(powens_id=user_id).first() if user_id else None
    if powens_user is None:
        raise WebhookRefused("unknown_user", f"Powens user {user_id}", http_status=202)
    try:
        stored = powens_user.token or ""
    except DecryptionError:
        raise WebhookRefused(
            "token_unreadable", f"Powens user {user_id}", http_status=403
        ) from None
    if not stored or not hmac.compare_digest(given.strip().encode(), stored.encode()):
        raise WebhookRefused("bad_token", f"Powens user {user_id}", http_status=403)


def authentication_methods() -> list[str]:
    """The configured methods (``POWENS["WEBHOOK_AUTH"]``), known ones only."""
    value = powens_settings.WEBHOOK_AUTH
    methods = [value] if isinstance(value, str) else list(value or [])
    return [m for m in methods if m in AUTH_METHODS]


def parse_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of a body; :class:`WebhookRefused` (400) when it is not one."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WebhookRefused("malformed", f"not JSON: {type(error).__name__}") from None
    if not isinstance(payload, dict):
        raise WebhookRefused("malformed", "not a JSON object")
    return payload


def delivery_id(payload: Mapping[str, Any]) -> int:
    """The body's ``id_webhook_data`` (Powens' idempotency key)."""
    value = payload.get("id_webhook_data")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise WebhookRefused("missing_id", "no usable id_webhook_data")
    return value


def authenticate(delivery: Delivery) -> dict[str, Any]:
    """Authenticate ``delivery`` and return its payload, or raise :class:`WebhookRefused`.

    HMAC is checked on the bytes before parsing; the bearer token needs the body to know
    whose token to compare with. With both methods configured, either suffices (Powens
    sends one). A bearer delivery naming a user unknown here is refused with 202: there
    is nothing to do for it, and an error would make Powens pause the webhook.
    """
    methods = authentication_methods()
    if not methods:
        raise WebhookRefused("no_authentication_configured", http_status=403)
    signed = bool(delivery.header("BI-Signature"))
    if "hmac" in methods and (signed or "bearer" not in methods):
        _check_hmac(delivery) if signed else _refuse_unsigned()
        payload = parse_payload(delivery.body)
    else:
        payload = parse_payload(delivery.body)
        _check_bearer(delivery, payload)
    delivery_id(payload)
    return payload


def _refuse_unsigned() -> None:
    raise WebhookRefused("missing_signature", http_status=401)


# -- recording --------------------------------------------------------------------------


@dataclass
class Receipt:
    """What :func:`receive` did with a delivery, for the receiver's answer."""

    status: int
    event: WebhookEvent | None
    code: str
    duplicate: bool = False
    detail: str = field(default="", repr=False)


def _ids_in(payload: Mapping[str, Any] | None, event_type: str) -> dict[str, int | None]:
    if not isinstance(payload, Mapping):
        return {"powens_user_id": None, "powens_connection_id": None}
    connection = (
        payload.get("connection") if isinstance(payload.get("connection"), Mapping) else None
    )
    connection_id = (connection or {}).get("id")
    if connection is None and event_type.startswith("CONNECTION_"):
        connection_id = payload.get("id")
    return {
        "powens_user_id": _named_user_id(event_type, payload),
        "powens_connection_id": connection_id
        if isinstance(connection_id, int)
        and not isinstance(connection_id, bool)
        and 0 < connection_id < 2**63
        else None,
    }


def record_refusal(delivery: Delivery, refusal: WebhookRefused) -> WebhookEvent:
    """Record a refused delivery (``valid=False``): redacted headers, the first
    :data:`REFUSED_BODY_KEPT` bytes of its body, and why it was refused."""
    payload = None
    if len(delivery.body) <= REFUSED_BODY_KEPT:  # the ids it claims, for the admin
        with contextlib.suppress(UnicodeDecodeError, ValueError, RecursionError):
            payload = json.loads(delivery.body)
    claimed = payload.get("id_webhook_data") if isinstance(payload, dict) else None
    return WebhookEvent.objects.create(
        event_type=delivery.event_type,
        id_webhook_data=claimed
        if isinstance(claimed, int) and not isinstance(claimed, bool) and 0 < claimed < 2**63
        else None,
        received=timezone.now(),
        headers=redact_headers(delivery.headers),
        body=WebhookEvent.pack(delivery.body[:REFUSED_BODY_KEPT]),
        body_size=len(delivery.body),
        remote_addr=delivery.remote_addr,
        valid=False,
        refusal=refusal.refusal,
        error=refusal.detail,
        **_ids_in(payload if isinstance(payload, dict) else None, delivery.event_type),
    )


def record(delivery: Delivery, payload: Mapping[str, Any]) -> tuple[WebhookEvent, bool]:
    """Record an authenticated delivery: ``(event, created)``. A delivery of an id
    already recorded adds to its ``deliveries`` instead (Powens' retries)."""
    now = timezone.now()
    webhook_id = delivery_id(payload)
    defaults = {
        "event_type": delivery.event_type,
        "received": now,
        "headers": redact_headers(delivery.headers),
        "body": WebhookEvent.pack(delivery.body),
        "body_size": len(delivery.body),
        "remote_addr": delivery.remote_addr,
        **_ids_in(payload, delivery.event_type),
    }
    for _attempt in range(2):
        existing = (
            WebhookEvent.objects.filter(id_webhook_data=webhook_id, valid=True)
            .defer("body", "headers")
            .first()
        )
        if existing is not None:
            WebhookEvent.objects.filter(pk=existing.pk).update(
                deliveries=F("deliveries") + 1, last_received=now
            )
            return existing, False
        try:
            with transaction.atomic():
                return WebhookEvent.objects.create(
                    id_webhook_data=webhook_id, valid=True, **defaults
                ), True
        except IntegrityError:
            continue  # a concurrent delivery of the same id recorded it first
    raise WebhookFailed(f"could not record delivery {webhook_id}")


def refuse(delivery: Delivery, refusal: WebhookRefused) -> Receipt:
    """Record and log a refused delivery; the receipt carries the refusal's status."""
    event = record_refusal(delivery, refusal)
    logger.warning(
        "Webhook %s refused (%s): %s", delivery.event_type, refusal.refusal, refusal.detail
    )
    return Receipt(refusal.http_status, event, refusal.refusal, detail=refusal.detail)


def receive(delivery: Delivery, *, defer: Callable[[int], None] | None = None) -> Receipt:
    """Authenticate, record and process a delivery.

    Never raises for a bad delivery: the :class:`Receipt` carries the HTTP status the
    receiver answers (2xx acknowledged; 4xx refused; 500 processing failed, so Powens
    retries). Every delivery is recorded. With ``defer``, a new valid event is not
    processed here: ``defer(event_pk)`` is called (to enqueue a task) and the receipt
    says 202.
    """
    try:
        payload = authenticate(delivery)
    except WebhookRefused as refusal:
        return refuse(delivery, refusal)
    event, created = record(delivery, payload)
    if event.processed is not None:
        return Receipt(200, event, "already_processed", duplicate=not created)
    if defer is not None:
        defer(event.pk)
        return Receipt(202, event, "queued", duplicate=not created)
    try:
        # A retry of a delivery recorded earlier is processed from what was recorded
        # first: a later body under the same id cannot replace it.
        done = process_event(event, payload=payload if created else None)
    except WebhookRefused as refusal:
        return Receipt(400, event, refusal.refusal, detail=refusal.detail)
    except WebhookFailed as failure:
        return Receipt(500, event, failure.code, detail=failure.detail)
    return Receipt(200, event, "processed" if done else "already_processed", duplicate=not created)


# -- processing -------------------------------------------------------------------------


def process_event(
    event: WebhookEvent, *, payload: Mapping[str, Any] | None = None, force: bool = False
) -> bool:
    """Process a valid event once: returns False when it was processed already.

    One transaction claims the event, updates the mirror and sends
    ``webhook_received``; any error rolls it all back and raises
    :class:`WebhookFailed` (written on the event), or :class:`WebhookRefused` for a
    body whose content cannot be processed. ``force`` processes a processed event again
    (handlers are idempotent).
    """
    if not event.valid:
        raise WebhookRefused("invalid_event", f"event {event.pk} was refused on delivery")
    now = timezone.now()
    try:
        with transaction.atomic():
            claim = WebhookEvent.objects.filter(pk=event.pk, valid=True)
            if not force:
                claim = claim.filter(processed__isnull=True)
            if not claim.update(processed=now, error="", attempts=F("attempts") + 1):
                return False
            data = payload if payload is not None else parse_payload(event.body_bytes)
            connection, result = _handle(event.event_type, data)
            WebhookEvent.objects.filter(pk=event.pk).update(result=result)
            event.processed, event.result, event.error = now, result, ""
            signals.webhook_received.send(
                WebhookEvent,
                event=event,
                event_type=event.event_type,
                payload=data,
                connection=connection,
            )
    except WebhookRefused as refusal:
        _failed(event, refusal.detail)
        raise
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        _failed(event, text)
        logger.exception("Webhook %s (event %s) failed", event.event_type, event.pk)
        raise WebhookFailed(text) from error
    return True


def _failed(event: WebhookEvent, text: str) -> None:
    text = printable(text, limit=2000)
    WebhookEvent.objects.filter(pk=event.pk).update(
        processed=None, error=text, attempts=F("attempts") + 1
    )
    event.processed, event.error = None, text


def _handle(event_type: str, payload: Mapping[str, Any]) -> tuple[Connection | None, str]:
    if event_type == CONNECTION_SYNCED:
        return _connection_synced(payload)
    if event_type == CONNECTION_DELETED:
        return None, _connection_deleted(payload)
    if event_type == USER_DELETED:
        return None, _user_deleted(payload)
    if event_type in KNOWN_EVENT_TYPES:
        return None, "signalled"
    return None, "unknown type: signalled"


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        return None
    return value


def _connection_synced(payload: Mapping[str, Any]) -> tuple[Connection | None, str]:
    data = payload.get("connection")
    if not isinstance(data, Mapping) or not _positive_int(data.get("id")):
        raise WebhookRefused("malformed", "CONNECTION_SYNCED without a connection id")
    user_id = _named_user_id(CONNECTION_SYNCED, payload)
    powens_user = PowensUser.objects.filter(powens_id=user_id).first() if user_id else None
    if powens_user is None:
        return None, "unknown Powens user: not mirrored"
    current = (
        Connection.objects.filter(powens_id=data["id"])
        .values_list("powens_user_id", "last_update")
        .first()
    )
    if current is not None and current[0] != powens_user.pk:
        logger.warning(
            "CONNECTION_SYNCED for connection %s of Powens user %s, held locally by "
            "another user: not mirrored",
            data["id"],
            user_id,
        )
        return None, "held by another user: not mirrored"
    sent = parse_datetime(data.get("last_update"))
    if current is not None and current[1] and sent and sent < current[1]:
        # A late retry of an older sync: the mirror already holds newer data.
        return _connection(data["id"]), "older than the mirror: not mirrored"
    sync.sync_connections(powens_user, [data])
    return _connection(data["id"]), "mirrored"


def _connection(powens_id: int) -> Connection | None:
    return Connection.objects.select_related("connector").filter(powens_id=powens_id).first()


def _connection_deleted(payload: Mapping[str, Any]) -> str:
    embedded = payload.get("connection")
    data: Mapping[str, Any] = embedded if isinstance(embedded, Mapping) else payload
    powens_id = _positive_int(data.get("id"))
    if powens_id is None:
        raise WebhookRefused("malformed", "CONNECTION_DELETED without a connection id")
    user_id = _named_user_id(CONNECTION_DELETED, payload)
    query = Connection.objects.filter(powens_id=powens_id).select_related("powens_user")
    if user_id:
        query = query.filter(powens_user__powens_id=user_id)
    connection = query.first()
    if connection is None:
        return "not mirrored"
    sync.forget_connection(connection)
    return "deleted"


def _user_deleted(payload: Mapping[str, Any]) -> str:
    user_id = _named_user_id(USER_DELETED, payload)
    if user_id is None:
        raise WebhookRefused("malformed", "USER_DELETED without a user id")
    # A deletion queued when the Django user was deleted is done: Powens says so.
    PendingPowensUserDeletion.objects.filter(powens_id=user_id).delete()
    powens_user = PowensUser.objects.filter(powens_id=user_id).first()
    if powens_user is None:
        return "not mirrored"
    sync.forget_powens_user(powens_user)
    return "deleted"


# -- reprocessing and pruning -----------------------------------------------------------


def events_to_reprocess(*, failed_only: bool = False, ids: Iterable[int] | None = None) -> Any:
    """Valid events to process again: ``ids`` (event primary keys), or the ones not
    processed yet (``failed_only``: only those whose last attempt failed)."""
    query = WebhookEvent.objects.filter(valid=True)
    if ids is not None:
        return query.filter(pk__in=list(ids)).order_by("received", "pk")
    query = query.filter(processed__isnull=True)
    if failed_only:
        query = query.exclude(error="")
    return query.order_by("received", "pk")


def reprocess_webhook_events(events: Iterable[WebhookEvent], *, force: bool = False) -> BatchResult:
    """Process recorded events again, each on its own (one failure never stops the
    others). ``force`` runs events already processed again too (handlers are
    idempotent); otherwise those are reported as ``"already processed"``."""
    result = BatchResult()
    for event in events:
        try:
            done = process_event(event, force=force)
        except (WebhookFailed, WebhookRefused) as error:
            result.items.append(BatchItem(event.pk, error=error))
        else:
            result.items.append(
                BatchItem(event.pk, result="processed" if done else "already processed")
            )
    return result


def prune_webhook_events(*, days: float | None = None) -> int:
    """Delete events received more than ``days`` ago (``POWENS["WEBHOOK_RETENTION_DAYS"]``
    by default): processed and refused ones only — a valid event never processed is
    kept until it is. Returns the number deleted."""
    if days is None:
        days = powens_settings.WEBHOOK_RETENTION_DAYS
    if days is None:
        return 0
    cutoff = timezone.now() - dt.timedelta(days=float(days))
    deleted, _ = (
        WebhookEvent.objects.filter(received__lt=cutoff)
        .filter(Q(valid=False) | Q(processed__isnull=False))
        .delete()
    )
    return deleted
