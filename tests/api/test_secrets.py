"""A password typed through every credential path of the API is nowhere afterwards: not
in an answer, a log record, a table or an error report; nor is the Powens token in an
answer. Walked against the sandbox, as tests/pages/test_secrets.py walks the pages."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables
from rest_framework.test import APIClient

from powens_django import services
from powens_django.models import Connection, Connector, PowensUser

from ..pages import test_secrets as pages_secrets
from ..pages.conftest import sandbox  # noqa: F401 (fixture)
from .conftest import API

PASSWORD = "Sup3r-Secret-Pass!"


def values(login: str) -> dict[str, str]:
    return {"website": "par", "login": login, "password": PASSWORD}


class Recorder:
    """An API client keeping every answer it was given."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.answers: list[str] = []

    def __call__(self, method: str, path: str, body=None):
        response = getattr(self.client, method)(API + path, body, format="json")
        self.answers.append(response.content.decode())
        return response


@pytest.fixture
def walked(sandbox, django_user_model, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    person = django_user_model.objects.create_user("alice", password="unused-password")
    client = APIClient()
    client.force_login(person)
    seen = Recorder(client)
    uuid = Connector.objects.get(name="Connecteur de test").uuid
    try:
        # 1. refused credentials, 2. an OTP scenario started with the password
        assert seen("post", "connections/", {"connector": uuid, "values": values("wrongpass")})
        started = seen("post", "connections/", {"connector": uuid, "values": values("otp")})
        powens_id = started.json()["connection"]["id"]
        seen("post", f"connections/{powens_id}/fields/", {"values": {"otp": "123456"}})
        # 3. new credentials on the connection: first refused, then accepted
        fields = f"connections/{powens_id}/fields/"
        seen("post", fields, {"values": values("wrongpass")})
        seen("post", fields, {"values": values("alice")})
        for path in ("", "fields/", "logs/"):
            seen("get", f"connections/{powens_id}/{path}")
        seen("get", "connections/")
        yield seen
    finally:
        for logger, level in levels:
            logger.setLevel(level)


def test_every_credential_path_was_walked(walked):
    assert Connection.objects.get().state is None
    assert any("wrong_credentials" in answer for answer in walked.answers)
    assert any('"kind":"wrong_credentials"' in answer for answer in walked.answers)


def test_the_password_is_in_no_answer(walked):
    assert len(walked.answers) == 9
    assert not [answer for answer in walked.answers if PASSWORD in answer]


def test_the_password_is_in_no_log_record(walked, caplog):
    records = caplog.get_records("setup")
    assert any("400" in r.getMessage() for r in records)  # not vacuous
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {record.__dict__!r}"
        assert PASSWORD not in text, record


def test_the_password_is_in_no_table(walked):
    rows = pages_secrets._rows()
    assert rows["powens_django_connection"]
    leaks = {table: [r for r in found if PASSWORD in r] for table, found in rows.items()}
    assert {table: hits for table, hits in leaks.items() if hits} == {}


def test_the_powens_token_is_in_no_answer(walked):
    token = PowensUser.objects.get().token
    assert token
    assert not [answer for answer in walked.answers if token in answer]


def test_an_error_report_of_a_bug_below_the_api_holds_no_credential(
    db, catalogue, alice, monkeypatch
):
    """A bug below the endpoint (here, in the service) reaches Django's error
    report: the typed values are in none of its frames."""

    @sensitive_variables()  # as the real service is: this test is about the API's frames
    def broken(*args, **kwargs):
        raise RuntimeError("a bug below the API")

    monkeypatch.setattr(services, "add_credentials_connection", broken)
    client = APIClient(raise_request_exception=True)
    client.force_login(alice)
    body = {
        "connector": "00000000-0000-4000-8000-000000000002",
        "source": "directaccess",
        "values": {"field0": "alice", "field1": PASSWORD, "field2": "2020-01-31", "field3": "a"},
    }

    with pytest.raises(RuntimeError) as raised:
        client.post(API + "connections/", body, format="json")

    # The report Django makes starts where the handler caught it, not in the test client.
    tb = raised.tb
    while tb is not None and "django/core/handlers" not in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    assert tb is not None
    request = RequestFactory().post(API + "connections/", body, content_type="application/json")
    report = ExceptionReporter(
        request, raised.type, raised.value, tb, is_email=False
    ).get_traceback_html()
    assert "a bug below the API" in report
    assert "directaccess" in report  # the frames' variables are in the report
    assert PASSWORD not in report
