"""The Django admin of powens-django (docs/admin.md).

Staff see who linked which bank, what state each connection is in and why, and act
on it through the service layer: nothing here talks to Powens or writes a mirrored
row itself. One module per screen: :mod:`.connections`, :mod:`.connectors`,
:mod:`.users` (Powens users), :mod:`.accounts` (bank accounts), :mod:`.webhooks`
(webhook events); :mod:`.base` holds what they share.
"""

from .accounts import BankAccountAdmin
from .connections import ConnectionAdmin
from .connectors import ConnectorAdmin
from .users import PowensUserAdmin
from .webhooks import WebhookEventAdmin

__all__ = [
    "BankAccountAdmin",
    "ConnectionAdmin",
    "ConnectorAdmin",
    "PowensUserAdmin",
    "WebhookEventAdmin",
]
