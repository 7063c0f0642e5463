"""The exception tree -> HTTP status mapping, and the JSON error body on every error path."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from chordshare import errors
from chordshare.api.app import create_app
from chordshare.api.errors import status_for
from chordshare.node.ring.chord import ChordNode
from tests.api.conftest import BASE_URL

EXPECTED = {
    errors.ChordshareError: 500,
    errors.ConfigError: 500,
    errors.InvalidInput: 400,
    errors.InvalidName: 400,
    errors.NotFound: 404,
    errors.NotPermitted: 403,
    errors.Conflict: 409,
    errors.PeerError: 503,
    errors.PeerUnavailable: 503,
    errors.PeerTimeout: 504,
    errors.PeerProtocolError: 503,
    errors.LookupFailed: 503,
    errors.JoinFailed: 503,
    errors.TransferError: 502,
    errors.IntegrityError: 502,
    errors.LimitExceeded: 507,  # the upload routes answer it with 413 themselves
    errors.StorageError: 500,
    errors.NodeFailed: 500,
    errors.PlotUnavailable: 500,
    errors.CodegenError: 500,
}


def test_every_class_of_the_tree_has_a_status() -> None:
    tree = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ChordshareError)
    }
    assert tree == set(EXPECTED), "a new exception class needs a status here and in errors.py"
    for cls, status in EXPECTED.items():
        assert status_for(cls("x")) == status, cls


def app_raising(node: ChordNode) -> FastAPI:
    app = create_app(node)

    async def boom(name: str) -> None:
        if name == "bug":
            raise RuntimeError("secret internals")
        raise getattr(errors, name)(f"{name} happened")

    app.add_api_route("/boom/{name}", boom)
    return app


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
async def test_handler_answers_status_and_json_body(
    node: ChordNode, cls: type[errors.ChordshareError]
) -> None:
    transport = httpx.ASGITransport(app=app_raising(node))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get(f"/boom/{cls.__name__}")
    assert response.status_code == EXPECTED[cls]
    assert response.json() == {"detail": f"{cls.__name__} happened", "error": cls.__name__}


async def test_a_bug_is_a_json_500_without_a_traceback(node: ChordNode) -> None:
    transport = httpx.ASGITransport(app=app_raising(node), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get("/boom/bug")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; see the node's log", "error": None}
    assert "secret" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("GET", "/api/v1", 404),
        ("GET", "/api/v2/node", 404),
        ("DELETE", "/api/v1/node", 405),
        ("POST", "/api/v1/lookup/x", 405),
        ("GET", "/api/v1/ring?limit=", 422),
    ],
)
async def test_unknown_routes_and_methods_are_4xx_with_a_detail(
    http: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await http.request(method, path)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)
