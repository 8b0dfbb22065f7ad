"""Signal receivers the app connects at start-up (:meth:`PowensDjangoConfig.ready`).

Deleting a Django user deletes its Powens user at Powens
(``POWENS["DELETE_POWENS_USER_WITH_USER"]``, on by default). A ``pre_delete`` receiver
runs inside the deletion's transaction (the admin's delete, ``user.delete()``, a
queryset's ``.delete()``: Django sends ``pre_delete`` for each object), before the
cascade removes the user's ``PowensUser`` row and its token. So it only copies what
the deletion at Powens needs into a row that survives the cascade
(:func:`~powens_django.services.users.queue_powens_user_deletion`) and, once the
deletion commits, enqueues the task that calls Powens. No HTTP call is made while the
deletion's transaction holds its locks; a rolled-back deletion rolls the row back and
enqueues nothing, so nothing is deleted at Powens.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction

from .conf import powens_settings
from .services import users as user_services

logger = logging.getLogger("powens_django")


def delete_powens_user_with_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete`` of the user model: queue the deletion of the user's Powens user
    at Powens, and enqueue it once the deletion commits."""
    if not powens_settings.DELETE_POWENS_USER_WITH_USER:
        return
    pending = user_services.queue_powens_user_deletion(instance)
    if pending is None:
        return
    # robust: the user is deleted whatever happens here; if the task cannot even be
    # enqueued, the pending row waits for the retry command or task.
    transaction.on_commit(partial(_enqueue_deletion, pending.powens_id), robust=True)


def _enqueue_deletion(powens_id: int) -> None:
    from .tasks import delete_powens_user_at_powens

    delete_powens_user_at_powens.enqueue(powens_id)
