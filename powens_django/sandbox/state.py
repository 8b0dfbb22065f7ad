"""Emptying the sandbox: every user and what it owns, and optionally the catalogue."""

from __future__ import annotations

from django.db import transaction

from .models import (
    AccessToken,
    BankAccount,
    Connection,
    ConnectionLog,
    ConnectionSource,
    Connector,
    ConnectorSource,
    KeyPair,
    TemporaryCode,
    Transaction,
    User,
    WebauthFlow,
    WebhookDelivery,
    WebviewVisit,
)


@transaction.atomic
def reset(*, everything: bool = False) -> None:
    """Delete users, tokens, connections, accounts, logs, bank pages, Webview
    visits and webhook deliveries; with ``everything``, the connectors and the RSA key as well.

    Rows are deleted, not truncated, so that ids (``id_webhook_data`` above all)
    are never handed out twice.
    """
    for model in (
        WebviewVisit,
        WebauthFlow,
        Transaction,
        BankAccount,
        ConnectionLog,
        ConnectionSource,
        Connection,
        TemporaryCode,
        AccessToken,
        User,
        WebhookDelivery,
    ):
        model.objects.all().delete()
    if everything:
        ConnectorSource.objects.all().delete()
        Connector.objects.all().delete()
        KeyPair.objects.all().delete()
