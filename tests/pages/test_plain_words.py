"""Words on the pages: a bank's instruction is not drawn as an error, and a state is
explained once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from powens_django import sync
from powens_django.models import Connector
from tests.factories import connection_payload, connector_payload
from tests.services.helpers import OTP_FIELD, mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_an_otp_instruction_is_shown_as_guidance_not_as_an_error(as_alice, alice):
    mirror(
        alice,
        connection_payload(
            7,
            state="additionalInformationNeeded",
            fields=[OTP_FIELD],
            error_message="Enter the code we sent to 06 •• •• 12",
        ),
    )

    html = as_alice.get(reverse("powens:connection_fields", args=[7])).content.decode()

    assert 'class="powens-bank-message powens-bank-message--info" role="status"' in html
    assert "Enter the code we sent" in html


def test_a_refusal_from_the_bank_stays_an_alert(as_alice, alice):
    sync.sync_connectors([connector_payload(2)])
    uuid = Connector.objects.get(powens_id=2).uuid
    mirror(
        alice,
        connection_payload(
            7, state="wrongpass", connector_uuid=uuid, error_message="Wrong password"
        ),
    )

    html = as_alice.get(reverse("powens:connection_fields", args=[7])).content.decode()

    assert 'class="powens-bank-message" role="alert"' in html


def test_a_connection_left_needing_attention_is_explained_once(as_alice, alice):
    from powens_django.services import Outcome, outcome_for
    from powens_django.views import _route

    mirror(alice, connection_payload(7, state="websiteUnavailable"))
    from powens_django.models import Connection

    connection = Connection.objects.get(powens_id=7)
    response = as_alice.get(reverse("powens:connection", args=[7]))
    request = response.wsgi_request
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    outcome: Outcome = outcome_for(connection)
    _route(request, outcome)
    page = as_alice.get(reverse("powens:connection", args=[7]))

    texts = [str(m) for m in request._messages]
    explanation = escape(str(connection.state_info.explanation))
    assert texts == [f"{connection.connector_name} is linked, but needs attention."]
    assert page.content.decode().count(explanation) == 1


def test_my_banks_puts_problems_first_and_points_out_a_bank_linked_twice(as_alice, alice):
    sync.sync_connectors([connector_payload(2)])
    uuid = Connector.objects.get(powens_id=2).uuid
    mirror(
        alice,
        connection_payload(7, connector_uuid=uuid, created="2026-10-01 09:00:00"),
        connection_payload(8, connector_uuid=uuid, created="2026-11-01 09:00:00"),
        connection_payload(9, state="wrongpass", created="2026-09-01 09:00:00"),
    )

    response = as_alice.get(reverse("powens:connections"))

    order = [c.powens_id for c in response.context["connections"]]
    html = response.content.decode()
    assert order == [9, 8, 7]  # the problem first, then the newest
    assert html.count("data-duplicate") == 2 and "Linked on" in html
    assert "directaccess" not in html and "openapi" not in html


def test_the_country_filter_shows_names_in_the_persons_language(as_alice):
    sync.sync_connectors([connector_payload(i) for i in (1, 2, 3)])  # FR, and ES for 3

    english = as_alice.get(reverse("powens:picker")).content.decode()
    french = as_alice.get(reverse("powens:picker"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<option value="ES">Spain</option>' in english
    assert '<option value="ES">Espagne</option>' in french
    assert english.index(">France<") < english.index(">Spain<")
