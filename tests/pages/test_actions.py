"""Every state shows the controls the state table gives it, and each control leads to
a page that works (no dead ends, no state left without a way forward)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from powens_django import sync
from powens_django.models import Connection, Connector, PowensUser
from powens_django.states import KNOWN_STATES, Action, actions_for

from ..factories import connector_payload

MY_BANKS = reverse("powens:connections")
STATES = [*sorted(KNOWN_STATES, key=lambda s: s or ""), "sandboxFutureState"]


@pytest.fixture
def linked(person):
    return PowensUser.objects.create(user=person, powens_id=1, token="offline-token")


def bank(mechanism: str) -> Connector:
    payload = connector_payload(1 if mechanism == "webauth" else 2)
    assert payload["auth_mechanism"] == mechanism
    sync.sync_connectors([payload])
    return Connector.objects.get(uuid=payload["uuid"])


def shown_actions(html: str) -> list[str]:
    """The connection's controls (My banks' own Refresh left aside)."""
    return [a for a in re.findall(r'data-action="([a-z_]+)"', html) if a != "refresh"]


@pytest.mark.parametrize("mechanism", ["credentials", "webauth"])
@pytest.mark.parametrize("state", STATES)
def test_a_connection_shows_exactly_the_actions_of_its_state(browser, linked, state, mechanism):
    connector = bank(mechanism)
    Connection.objects.create(powens_user=linked, powens_id=7, state=state, connector=connector)
    expected = [str(a) for a in actions_for(state, auth_mechanism=mechanism)]

    on_list = shown_actions(browser.get(MY_BANKS).content.decode())
    on_page = shown_actions(browser.get(reverse("powens:connection", args=[7])).content.decode())

    assert on_list == on_page == expected
    assert expected[-1] == Action.DELETE


@pytest.mark.parametrize("state", ["passwordExpired", "actionNeeded", "wrongpass"])
def test_a_credentials_connection_that_needs_new_credentials_links_to_the_form(
    browser, linked, state
):
    connector = bank("credentials")
    Connection.objects.create(powens_user=linked, powens_id=7, state=state, connector=connector)
    fields_url = reverse("powens:connection_fields", args=[7])

    html = browser.get(reverse("powens:connection", args=[7])).content.decode()
    assert f'data-action="reenter_credentials" href="{fields_url}"' in html

    form = browser.get(fields_url)
    assert form.status_code == 200
    assert 'type="password"' in form.content.decode()


@pytest.mark.parametrize("state", ["passwordExpired", "actionNeeded", "wrongpass"])
def test_a_webauth_connection_that_needs_new_credentials_offers_the_banks_website(
    browser, linked, state
):
    connector = bank("webauth")
    Connection.objects.create(powens_user=linked, powens_id=7, state=state, connector=connector)

    html = browser.get(reverse("powens:connection", args=[7])).content.decode()

    assert 'data-action="reconnect"' in html
    assert 'data-action="reenter_credentials"' not in html
    assert reverse("powens:connection_reconnect", args=[7]) in html


@pytest.mark.parametrize("state", STATES)
def test_every_link_an_action_shows_answers(browser, linked, state):
    connector = bank("credentials")
    Connection.objects.create(powens_user=linked, powens_id=7, state=state, connector=connector)
    html = browser.get(reverse("powens:connection", args=[7])).content.decode()
    links = re.findall(r'<a [^>]*data-action="([a-z_]+)" href="([^"]+)"', html)

    assert links, "at least the disconnect link"
    for action, url in links:
        if action in ("resume", "wait"):
            continue  # these pages ask Powens (tested with the sandbox)
        assert browser.get(url).status_code == 200, (action, url)
