"""Odd or hostile data from Powens through the pages: connector fields whose ``values``,
``connector_sources`` or ``auth_mechanisms`` are not lists, fields without a usable name
or named like a key of the request itself. Pages render, links work, and a clash that
reaches the send is a clear error page, never a 500 with typed values in it."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from django.utils.html import escape

from powens_django import services
from powens_django.models import Connector
from powens_django.sandbox import models as bank

from .conftest import connect_test_bank, connect_url, credentials, only_connection

TEST_BANK = "Connecteur de test"

HOSTILE_FIELDS = [
    pytest.param({"name": "branch", "type": "list", "values": 7}, id="values-number"),
    pytest.param({"name": "branch", "type": "list", "values": "par,pro"}, id="values-string"),
    pytest.param({"name": "branch", "type": "list", "values": {"value": "x"}}, id="values-object"),
    pytest.param({"name": "branch", "type": "list", "values": [None, 3]}, id="values-entries"),
    pytest.param({"name": "pin", "connector_sources": 5}, id="sources-number"),
    pytest.param({"name": "pin", "connector_sources": "directaccess"}, id="sources-string"),
    pytest.param({"name": "pin", "connector_sources": {"x": 1}}, id="sources-object"),
    pytest.param({"name": "pin", "auth_mechanisms": 1}, id="mechanisms-number"),
    pytest.param({"name": "pin", "auth_mechanisms": "credentials"}, id="mechanisms-string"),
    pytest.param({"name": 12, "type": "text"}, id="name-number"),
    pytest.param({"name": None, "type": "text"}, id="name-null"),
    pytest.param({"name": ["login"], "type": "text"}, id="name-list"),
    pytest.param({"label": "Nameless"}, id="no-name"),
    pytest.param({"name": "pin", "type": ["text"], "label": {"fr": "x"}}, id="type-label-objects"),
    pytest.param({"name": "pin", "regex": 5, "required": "no"}, id="regex-number"),
    pytest.param({"name": "source", "type": "text"}, id="named-source"),
    pytest.param({"name": "connector_uuid", "type": "text"}, id="named-connector_uuid"),
    pytest.param({"name": "id_connector", "type": "text"}, id="named-id_connector"),
    pytest.param({"name": "refresh_auth", "type": "text"}, id="named-refresh_auth"),
]


def powens_sends(extra_field) -> None:
    """Powens' catalogue lists ``extra_field`` for the test bank; we mirror it."""
    connector = bank.Connector.objects.get(name=TEST_BANK)
    shipped = list(connector.fields)
    connector.fields = [*shipped, extra_field]
    connector.save(update_fields=["fields"])
    services.refresh_catalogue()
    # The sandbox's own bank would choke on the field too: it checks credentials with
    # the connector's fields. The mirror keeps what Powens sent.
    connector.fields = shipped
    connector.save(update_fields=["fields"])


@pytest.mark.parametrize("extra_field", HOSTILE_FIELDS)
def test_a_bank_with_an_odd_catalogue_field_still_connects(sandbox, browser, extra_field):
    powens_sends(extra_field)

    page = browser.get(connect_url(TEST_BANK))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="login"' in html and 'name="password"' in html

    response = browser.post(connect_url(TEST_BANK), credentials())
    assert response.status_code == 302, response.content
    assert response["Location"] == reverse("powens:connection", args=[only_connection().powens_id])


@pytest.mark.parametrize("name", ["source", "connector_uuid", "id_connector", "resume"])
def test_a_field_named_like_a_request_key_is_not_asked_and_a_posted_value_is_not_sent(
    sandbox, browser, name
):
    powens_sends({"name": name, "label": "Agence", "type": "text"})

    html = browser.get(connect_url(TEST_BANK)).content.decode()
    assert f'type="text" name="{name}"' not in html  # ("source" is also the page's own)
    response = browser.post(connect_url(TEST_BANK), {**credentials(), name: "typed-by-person"})

    assert response.status_code == 302, response.content
    assert only_connection().connector.name == TEST_BANK


