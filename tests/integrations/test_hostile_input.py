"""Hostile requests to FastAPI and Flask cadence routes: always a small problem+json, never a 500.

Each case is sent to the same kind of route in both frameworks; the answer must be the
documented status with an ``application/problem+json`` body of bounded size that parses as
strict JSON (no NaN), whatever the request held.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from pydantic import BaseModel, field_validator

from cadence import Cadence, Score
from cadence.integrations.fastapi import CadenceRouter, install_problem_handlers
from cadence.integrations.flask import CadenceBlueprint

MAX_PROBLEM_BYTES = 4096
JSON = {"content-type": "application/json"}


@dataclass
class Line(Score):
    name: str = ""
    quantity: int = 0
    price: float = 0.0


def misbehave(value: str) -> str:
    """A validator that rejects "bad" (ValueError) and crashes on "crash" (RuntimeError)."""
    if value == "bad":
        raise ValueError("names may not be 'bad'")
    if value == "crash":
        raise RuntimeError("validator crashed")
    return value


class Item(BaseModel):
    """A body model whose validator misbehaves on request."""

    name: str
    quantity: int
    _check = field_validator("name")(misbehave)


class Ticket(BaseModel):
    """A pydantic score built by the factory, with a validator that raises."""

    name: str = ""
    _check = field_validator("name")(misbehave)


def _cadences() -> tuple[Cadence[Line], Cadence[Ticket]]:
    lines = Cadence("lines", Line()).then("count", lambda s: None)
    tickets = Cadence("tickets", Ticket()).then("issue", lambda s: None)
    return lines, tickets


def fastapi_client() -> Any:
    lines, tickets = _cadences()
    router = CadenceRouter()

    @router.cadence("/plain", lines)
    async def plain(quantity: int = Body(), name: str = Body(""), price: float = Body(0.0)) -> Line:
        return Line(name=name, quantity=quantity, price=price)

    @router.cadence("/query", lines)
    async def query(quantity: int) -> Line:
        return Line(quantity=quantity)

    @router.cadence("/model", lines)
    async def model(item: Item) -> Line:
        return Line(name=item.name, quantity=item.quantity)

    @router.cadence("/ticket", tickets)
    async def ticket(name: str) -> Ticket:
        return Ticket(name=name)

    app = FastAPI()
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def flask_client() -> Any:
    lines, tickets = _cadences()
    bp = CadenceBlueprint("hostile", __name__)

    @bp.cadence_route("/plain", lines)
    def plain(quantity: int, name: str = "", price: float = 0.0) -> Line:
        return Line(name=name, quantity=quantity, price=price)

    @bp.cadence_route("/query", lines)
    def query(quantity: int) -> Line:
        return Line(quantity=quantity)

    @bp.cadence_route("/model", lines)
    def model(item: Item) -> Line:
        return Line(name=item.name, quantity=item.quantity)

    @bp.cadence_route("/ticket", tickets)
    def ticket(name: str) -> Ticket:
        return Ticket(name=name)

    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


CLIENTS = {"fastapi": fastapi_client, "flask": flask_client}


def send(client: Any, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    if body is None:
        response = client.post(path)
    elif isinstance(client, TestClient):
        response = client.post(path, content=body, headers=JSON)
    else:
        response = client.post(path, data=body, headers=JSON)
    data = response.content if isinstance(client, TestClient) else response.data
    return response.status_code, response.headers["content-type"], data


def problem(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """The response's problem document, after checking it is small, strict JSON."""
    assert content_type == "application/problem+json", (status, content_type, body[:200])
    assert len(body) <= MAX_PROBLEM_BYTES, f"{len(body)} bytes"

    def no_constants(token: str) -> None:
        raise AssertionError(f"{token} in a problem document")

    doc: dict[str, Any] = json.loads(body, parse_constant=no_constants)
    assert doc["status"] == status
    return doc


DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = json.dumps({"quantity": "x" * 10_000_000}).encode()

CASES: list[tuple[str, str, bytes | None, int, str]] = [
    ("NaN for an int", "/plain", b'{"quantity": NaN}', 422, "quantity"),
    ("Infinity for an int", "/plain", b'{"quantity": Infinity}', 422, "quantity"),
    ("a lone surrogate", "/plain", b'{"quantity": 1, "name": "\\ud800"}', 422, "name"),
    ("a 10 MB field", "/plain", HUGE, 422, "quantity"),
    ("a list for an int", "/plain", b'{"quantity": [1, 2]}', 422, "quantity"),
    ("an object for a str", "/plain", b'{"quantity": 1, "name": {"a": 1}}', 422, "name"),
    ("JSON nested 100,000 deep", "/plain", DEEP, 400, ""),
    ("malformed JSON", "/plain", b'{"quantity": ', 422, ""),
    ("a 5,000-digit query int", "/query?quantity=" + "9" * 5000, None, 422, "quantity"),
    (
        "a body validator raising ValueError",
        "/model",
        b'{"name": "bad", "quantity": 1}',
        422,
        "name",
    ),
    (
        "a body validator raising RuntimeError",
        "/model",
        b'{"name": "crash", "quantity": 1}',
        500,
        "",
    ),
    (
        "a 10 MB field of a body model",
        "/model",
        b'{"name": "a", "quantity": "' + b"9x" * 5_000_000 + b'"}',
        422,
        "quantity",
    ),
    ("NaN in a body model", "/model", b'{"name": "a", "quantity": NaN}', 422, "quantity"),
    ("a pydantic score's validator raising ValueError", "/ticket?name=bad", None, 422, "name"),
    ("a pydantic score's validator raising RuntimeError", "/ticket?name=crash", None, 500, ""),
]


