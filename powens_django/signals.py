"""Signals for host projects.

All are sent after the database transaction that recorded the change has committed,
so receivers see the new rows (and a rolled-back change sends nothing).

- ``connection_created(connection)``: a connection appeared in the local mirror.
- ``connection_synced(connection)``: Powens reports a new successful update
  (``last_update`` moved).
- ``connection_state_changed(connection, old_state, new_state)``: the state changed
  (``None`` means OK).
- ``connection_deleted(powens_id, powens_user)``: the connection is gone, locally and at
  Powens. The row no longer exists, hence ids rather than an instance.
"""

from django.dispatch import Signal

connection_created = Signal()
connection_synced = Signal()
connection_state_changed = Signal()
connection_deleted = Signal()
