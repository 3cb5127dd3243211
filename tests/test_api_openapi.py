"""The OpenAPI document and the app agree: every /api/v1 route is documented, every
documented operation exists, and the document is valid OpenAPI 3.1."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from hotline.api.spec import openapi

IGNORED = {"HEAD", "OPTIONS"}


def _operations(app, prefix: str = "") -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every URL rule under `prefix`: <int:id> becomes {id}."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        out |= {(path, m.lower()) for m in rule.methods - IGNORED}
    return out


def _documented(doc) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in doc["paths"].items() for method in ops}


def test_every_api_route_is_documented(app):
    with app.app_context():
        doc = openapi()
    missing = _operations(app, "/api/v1/") - _documented(doc)
    assert not missing, f"routes without api_route (not in the OpenAPI document): {sorted(missing)}"


def test_every_documented_operation_exists(app):
    with app.app_context():
        doc = openapi()
    ghosts = _documented(doc) - _operations(app)
    assert not ghosts, f"documented but not routed: {sorted(ghosts)}"


def test_the_document_is_valid_openapi_3_1(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.is_json
    doc = r.json
    assert doc["openapi"].startswith("3.1")
    try:
        validate(doc)  # picks the 3.1 validator from the "openapi" field
    except OpenAPIValidationError as err:  # pragma: no cover - the message is the point
        pytest.fail(f"invalid OpenAPI document: {err}", pytrace=False)
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationId must be unique"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            if op.get("security"):
                assert "401" in op["responses"], f"{method.upper()} {path}: 401 undocumented"


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves(client):
    doc = client.get("/api/v1/openapi.json").json
    refs = set(_refs(doc))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(doc["components"]["schemas"])


def test_the_docs_page_renders_every_operation(client):
    doc = client.get("/api/v1/openapi.json").json
    r = client.get("/api/v1/docs")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert f"{method.upper()} {path}" in html and op["operationId"] in html
