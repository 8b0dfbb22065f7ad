"""docs/webhooks.md: the handler it shows runs on a real delivery and is idempotent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from powens_django import signals
from powens_django.testing import deliver_webhook

from .conftest import synced_body

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def handler_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [source] = [b for b in blocks if "def store_transactions" in b]
    return source


class FakeTransactions:
    """Stands in for the doc's host model: keeps rows by ``powens_id`` as the upsert would."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    stored: dict[int, dict] = {}

    class objects:
        @staticmethod
        def bulk_create(rows, *, update_conflicts, unique_fields, update_fields):
            assert update_conflicts and unique_fields == ["powens_id"]
            for row in rows:
                FakeTransactions.stored[row.powens_id] = dict(row.__dict__)


@pytest.fixture
def doc_handler():
    FakeTransactions.stored = {}
    source = handler_source().replace("from .models import Transaction\n", "")
    namespace = {"Transaction": FakeTransactions, "__name__": "doc_receivers"}
    exec(compile(source, str(DOC), "exec"), namespace)  # connects the receiver
    yield FakeTransactions.stored
    signals.webhook_received.disconnect(namespace["store_transactions"])


def test_the_documented_handler_stores_each_transaction_once(client, alice, doc_handler):
    body = synced_body(accounts=2, transactions=3)

    first = deliver_webhook(client, "CONNECTION_SYNCED", body)
    again = deliver_webhook(client, "CONNECTION_SYNCED", {**body, "id_webhook_data": 2})

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(doc_handler) == 6
    row = next(iter(doc_handler.values()))
    assert row["account_id"] in (700, 701) and str(row["value"]) == "-12.5"


def test_deliver_webhook_can_gzip_and_names_a_delivery_id(client, alice):
    body = synced_body()
    del body["id_webhook_data"]

    response = deliver_webhook(client, "CONNECTION_SYNCED", body, compress=True)

    assert response.status_code == 200