@pytest.mark.parametrize("framework", sorted(CLIENTS))
@pytest.mark.parametrize(
    ("case", "path", "body", "status", "field"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_requests_get_a_small_problem_document(
    framework: str, case: str, path: str, body: bytes | None, status: int, field: str
) -> None:
    """Each hostile request gets its status as a bounded, strict problem+json naming the field."""
    doc = problem(*send(CLIENTS[framework](), path, body))
    assert doc["status"] == status
    if field:
        assert any(field in [str(p) for p in e["loc"]] for e in doc["errors"]), doc
    assert "Traceback" not in json.dumps(doc) and "validator crashed" not in json.dumps(doc)


def test_a_thousand_bad_items_list_twenty_and_count_the_rest() -> None:
    """A FastAPI body with 1,000 invalid items gets the first 20 errors and the number left out."""
    lines, _ = _cadences()
    router = CadenceRouter()

    @router.cadence("/many", lines)
    async def many(counts: list[int]) -> Line:
        return Line()

    app = FastAPI()
    app.include_router(router)
    body = json.dumps([f"x{i}" for i in range(1000)]).encode()
    doc = problem(*send(TestClient(app), "/many", body))
    assert len(doc["errors"]) == 20 and doc["errors_omitted"] == 980


@pytest.mark.parametrize("value", ["true", "1.5", "null", '"3x"', "[]"])
def test_the_flask_binder_never_passes_a_json_value_of_the_wrong_type(value: str) -> None:
    """JSON values are checked, not passed through: true, 1.5 or null for an int is a 422."""
    doc = problem(*send(flask_client(), "/plain", f'{{"quantity": {value}}}'.encode()))
    assert doc["errors"][0]["loc"] == ["body", "quantity"]


def test_the_flask_binder_converts_text_and_accepts_fitting_json() -> None:
    """A JSON string of digits converts to int; ints, floats and strings that fit pass."""
    for body, expected in (
        (b'{"quantity": "3"}', {"quantity": 3}),
        (b'{"quantity": 2, "price": 1, "name": "ann"}', {"quantity": 2, "price": 1, "name": "ann"}),
    ):
        status, _, data = send(flask_client(), "/plain", body)
        assert status == 200 and expected.items() <= json.loads(data).items()


def test_install_problem_handlers_covers_request_validation() -> None:
    """Hand-written FastAPI endpoints get the same bounded 422 after install_problem_handlers."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/hand")
    async def hand(item: Item) -> dict[str, str]:
        return {"name": item.name}

    client = TestClient(app)
    status, kind, data = send(client, "/hand", b'{"name": "a", "quantity": NaN}')
    assert problem(status, kind, data)["errors"][0]["loc"] == ["body", "quantity"]


def test_app_http_exceptions_keep_their_own_status_and_body() -> None:
    """A dependency's deliberate HTTPException is not rewritten by the cadence route class."""
    from fastapi import Depends, HTTPException

    def authenticate() -> None:
        raise HTTPException(
            status_code=401, detail="no token", headers={"WWW-Authenticate": "Bearer"}
        )

    lines, _ = _cadences()
    router = CadenceRouter()

    @router.cadence("/secret", lines, dependencies=[Depends(authenticate)])
    async def secret() -> Line:
        return Line()

    app = FastAPI()
    app.include_router(router)
    response = TestClient(app).post("/secret")
    assert response.status_code == 401 and response.json() == {"detail": "no token"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_note_that_produces_a_lone_surrogate_fails_naming_the_path() -> None:
    """Output that cannot be UTF-8 is a 500 problem naming where the bad text sits."""
    broken = Cadence("broken", Line()).then("mangle", lambda s: setattr(s, "name", "\ud800"))
    router = CadenceRouter(expose_errors=True)

    @router.cadence("/broken", broken)
    async def make() -> Line:
        return Line()

    app = FastAPI()
    app.include_router(router)
    status, kind, data = send(TestClient(app), "/broken")
    doc = problem(status, kind, data)
    assert doc["code"] == "RESPONSE_ENCODING_FAILED" and "$.name" in doc["detail"]
