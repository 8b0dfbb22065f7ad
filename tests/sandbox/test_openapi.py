"""Where Powens' OpenAPI files are looked for, and when their absence is an error."""

from __future__ import annotations

from . import openapi


def test_a_named_directory_is_required_and_reported_when_empty(monkeypatch, tmp_path):
    monkeypatch.setenv("POWENS_OPENAPI_DIR", str(tmp_path))
    assert openapi.openapi_dir() == tmp_path
    assert openapi.required()
    assert openapi.missing() == f"Powens' OpenAPI files (*.yml) not found in {tmp_path}"


def test_a_named_directory_with_the_files_is_used(monkeypatch, tmp_path):
    (tmp_path / "core.yml").write_text("openapi: 3.1.0\n")
    monkeypatch.setenv("POWENS_OPENAPI_DIR", str(tmp_path))
    assert openapi.missing() is None


def test_without_the_variable_the_files_beside_the_repository_are_optional(monkeypatch):
    monkeypatch.delenv("POWENS_OPENAPI_DIR", raising=False)
    assert not openapi.required()
    assert openapi.openapi_dir() == openapi.ROOT.parent / "shared" / "powens-api" / "openapi"
