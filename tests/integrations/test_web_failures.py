"""Web integrations when something around the run fails: the store, a handler, the app's own errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from flask import Flask

from cadence import Cadence, CadenceDefinitionError, Score
from cadence.integrations.fastapi import CadenceRouter, InMemoryIdempotencyStore, Problem
from cadence.integrations.flask import CadenceBlueprint, CadenceExtension
from tests.integrations._models import parse_sse
from tests.integrations.test_live import serve


@dataclass
class Charge(Score):
    """A payment request."""

    order_id: str
    status: str = "pending"


class Busy(Exception):
    """The payment provider asks to come back later."""


class NotAuthenticated(Exception):
    """An auth check failed; the app answers it with its own handler."""


def flaky_payments() -> tuple[Cadence[Charge], list[str]]:
    """A cadence whose first charge fails with ``Busy`` and whose later ones succeed."""
    calls: list[str] = []

    async def charge(score: Charge) -> None:
        calls.append(score.order_id)
        if len(calls) == 1:
            raise Busy("provider busy")
        score.status = "paid"

    return Cadence("payments", Charge("template")).then("charge", charge), calls


class BrokenPut(InMemoryIdempotencyStore):
    """An idempotency store that reads fine but cannot write (a full or read-only Redis)."""

    async def put(self, key: str, response: Any) -> None:
        raise ConnectionError("store at 10.0.0.5:6379 refused the write")


class BrokenGet(InMemoryIdempotencyStore):
    """An idempotency store that is down."""

    async def get(self, key: str) -> Any:
        raise ConnectionError("store at 10.0.0.5:6379 is down")


@pytest.mark.parametrize("status", [409, 429])
def test_a_retry_later_answer_is_not_replayed_for_its_key(status: int) -> None:
    """A 409/429 (mapped with errors=) is not stored: the retry with the same key runs again."""
    flow, calls = flaky_payments()
    router = CadenceRouter(idempotency_store=InMemoryIdempotencyStore(), errors={Busy: status})

    @router.cadence("/pay/{order_id}", flow)
    async def pay(order_id: str) -> Charge:
        return Charge(order_id)

    app = FastAPI()
    app.include_router(router)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        first = client.post("/pay/A-1", headers={"Idempotency-Key": "k1"})
        retry = client.post("/pay/A-1", headers={"Idempotency-Key": "k1"})
        later = client.post("/pay/A-1", headers={"Idempotency-Key": "k1"})
    assert first.status_code == status
    assert retry.status_code == 200 and retry.json()["status"] == "paid"
    assert "idempotent-replayed" not in retry.headers
    assert later.headers["idempotent-replayed"] == "true"
    assert calls == ["A-1", "A-1"]


def test_a_store_that_cannot_keep_the_response_still_answers_with_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed put is logged; the client gets the finished run, not a 500 inviting a re-charge."""
    ran: list[str] = []

    async def charge(score: Charge) -> None:
        ran.append(score.order_id)
        score.status = "paid"

    router = CadenceRouter(idempotency_store=BrokenPut())

    @router.cadence("/pay/{order_id}", Cadence("payments", Charge("t")).then("charge", charge))
    async def pay(order_id: str) -> Charge:
        return Charge(order_id)

    app = FastAPI()
    app.include_router(router)
    with (
        caplog.at_level(logging.WARNING, "cadence.integrations"),
        serve(app) as base,
        httpx.Client(base_url=base) as client,
    ):
        response = client.post("/pay/B-2", headers={"Idempotency-Key": "k2"})
    assert response.status_code == 200
    assert response.json() == {"order_id": "B-2", "status": "paid"}
    assert ran == ["B-2"]
    assert "could not store the response for Idempotency-Key" in caplog.text


def test_flask_answers_an_idempotency_store_outage_with_a_problem_document() -> None:
    """Flask: a store that is down is a 500 problem+json without its text, never an HTML page."""
    ran: list[str] = []

    async def charge(score: Charge) -> None:
        ran.append(score.order_id)

    app = Flask(__name__)
    bp = CadenceBlueprint("pay", __name__, idempotency_store=BrokenGet())

    @bp.cadence_route("/pay/<order_id>", Cadence("payments", Charge("t")).then("charge", charge))
    def pay(order_id: str) -> Charge:
        return Charge(order_id)

    app.register_blueprint(bp)
    response = app.test_client().post("/pay/C-3", headers={"Idempotency-Key": "k3"})
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "INTERNAL_ERROR"
    assert "10.0.0.5" not in response.get_data(as_text=True)
    assert ran == []  # without the store there is no deduplication, so nothing is charged


