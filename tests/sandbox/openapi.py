"""Validate sandbox answers against Powens' own OpenAPI files.

The files are read from ``$POWENS_OPENAPI_DIR`` or from ``shared/powens-api/openapi``
beside the repository. Where the variable is set (CI sets it) the files are required:
the contract tests fail without them instead of skipping.

They mix OpenAPI 3.0 and 3.1 idioms, so they are normalised to JSON Schema 2020-12
before use:

- ``nullable: true`` and YAML's ``type: null`` become a ``"null"`` type;
- an ``enum`` on a type that admits null also admits null (``ConnectionState``'s
  description: "The null value indicates a successful sync");
- ``oneOf`` becomes ``anyOf``: ``oneOf: [ConnectionState, null]`` would otherwise
  reject null, which both branches accept;
- where the reference pages (newer, see NOTES.md) disagree, they win: an
  ``AuthMechanism`` may be null (``transfer_mechanism``, a source's
  ``auth_mechanism``), and the error code list is open (NOTES.md lists
  ``invalidValue``, ``missingParameter``... that the enum lacks).
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

BASE = "https://openapi.sandbox.invalid/"
ROOT = Path(__file__).resolve().parents[2]


def openapi_dir() -> Path:
    """Where Powens' OpenAPI files are."""
    configured = os.environ.get("POWENS_OPENAPI_DIR")
    if configured:
        return Path(configured)
    return ROOT.parent / "shared" / "powens-api" / "openapi"


def required() -> bool:
    """Whether the files were named (``$POWENS_OPENAPI_DIR``), so must be there."""
    return bool(os.environ.get("POWENS_OPENAPI_DIR"))


def missing() -> str | None:
    """Why the files cannot be used, or None when they can."""
    directory = openapi_dir()
    if not any(directory.glob("*.yml")):
        return f"Powens' OpenAPI files (*.yml) not found in {directory}"
    return None


def _types(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _normalise(node: Any) -> Any:
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _normalise(value) for key, value in node.items()}
    if "type" in node:
        types = ["null" if t is None else t for t in _types(node["type"])]
        node["type"] = types if len(types) > 1 else types[0]
    nullable = node.pop("nullable", False)
    if nullable:
        if "type" in node:
            types = _types(node["type"])
            if "null" not in types:
                node["type"] = [*types, "null"]
        else:
            inner = {k: v for k, v in node.items() if k not in ("description", "deprecated")}
            node = {"anyOf": [inner, {"type": "null"}]}
    if "enum" in node and "null" in _types(node.get("type")) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    return node


def _override(documents: dict[str, dict]) -> None:
    connectors = documents["connectors.yml"]["components"]["schemas"]
    connectors["AuthMechanism"]["type"] = ["string", "null"]
    connectors["AuthMechanism"]["enum"] = [*connectors["AuthMechanism"]["enum"], None]
    core = documents["core.yml"]["components"]["schemas"]
    core["ServiceErrorCode"].pop("enum")


@cache
def registry() -> Registry:
    """A registry holding every normalised OpenAPI file under ``BASE``."""
    documents = {}
    for path in sorted(openapi_dir().glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            documents[path.name] = _normalise(yaml.safe_load(handle))
    _override(documents)
    return Registry().with_resources(
        (BASE + name, DRAFT202012.create_resource(doc)) for name, doc in documents.items()
    )


def validator(document: str, schema: str) -> Draft202012Validator:
    """A validator for ``components/schemas/{schema}`` of ``document`` (e.g.
    ``connections.yml``, ``Connection``)."""
    ref = {"$ref": f"{BASE}{document}#/components/schemas/{schema}"}
    return Draft202012Validator(copy.deepcopy(ref), registry=registry())


def validate(document: str, schema: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` (the first error) unless ``instance``
    follows the schema."""
    errors = sorted(validator(document, schema).iter_errors(instance), key=lambda e: e.path)
    if errors:
        raise errors[0]
