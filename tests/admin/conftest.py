"""Fixtures for the admin tests: Powens mocked with ``responses`` (``powens_api``),
Alice's and Bob's connections in the mirror, and staff with chosen permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from powens_django import sync
from powens_django.models import BankAccount, Connection, Connector, PowensUser

from ..factories import connection_payload, connector_payload

BANK_UUID = connector_payload(1)["uuid"]


def mirror(user: Any, *payloads: dict) -> None:
    """Put connections in the mirror as an earlier refresh would have."""
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


def connection(powens_id: int) -> Connection:
    return Connection.objects.select_related("powens_user").get(powens_id=powens_id)


def changelist(model: str) -> str:
    return reverse(f"admin:powens_django_{model}_changelist")


def change(model: str, pk: Any) -> str:
    return reverse(f"admin:powens_django_{model}_change", args=[pk])


def action(client: Any, model: str, name: str, objects: list[Any], **extra: str) -> Any:
    """Run the admin action ``name`` on ``objects`` from the change list (the first
    step: a confirmation page for the actions that have one)."""
    data = {"action": name, "_selected_action": [str(o.pk) for o in objects], **extra}
    return client.post(changelist(model), data, follow=True)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def bank(db: Any) -> Connector:
    """A connector in the catalogue (Powens id 1), with three sources."""
    sync.sync_connectors([connector_payload(1)])
    return Connector.objects.get(powens_id=1)


@pytest.fixture
def alice_connections(alice: Any, bank: Connector) -> list[Connection]:
    """Alice's two connections: 11 up to date, 12 waiting for a new password; 11 has
    a bank account."""
    mirror(
        alice,
        connection_payload(11, connector_uuid=BANK_UUID, sources=2),
        connection_payload(12, connector_uuid=BANK_UUID, state="wrongpass"),
    )
    BankAccount.objects.create(
        connection=connection(11),
        powens_id=111,
        name="Compte chèques",
        number="12345678901",
        iban="FR7630004000031234567890143",
        balance="1234.5",
        currency="EUR",
        currency_precision=2,
        type="checking",
    )
    return [connection(11), connection(12)]


@pytest.fixture
def staff(client: Any, django_user_model: Any) -> Any:
    """Log the test client in as a staff member holding ``perms`` (codenames of this
    app, e.g. ``"view_connection"``) and return the client."""

    def make(*perms: str) -> Any:
        member = django_user_model.objects.create_user(
            "support", password="unused-password", is_staff=True
        )
        member.user_permissions.set(
            Permission.objects.filter(content_type__app_label="powens_django", codename__in=perms)
        )
        client.force_login(member)
        return client

    return make
