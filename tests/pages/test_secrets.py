"""A password typed through every credential path is nowhere afterwards: not in a
page, not in a log record, not in a table. Nor is the person's Powens token shown."""

from __future__ import annotations

import logging

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection as db
from django.urls import reverse

from powens_django.models import PowensUser

from .conftest import PASSWORD, credentials, only_connection


class Recorder:
    """The test client, keeping every page it was shown."""

    def __init__(self, client):
        self.client = client
        self.pages: list[str] = []

    def request(self, method: str, url: str, data=None):
        response = getattr(self.client, method)(url, data or {}, follow=True)
        self.pages.append(response.content.decode())
        return response


def every_path(browser) -> Recorder:
    seen = Recorder(browser)
    connect = reverse("powens:connect", args=[_test_connector_uuid()])
    # 1. wrong password on the connector form
    seen.request("post", connect, credentials("wrongpass", PASSWORD))
    # 2. an OTP scenario started with the password
    seen.request("post", connect, credentials("otp", PASSWORD))
    otp_connection = only_connection()
    seen.request(
        "post",
        reverse("powens:connection_fields", args=[otp_connection.powens_id]),
        {"otp": "123456"},
    )
    # 3. new credentials on the answer page: first refused, then accepted
    answer = reverse("powens:connection_fields", args=[otp_connection.powens_id])
    seen.request("post", answer, credentials("wrongpass", PASSWORD))
    seen.request("post", answer, credentials("alice", PASSWORD))
    for name in ("connection", "connection_fields", "connection_logs", "connection_delete"):
        seen.request("get", reverse(f"powens:{name}", args=[otp_connection.powens_id]))
    seen.request("get", reverse("powens:connections"))
    return seen


def _test_connector_uuid() -> str:
    from powens_django.models import Connector

    return Connector.objects.get(name="Connecteur de test").uuid


@pytest.fixture
def walked(sandbox, browser, caplog):
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield every_path(browser)
    finally:
        for logger, level in levels:
            logger.setLevel(level)


def test_every_credential_path_was_walked(walked):
    connection = only_connection()
    assert connection.state is None
    assert any("Identifiant ou mot de passe incorrect." in page for page in walked.pages)


def test_the_password_is_in_no_rendered_page(walked):
    assert len(walked.pages) == 10
    assert not [page for page in walked.pages if PASSWORD in page]


def test_the_password_is_in_no_log_record(walked, caplog):
    records = caplog.get_records("setup")
    # Something was logged, the refused credentials included: the check is not vacuous.
    assert any("400" in r.getMessage() for r in records)
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {record.__dict__!r}"
        assert PASSWORD not in text, record


def _rows() -> dict[str, list[str]]:
    tables = [t for t in db.introspection.table_names() if not t.startswith("powens_sandbox")]
    found: dict[str, list[str]] = {}
    with db.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            found[table] = [repr(row) for row in cursor.fetchall()]
    found["django_session (decoded)"] = [
        repr(SessionStore().decode(row)) for row in _session_data()
    ]
    return found


def _session_data() -> list[str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        return [row[0] for row in cursor.fetchall()]


def test_the_password_is_in_no_table(walked):
    rows = _rows()
    assert rows["powens_django_connection"]  # the tables read are the real ones
    assert rows["django_session (decoded)"]
    leaks = {table: [r for r in found if PASSWORD in r] for table, found in rows.items()}
    assert {table: hits for table, hits in leaks.items() if hits} == {}


def test_the_powens_token_is_in_no_page(walked):
    token = PowensUser.objects.get().token
    assert token
    assert not [page for page in walked.pages if token in page]


def test_the_powens_token_is_not_stored_in_clear(walked):
    token = PowensUser.objects.get().token
    rows = _rows()
    assert not [r for r in rows["powens_django_powensuser"] if token in r]