def test_the_apps_exception_handler_answers_a_dependency_or_factory_error() -> None:
    """An exception the app has a handler for reaches it, as from any FastAPI endpoint."""

    def require_user(request: Request) -> None:
        if "authorization" not in request.headers:
            raise NotAuthenticated

    router = CadenceRouter()
    flow = Cadence("payments", Charge("t")).then("noop", lambda s: None)

    @router.cadence("/guarded/{order_id}", flow, dependencies=[Depends(require_user)])
    async def guarded(order_id: str) -> Charge:
        return Charge(order_id)

    @router.cadence("/factory/{order_id}", flow)
    async def factory(order_id: str) -> Charge:
        raise NotAuthenticated

    @router.cadence("/crash/{order_id}", flow, dependencies=[Depends(require_user)])
    async def crash(order_id: str) -> Charge:
        raise KeyError("internal")

    app = FastAPI()
    app.include_router(router)

    @app.exception_handler(NotAuthenticated)
    async def login_first(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "log in first"}, status_code=401)

    with serve(app) as base, httpx.Client(base_url=base) as client:
        by_dependency = client.post("/guarded/D-4")
        by_factory = client.post("/factory/D-4")
        authorised = client.post("/guarded/D-4", headers={"Authorization": "x"})
        unhandled = client.post("/crash/D-4", headers={"Authorization": "x"})
    assert (by_dependency.status_code, by_dependency.json()) == (401, {"error": "log in first"})
    assert (by_factory.status_code, by_factory.json()) == (401, {"error": "log in first"})
    assert authorised.status_code == 200
    assert unhandled.status_code == 500
    assert unhandled.headers["content-type"] == "application/problem+json"


def test_a_dependency_failure_problem_names_the_cadence_not_the_function() -> None:
    """A failure before the run (a crashing dependency) is a problem naming the route's cadence."""

    def broken() -> None:
        raise RuntimeError("db pool exhausted at 10.0.0.7")

    router = CadenceRouter()

    @router.cadence(
        "/pay/{order_id}",
        Cadence("payments", Charge("t")).then("noop", lambda s: None),
        dependencies=[Depends(broken)],
    )
    async def pay_endpoint(order_id: str) -> Charge:
        return Charge(order_id)

    app = FastAPI()
    app.include_router(router)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        response = client.post("/pay/E-5")
    assert response.status_code == 500
    assert response.json()["cadence"] == "payments"
    assert "10.0.0.7" not in response.text


def test_flask_errorhandler_answers_a_factory_error() -> None:
    """Flask: an exception the app has an ``errorhandler`` for reaches it; others stay 500."""
    flow = Cadence("payments", Charge("t")).then("noop", lambda s: None)
    app = Flask(__name__)
    CadenceExtension(app)
    bp = CadenceBlueprint("pay", __name__)

    @bp.cadence_route("/guarded/<order_id>", flow)
    def guarded(order_id: str) -> Charge:
        raise NotAuthenticated

    @bp.cadence_route("/crash/<order_id>", flow)
    def crash(order_id: str) -> Charge:
        raise KeyError("internal")

    app.register_blueprint(bp)

    @app.errorhandler(NotAuthenticated)
    def login_first(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "log in first"}, 401

    client = app.test_client()
    handled = client.post("/guarded/F-6")
    unhandled = client.post("/crash/F-6")
    assert (handled.status_code, handled.get_json()) == (401, {"error": "log in first"})
    assert (unhandled.status_code, unhandled.mimetype) == (500, "application/problem+json")


def test_a_stream_ends_with_an_error_event_even_when_the_error_handler_fails() -> None:
    """An errors= handler that raises mid-stream still ends the stream with a generic error."""

    async def boom(score: Charge) -> None:
        raise KeyError("secret-internal")

    def buggy(error: BaseException, problem: Problem) -> Problem:
        raise RuntimeError("handler bug")

    router = CadenceRouter(errors={KeyError: buggy}, ping_interval=None)

    @router.cadence(
        "/pay/{order_id}", Cadence("payments", Charge("t")).then("boom", boom), stream=True
    )
    async def pay(order_id: str) -> Charge:
        return Charge(order_id)

    app = FastAPI()
    app.include_router(router)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        response = client.post("/pay/G-7")
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["run_started", "note_started", "note_failed", "error"]
    assert events[-1][1]["code"] == "INTERNAL_ERROR"
    assert events[-1][1]["cadence"] == "payments"
    assert "secret-internal" not in response.text


@pytest.mark.parametrize("interval", [0, -1.0, float("nan"), float("inf"), "15"])
def test_a_ping_interval_that_is_not_a_positive_number_is_refused(interval: Any) -> None:
    """ping_interval=0 (a keep-alive busy loop) and friends fail when the router is made."""
    with pytest.raises(CadenceDefinitionError, match="ping_interval"):
        CadenceRouter(ping_interval=interval)


def test_the_memory_idempotency_store_refuses_a_nan_ttl() -> None:
    """ttl=NaN would keep every response forever; it is refused, naming the value."""
    with pytest.raises(ValueError, match="ttl=nan"):
        InMemoryIdempotencyStore(ttl=float("nan"))
