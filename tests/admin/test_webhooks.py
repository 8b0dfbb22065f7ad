"""Webhook events in the admin: read-only, filtered, bodies shown without secrets, and
reprocessed by an action that needs its own permission."""

from __future__ import annotations

import pytest

from powens_django import signals
from powens_django.models import Connection, WebhookEvent
from powens_django.testing import deliver_webhook

from ..webhooks.conftest import synced_body
from .conftest import action, change, changelist, messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(client, alice):
    """A processed delivery, a refused one (forged) and a failed one."""
    deliver_webhook(client, "CONNECTION_SYNCED", synced_body(7, webhook_id=1))
    deliver_webhook(client, "CONNECTION_SYNCED", synced_body(8, webhook_id=2), secret="guessed")

    def broken(sender, **kwargs):
        raise RuntimeError("host handler broke")

    signals.webhook_received.connect(broken, dispatch_uid="broken")
    try:
        deliver_webhook(client, "CONNECTION_SYNCED", synced_body(9, webhook_id=3))
    finally:
        signals.webhook_received.disconnect(dispatch_uid="broken")
    client.logout()
    return {e.id_webhook_data: e for e in WebhookEvent.objects.all() if e.valid} | {
        "refused": WebhookEvent.objects.get(valid=False)
    }


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("processed", {1}), ("failed", {3}), ("refused", {2})],
)
def test_the_list_filters_by_outcome(staff, events, outcome, expected):
    client = staff("view_webhookevent")

    response = client.get(changelist("webhookevent"), {"outcome": outcome})

    assert {e.id_webhook_data for e in response.context["cl"].result_list} == expected


def test_an_events_page_shows_its_body_and_no_secret_header(staff, events):
    client = staff("view_webhookevent")

    html = client.get(change("webhookevent", events["refused"].pk)).content.decode()

    assert "&lt;redacted&gt;" in html and "id_webhook_data" in html
    assert "bi-signature-date" in html.lower()


def test_events_cannot_be_added_changed_or_deleted_by_hand(staff, events):
    client = staff("view_webhookevent", "change_webhookevent", "delete_webhookevent")

    html = client.get(change("webhookevent", events[1].pk)).content.decode()

    assert 'name="_save"' not in html
    assert client.get(changelist("webhookevent") + "add/").status_code == 403


def test_reprocessing_runs_failed_events_again_and_leaves_refused_ones(staff, events):
    client = staff("view_webhookevent", "process_webhookevent")

    response = action(client, "webhookevent", "reprocess", [events[3], events["refused"]])

    assert WebhookEvent.objects.get(pk=events[3].pk).processed is not None
    assert Connection.objects.filter(powens_id=9).exists()
    assert not Connection.objects.filter(powens_id=8).exists()
    assert any("processed" in m for m in messages_of(response))
    assert any("never processed" in m for m in messages_of(response))


def test_without_the_permission_the_action_is_not_offered(staff, events):
    client = staff("view_webhookevent")

    response = client.get(changelist("webhookevent"))
    action(client, "webhookevent", "reprocess", [events[3]])

    form = response.context["action_form"]
    assert form is None or "reprocess" not in str(form.fields["action"].choices)
    assert WebhookEvent.objects.get(pk=events[3].pk).processed is None