def test_the_mirror_keeps_the_raw_field_definitions(sandbox):
    powens_sends({"name": "branch", "type": "list", "values": 7, "connector_sources": 5})

    connector = Connector.objects.get(name=TEST_BANK)
    assert {"name": "branch", "type": "list", "values": 7, "connector_sources": 5} in (
        connector.raw["fields"]
    )
    assert {"name": "branch", "type": "list", "values": []} in connector.fields


# -- definitions stored before they were checked -------------------------------------


STALE = [
    {"name": "website", "type": "list", "values": 5, "required": False},
    {"name": "branch", "type": "list", "values": "abc"},
    {"name": "pin", "connector_sources": 7, "auth_mechanisms": 3},
    {"name": "code", "connector_sources": "directaccess", "auth_mechanisms": "credentials"},
    {"name": 12},
    None,
    "text",
    {"name": "login", "type": "text", "required": True},
    {"name": "login", "type": "password", "required": True},  # listed twice: the first wins
    {"name": "password", "type": "password", "required": True, "regex": ["x"]},
]


def test_a_catalogue_stored_before_fields_were_checked_still_renders_and_connects(sandbox, browser):
    Connector.objects.filter(name=TEST_BANK).update(fields=STALE)

    page = browser.get(connect_url(TEST_BANK))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="login"' in html and 'type="text"' in html
    assert 'name="code"' in html  # "directaccess" is a source name, not a substring

    response = browser.post(connect_url(TEST_BANK), credentials())
    assert response.status_code == 302, response.content


def test_a_catalogue_whose_fields_are_not_a_list_still_renders(sandbox, browser):
    Connector.objects.filter(name=TEST_BANK).update(fields={"login": {"type": "text"}})

    assert browser.get(connect_url(TEST_BANK)).status_code == 200


# -- fields a connection asks for --------------------------------------------------------


def otp_connection(browser):
    connect_test_bank(browser, login="otp")
    connection = only_connection()
    return connection, reverse("powens:connection_fields", args=[connection.powens_id])


def test_fields_a_connection_asks_for_that_are_odd_still_render(sandbox, browser):
    connection, answer = otp_connection(browser)
    connection.fields = [
        {"name": "otp", "type": "list", "values": 3, "connector_sources": 9},
        {"name": None},
        "otp",
        {"name": "code", "auth_mechanisms": "credentials"},
    ]
    connection.save(update_fields=["fields"])

    page = browser.get(answer)

    assert page.status_code == 200
    assert 'name="otp"' in page.content.decode()
    assert 'name="code"' in page.content.decode()


@pytest.mark.parametrize("name", ["source", "active", "expire", "resume", "refresh_auth"])
def test_a_field_a_connection_asks_named_like_a_request_key_is_a_clear_error(
    sandbox, browser, caplog, name
):
    connection, answer = otp_connection(browser)
    connection.fields = [{"name": name, "label": "Agence", "type": "text", "required": True}]
    connection.save(update_fields=["fields"])
    syncs = bank.Connection.objects.get().sync_count
    logs = bank.ConnectionLog.objects.count()

    assert f'type="text" name="{name}"' in browser.get(answer).content.decode()
    with caplog.at_level(logging.DEBUG):
        response = browser.post(answer, {name: "typed-secret-4242"})

    # The page in plain words (an error page, or the form again with the problem).
    assert response.status_code in (200, 502)
    html = response.content.decode()
    assert escape(str(services.PowensRefused.default_message)) in html
    assert "typed-secret-4242" not in html
    assert "typed-secret-4242" not in caplog.text
    assert "clashes with a request key" in caplog.text
    # Nothing reached Powens.
    assert bank.Connection.objects.get().sync_count == syncs
    assert bank.ConnectionLog.objects.count() == logs


def test_a_clash_is_a_service_error_without_the_typed_values_or_their_frames(sandbox, browser):
    connection, _ = otp_connection(browser)

    with pytest.raises(services.ServiceError) as caught:
        services.submit_connection_fields(connection, {"source": "typed-secret-4242"})

    error = caught.value
    assert error.code == "powens_refused"
    assert "typed-secret-4242" not in f"{error} {error!r} {error.detail}"
    assert error.__cause__ is None and error.__suppress_context__
    assert error.powens_error is not None and error.powens_error.__traceback__ is None
