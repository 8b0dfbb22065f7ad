"""The sandbox's own webhooks, signed and sent over real HTTP, reach the receiver: a
sync finished at Powens updates the mirror with no page asking."""

from __future__ import annotations

import pytest

from powens_django import services
from powens_django.models import BankAccount, Connection, Connector, WebhookEvent
from powens_django.sandbox import models as bank
from powens_django.sandbox import webhooks as sandbox_webhooks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhooks_to_receiver(powens_sandbox, settings):
    """The sandbox sends its webhooks to this site's receiver, signed (HMAC)."""
    root = powens_sandbox.url + "/powens/webhooks/"
    settings.POWENS_SANDBOX = {
        **settings.POWENS_SANDBOX,
        "WEBHOOK_AUTH": "hmac",
        "WEBHOOK_URLS": {
            event: root + services.webhooks.slug_for(event) + "/"
            for event in ("CONNECTION_SYNCED", "CONNECTION_DELETED", "USER_DELETED")
        },
    }
    return root


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="unused")


def link(user):
    connector = Connector.objects.get(name="Connecteur de test")
    values = {"website": "par", "login": "alice", "password": "Live-Secret-Pass-42!"}
    return services.add_credentials_connection(user, connector, values)


def test_a_link_at_the_sandbox_is_mirrored_with_its_accounts_by_its_webhook(
    webhooks_to_receiver, alice
):
    outcome = link(alice)
    assert sandbox_webhooks.wait_for_deliveries()

    connection = Connection.objects.get(powens_id=outcome.connection.powens_id)
    at_the_bank = bank.BankAccount.objects.filter(connection_id=connection.powens_id)
    mirrored = BankAccount.objects.filter(connection=connection)
    assert at_the_bank.exists()
    assert sorted(mirrored.values_list("powens_id", "balance")) == sorted(
        at_the_bank.values_list("pk", "balance")
    )
    event = WebhookEvent.objects.get(event_type="CONNECTION_SYNCED")
    assert event.valid and event.processed and event.result == "mirrored"
    assert bank.WebhookDelivery.objects.get(event="CONNECTION_SYNCED").status == "delivered"


def test_a_connection_deleted_at_the_sandbox_leaves_the_mirror_by_its_webhook(
    webhooks_to_receiver, alice
):
    outcome = link(alice)
    powens_id = outcome.connection.powens_id
    # Deleted at Powens by someone else (another app of the customer, Powens' console).
    services.client_for(alice.powens_user).delete_connection(powens_id)
    assert sandbox_webhooks.wait_for_deliveries()

    assert not Connection.objects.filter(powens_id=powens_id).exists()
    assert WebhookEvent.objects.get(event_type="CONNECTION_DELETED").result == "deleted"
