"""Background tasks, defined with Django's tasks framework.

``django.tasks`` on Django 6, the ``django-tasks`` backport on 5.2: the host site
chooses the backend (``TASKS`` setting): immediate in development, a database or
Redis worker fleet in production (docs/tasks.md). The app never sets ``TASKS``.

Every task takes JSON-serialisable arguments (ids, not instances), looks its objects
up again when it runs, and is safe to run twice. Enqueue them with
:func:`enqueue_on_commit` so a worker never runs before the data it needs is committed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

try:  # Django >= 6.0
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2: the backport
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]

from . import services
from .services import users as user_services

logger = logging.getLogger("powens_django.tasks")


@task()
def refresh_catalogue(country_codes: list[str] | None = None) -> dict[str, int]:
    """Mirror the connector catalogue (all countries, or only ``country_codes``)."""
    result = services.refresh_catalogue(country_codes=country_codes)
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "removed": result.removed,
        "skipped": result.skipped,
    }


@task()
def refresh_connection(user_id: int, powens_id: int) -> str | None:
    """Refresh one connection from Powens (GETs only). Returns its state, or
    ``"deleted"`` when Powens no longer has it."""
    user = get_user_model()._default_manager.get(pk=user_id)
    outcome = services.fetch_connection(user, powens_id)
    return "deleted" if outcome.kind == services.DELETED else outcome.state


@task()
def refresh_powens_users(user_ids: list[int]) -> dict[str, int]:
    """Refresh every connection of these Django users (GETs only, several Powens calls
    in flight as ``powens_sync_connections`` does). For sites that spread a sweep over
    workers: enqueue one task per batch of user ids. Returns ``refreshed`` and
    ``failed`` counts (failures are logged)."""
    users = services.powens_users_to_refresh().filter(user_id__in=user_ids)
    result = services.refresh_powens_users(users)
    return {"refreshed": len(result.succeeded), "failed": len(result.failed)}


@task()
def sync_connection(user_id: int, powens_id: int, psu_requested: bool = False) -> str:
    """Ask Powens to sync one connection now (``PUT``); returns the outcome kind.

    ``psu_requested`` says whether the person asked for it right now (true only then;
    a worker acting on its own passes false). Fair use forbids bulk forced syncs.
    """
    connection = services.get_user_connection(
        get_user_model()._default_manager.get(pk=user_id), powens_id
    )
    return str(services.sync_connection(connection, psu_requested=psu_requested).kind)


def enqueue_on_commit(task_obj: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task_obj`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_obj.enqueue(*args, **kwargs))


@task()
def delete_powens_user_at_powens(powens_id: int) -> str:
    """Delete at Powens the Powens user of a deleted Django user (``DELETE
    /users/me``), enqueued when that deletion commits. Returns ``"deleted"``, the
    error code of a failure (recorded; :func:`retry_powens_user_deletions` tries
    again later), or ``"not_pending"`` (done already, or claimed by another worker)."""
    result = user_services.retry_powens_user_deletions([powens_id])
    if not result.items:
        return "not_pending"
    error = result.items[0].error
    return "deleted" if error is None else error.code


@task()
def retry_powens_user_deletions() -> dict[str, int]:
    """Try again every pending deletion at Powens that is due (schedule it, e.g.
    every 10 minutes, or run ``powens_delete_pending_users`` from cron). Returns the
    counts: ``deleted``, ``failed``, and ``failing`` (rows whose last try failed)."""
    result = user_services.retry_powens_user_deletions()
    return {
        "deleted": len(result.succeeded),
        "failed": len(result.failed),
        "failing": user_services.pending_powens_user_deletions(failing=True).count(),
    }


@task()
def process_webhook_event(event_id: int) -> str:
    """Process a recorded webhook event (``POWENS["WEBHOOK_PROCESSING"] = "task"``).
    Returns ``"processed"``, ``"already processed"`` or the failure's code (recorded on
    the event; ``powens_process_webhooks --failed`` tries again)."""
    events = services.events_to_reprocess(ids=[event_id])
    result = services.reprocess_webhook_events(events)
    if not result.items:
        return "not found"
    item = result.items[0]
    return item.error.code if item.error else str(item.result)


@task()
def prune_webhook_events() -> int:
    """Delete webhook events older than ``POWENS["WEBHOOK_RETENTION_DAYS"]``."""
    return services.prune_webhook_events()
