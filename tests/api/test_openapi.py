"""The OpenAPI document: contract paths, metadata, response models, error bodies, examples."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import chordshare

CONTRACT = {
    ("get", "/api/v1/node"),
    ("get", "/api/v1/peers"),
    ("get", "/api/v1/lookup/{key}"),
    ("get", "/api/v1/lookup"),
    ("get", "/api/v1/ring"),
    ("post", "/api/v1/leave"),
    ("get", "/healthz"),
    ("get", "/metrics"),
}


@pytest.fixture
async def spec(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_contract_paths_are_documented(spec: dict[str, Any]) -> None:
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert documented >= CONTRACT


def test_metadata(spec: dict[str, Any]) -> None:
    assert spec["info"]["title"] == "chordshare node"
    assert spec["info"]["version"] == chordshare.__version__
    assert "Discovery" in spec["info"]["description"]
    assert {t["name"] for t in spec["tags"]} == {"ring", "discovery", "operations"}
    for method, path in CONTRACT:
        assert spec["paths"][path][method]["tags"], (method, path)


def test_response_models_and_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for method, path, model in [
        ("get", "/api/v1/node", "NodeView"),
        ("get", "/api/v1/peers", "PeerList"),
        ("get", "/api/v1/lookup/{key}", "LookupAnswer"),
        ("get", "/api/v1/lookup", "LookupAnswer"),
        ("get", "/api/v1/ring", "RingWalk"),
        ("get", "/healthz", "Health"),
    ]:
        ok = spec["paths"][path][method]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert schemas[model]["examples"], model
    leave = spec["paths"]["/api/v1/leave"]["post"]["responses"]
    assert leave["202"]["content"]["application/json"]["schema"]["$ref"].endswith("LeaveAccepted")
    assert leave["501"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert set(schemas["NodeView"]["required"]) >= {
        "id",
        "grpc_address",
        "http_url",
        "predecessor",
        "successors",
        "fingers",
    }


def test_errors_are_documented_as_the_error_body(spec: dict[str, Any]) -> None:
    lookup = spec["paths"]["/api/v1/lookup"]["get"]["responses"]
    for status in ("400", "422", "503", "504"):
        assert lookup[status]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_discovery_is_documented_on_the_node_route(spec: dict[str, Any]) -> None:
    node = spec["paths"]["/api/v1/node"]["get"]
    assert "discovery" in node["tags"]
    assert "grpc_address" in node["description"]


async def test_docs_page_is_served(http: httpx.AsyncClient) -> None:
    response = await http.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
