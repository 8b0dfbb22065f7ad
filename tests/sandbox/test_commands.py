"""Management commands: catalogue, synthetic connectors, reset, webhook retries."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from powens_django.sandbox.models import (
    Connection,
    Connector,
    ConnectorSource,
    KeyPair,
    User,
    WebhookDelivery,
    WebviewVisit,
)
from powens_django.sandbox.wire import now

from .conftest import SANDBOX_DB

pytestmark = SANDBOX_DB


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_load_catalogue_is_idempotent(shipped):
    first = run("sandbox_load_catalogue")
    second = run("sandbox_load_catalogue")

    assert f"{len(shipped)} connectors ({len(shipped)} created, 0 updated, 0 unchanged)" in first
    assert f"(0 created, 0 updated, {len(shipped)} unchanged)" in second
    assert "1 hidden" in second
    assert Connector.objects.count() == len(shipped) >= 20


@pytest.mark.django_db
def test_generate_connectors_adds_n_with_sources_and_fields():
    run("sandbox_generate_connectors", "7")
    run("sandbox_generate_connectors", "3")

    rows = Connector.objects.filter(synthetic=True)
    assert rows.count() == 10
    assert ConnectorSource.objects.filter(connector__in=rows).count() == 30
    assert len({row.name for row in rows}) == 10
    assert {len(row.fields) for row in rows} == {5}


@pytest.mark.django_db
def test_generate_connectors_needs_a_positive_count():
    with pytest.raises(CommandError):
        call_command("sandbox_generate_connectors", "0")


def test_reset_empties_users_and_connections_but_keeps_the_catalogue(api, user, connect, receiver):
    connect()
    api.get("publickey")
    WebviewVisit.objects.create(
        token="t",
        user_id=user.id,
        client_id="1",
        redirect_uri="https://site.example/cb",
        flow="manage",
        created=now(),
        expires=now(),
    )

    run("sandbox_reset")

    assert not User.objects.exists()
    assert not Connection.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebviewVisit.objects.exists()
    assert Connector.objects.exists()
    assert KeyPair.objects.exists()
    assert api.get("users/me", token=user.token).status_code == 401


def test_reset_all_empties_the_catalogue_too(api, catalogue):
    api.get("publickey")

    run("sandbox_reset", "--all")

    assert not Connector.objects.exists()
    assert not KeyPair.objects.exists()
    assert api.get("connectors").json() == {"connectors": []}
