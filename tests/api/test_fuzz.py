"""A bounded, deterministic fuzz of the API from its own schema (schemathesis), with the
sandbox as Powens: no answer is a 5xx, and every answer fits the schema (status,
content type, body). Each operation gets a fixed number of generated requests from a
fixed seed, so a run takes seconds and finds the same things every time."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from powens_django.models import Connection

from ..pages.conftest import sandbox  # noqa: F401 (fixture)
from .conftest import API

#: Generated requests per operation (20 operations).
EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

pytestmark = pytest.mark.slow


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create_user("fuzzer", password="fuzz-pass-1")


@pytest.fixture
def auth(person) -> dict[str, str]:
    token = base64.b64encode(b"fuzzer:fuzz-pass-1").decode()
    return {"Authorization": f"Basic {token}"}


def test_no_generated_request_gets_a_server_error_or_breaks_the_schema(sandbox, auth, settings):  # noqa: F811
    app = WSGIHandler()
    # The in-process requests come from http://localhost: its callback is registered.
    sandbox_settings = settings.POWENS_SANDBOX
    settings.POWENS_SANDBOX = {
        **sandbox_settings,
        "REDIRECT_URIS": [*sandbox_settings["REDIRECT_URIS"], "http://localhost/banks/callback/"],
    }
    # One linked bank, so that some requests reach a connection.
    from django.test import Client

    linked = Client().post(
        API + "connections/",
        {
            "connector": _connector("Connecteur de test"),
            "values": {"website": "par", "login": "alice", "password": "secret"},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=auth["Authorization"],
    )
    assert linked.status_code == 201, linked.content
    schema = schemathesis.openapi.from_wsgi(API + "schema/?format=json", app)
    real = Connection.objects.get()
    real_ids = {"powens_id": real.powens_id, "source_id": real.sources.get().powens_id}

    @schema.hook
    def map_path_parameters(context, path_parameters):
        # About half the requests name the person's real connection (and its source),
        # so the operations run against it, not only into 404s; never a deletion,
        # which would leave the others nothing to reach.
        if not path_parameters:
            return path_parameters
        if context.operation.method.upper() == "DELETE":
            if path_parameters.get("powens_id") == real.powens_id:
                return {**path_parameters, "powens_id": real.powens_id + 1000}
            return path_parameters
        if len(str(path_parameters.get("powens_id", ""))) % 2 == 0:
            return {
                **path_parameters,
                **{k: v for k, v in real_ids.items() if k in path_parameters},
            }
        return path_parameters

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20
    failures = []

    banks = {
        "/connections/": _connector("Connecteur de test"),
        "/webauth/": _connector("Banque Sandbox PSD2"),
    }

    @schema.hook
    def map_body(context, body):
        # About half the links and credentials name a real bank, so the form rules and
        # the calls to Powens run on generated values, not only the 404 of a bad uuid.
        target = next((b for p, b in banks.items() if context.operation.path.endswith(p)), None)
        if target and isinstance(body, dict) and len(str(body)) % 2 == 0:
            return {**body, "connector": target}
        return body

    statuses: list[int] = []
    for operation in operations:
        fuzz(operation, auth, failures, statuses)()

    assert failures == []
    # Not only refusals: many requests went through, on the real connection too.
    assert Connection.objects.filter(pk=real.pk).exists()
    assert sum(200 <= status < 300 for status in statuses) > 50


def fuzz(operation, auth: dict[str, str], failures: list[str], statuses: list[int]):
    """The bounded, seeded Hypothesis test of one operation; failures are collected."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(headers=auth)
        statuses.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as failure:  # collected, reported at the end
            failures.append(f"{operation.label}: {failure}")

    return run


def _connector(name: str) -> str:
    from powens_django.models import Connector

    return Connector.objects.get(name=name).uuid
