"""Signals for host projects.

All are sent after the database transaction that recorded the change has committed,
so receivers see the new rows (and a rolled-back change sends nothing). Receivers take
``sender`` and ``**kwargs``; the keyword arguments are listed with each signal.

Connections (sender: :class:`~powens_django.models.Connection`):

- ``connection_created(connection)``: a connection appeared in the local mirror.
- ``connection_synced(connection)``: Powens reports a new successful update
  (``last_update`` moved).
- ``connection_state_changed(connection, old_state, new_state)``: the state changed
  (``None`` means OK).
- ``connection_deleted(powens_id, powens_user)``: the connection is gone, locally and at
  Powens. The row no longer exists, hence ids rather than an instance.

Users (sender: :class:`~powens_django.models.PowensUser`):

- ``powens_user_created(powens_user)``: the user's Powens account was created
  (``POST /auth/init``) and its token stored.
- ``powens_user_deleted(user_id, powens_id, connection_ids)``: the Powens user and every
  local row of it are gone (the Django user stays); ``connection_ids`` were erased.

Browser flows (sender: :class:`~powens_django.models.LinkState`):

- ``link_cancelled(user, connector_uuid, connection_powens_id, error)``: the person
  cancelled at the bank (``access_denied``). ``connector_uuid`` is set for a new
  connection, ``connection_powens_id`` for a repair.
- ``link_failed(user, connector_uuid, connection_powens_id, error)``: the bank flow
  came back with any other error (``error`` is the code Powens sent; its description
  is logged, never sent).

Catalogue (sender: :class:`~powens_django.models.Connector`):

- ``catalogue_refreshed(result, country_codes)``: the connector catalogue was mirrored;
  ``result`` is a :class:`~powens_django.sync.SyncResult` (counts and the uuids
  written), ``country_codes`` the countries asked for (empty: all, pruned).
Webhooks (sender: :class:`~powens_django.models.WebhookEvent`):

- ``webhook_received(event, event_type, payload, connection)``: a valid webhook is being
  processed, after the mirror was updated from it. ``payload`` is the whole body (a
  ``CONNECTION_SYNCED`` carries each account's new ``transactions``, which the package
  does not store); ``connection`` is the mirrored row it concerns, if any. Unlike the
  others, it is sent *inside* the processing transaction: an exception in a receiver
  rolls the event back, the receiver answers 500 and Powens delivers it again, so a
  receiver must be idempotent (docs/webhooks.md).
"""

from django.dispatch import Signal

connection_created = Signal()
connection_synced = Signal()
connection_state_changed = Signal()
connection_deleted = Signal()

powens_user_created = Signal()
powens_user_deleted = Signal()

link_cancelled = Signal()
link_failed = Signal()

catalogue_refreshed = Signal()

webhook_received = Signal()
