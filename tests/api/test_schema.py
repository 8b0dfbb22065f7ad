"""The OpenAPI schema: served by the API, committed as docs/openapi.yaml and kept up to
date by this test (``POWENS_UPDATE_SCHEMA=1 pytest tests/api/test_schema.py`` rewrites
the file after a change to the API)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from django.test import Client

from .conftest import API

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture
def served(db) -> str:
    response = Client().get(API + "schema/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_committed_schema_is_the_one_served(served):
    if os.environ.get("POWENS_UPDATE_SCHEMA"):
        COMMITTED.write_text(served, encoding="utf-8")

    assert COMMITTED.read_text(encoding="utf-8") == served, (
        "docs/openapi.yaml is out of date: run POWENS_UPDATE_SCHEMA=1 pytest "
        "tests/api/test_schema.py and commit it"
    )


def test_the_schema_describes_every_endpoint_under_its_mount(served):
    schema = yaml.safe_load(served)

    assert schema["openapi"].startswith("3.")
    assert "/api/banks/connectors/" in schema["paths"]
    assert "/api/banks/connections/{powens_id}/fields/" in schema["paths"]
    assert "/api/banks/schema/" not in schema["paths"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == 20
    assert all(op["operationId"] and op.get("summary") for op in operations)
    # Refusals are documented with the one error shape.
    assert all(
        "$ref" in op["responses"]["403"]["content"]["application/json"]["schema"]
        for op in operations
    )


def test_the_schema_has_examples(served):
    assert served.count("examples:") >= 10


def test_the_schema_is_served_as_json_too(db):
    response = Client().get(API + "schema/", {"format": "json"})

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "powens-django REST API"


def test_the_schema_follows_the_mount_point(db, settings):
    from django.urls import include, path

    import tests.urls

    module = type(tests.urls)("mounted_elsewhere")
    module.urlpatterns = [path("v2/bank/", include("powens_django.api.urls"))]
    import sys

    sys.modules["mounted_elsewhere"] = module
    settings.ROOT_URLCONF = "mounted_elsewhere"
    try:
        schema = yaml.safe_load(Client().get("/v2/bank/schema/").content)
    finally:
        del sys.modules["mounted_elsewhere"]

    assert "/v2/bank/connectors/" in schema["paths"]
