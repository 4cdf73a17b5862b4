"""FastAPI integration through TestClient and an in-process ASGI client."""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from cadence import Cadence, CadenceDefinitionError, ParallelNoteError, Score
from cadence.integrations.fastapi import (
    CadenceDependency,
    CadenceRouter,
    CadenceRun,
    Problem,
    cadence_lifespan,
    get_resource,
    install_problem_handlers,
)
from tests.integrations._models import (
    OrderScore,
    PaymentDeclined,
    calculate_total,
    checkout,
    fetch_items,
    process_payment,
)


def _app(router: CadenceRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


def _seed_app() -> tuple[FastAPI, Cadence[OrderScore]]:
    checkout_cadence = checkout()
    app = FastAPI()
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout_cadence)
    async def create_order(order_id: str):  # type: ignore[no-untyped-def]
        return OrderScore(order_id=order_id)

    app.include_router(router)
    return app, checkout_cadence


def test_seed_snippet_runs_as_written() -> None:
    """The seed's CadenceRouter snippet serves the final score as JSON."""
    app, _ = _seed_app()
    response = TestClient(app).post("/orders/A-1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["order_id"] == "A-1"
    assert body["status"] == "paid"
    assert body["total"] == 3.5
    assert body["trail"] == ["fetch", "total", "pay"]


async def test_fifty_concurrent_requests_are_isolated() -> None:
    """50 overlapping runs each see only their own score; the template is untouched."""
    in_flight = 0
    all_in = asyncio.Event()

    async def wait_for_everyone(score: OrderScore) -> None:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 50:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 10)
        score.trail.append(score.order_id)

    template = OrderScore(order_id="TEMPLATE")
    cad = (
        Cadence("iso", template)
        .then("fetch_items", fetch_items)
        .then("calculate_total", calculate_total)
        .then("process_payment", process_payment)
        .then("barrier", wait_for_everyone)
    )
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", cad)
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    transport = httpx.ASGITransport(app=_app(router))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        responses = await asyncio.gather(*(client.post(f"/orders/o{i}") for i in range(50)))
    for i, r in enumerate(responses):
        assert r.status_code == 200
        body = r.json()
        assert body["order_id"] == f"o{i}"
        assert body["trail"] == ["fetch", "total", "pay", f"o{i}"]
        assert body["items"][0]["sku"] == f"o{i}-a"
    assert template == OrderScore(order_id="TEMPLATE")


def test_fifty_concurrent_testclient_requests_are_isolated() -> None:
    """50 threads sharing one TestClient overlap inside one loop; each gets its own score."""
    in_flight = 0
    all_in = asyncio.Event()

    async def wait_for_everyone(score: OrderScore) -> None:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 50:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 10)
        score.trail.append(score.order_id)

    cad = checkout().then("barrier", wait_for_everyone)
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", cad)
    async def create(order_id: str, qty: int = 1) -> OrderScore:
        return OrderScore(order_id=f"{order_id}x{qty}")

    with TestClient(_app(router)) as client, ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda i: client.post(f"/orders/t{i}?qty={i}"), range(50)))
    for i, r in enumerate(responses):
        assert r.json()["order_id"] == f"t{i}x{i}"
        assert r.json()["trail"] == ["fetch", "total", "pay", f"t{i}x{i}"]
    assert cad.score == OrderScore(order_id="ORD-123")


class Order(BaseModel):
    """A request body."""

    quantity: int = Field(gt=0)
    coupon: str | None = None


def test_bad_input_gets_422_naming_the_field() -> None:
    """FastAPI validates the factory's parameters: a bad body or query field gives 422."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout())
    async def create(order_id: str, order: Order, priority: int = 0) -> OrderScore:
        return OrderScore(order_id=f"{order_id}x{order.quantity}p{priority}")

    client = TestClient(_app(router))
    ok = client.post("/orders/a?priority=2", json={"quantity": 3})
    assert ok.status_code == 200 and ok.json()["order_id"] == "ax3p2"
    bad_body = client.post("/orders/a", json={"quantity": "many"})
    assert bad_body.status_code == 422
    assert bad_body.headers["content-type"] == "application/problem+json"
    assert bad_body.json()["errors"][0]["loc"] == ["body", "quantity"]
    bad_query = client.post("/orders/a?priority=high", json={"quantity": 1})
    assert bad_query.status_code == 422
    assert bad_query.json()["errors"][0]["loc"] == ["query", "priority"]


def test_openapi_sees_the_factory_parameters() -> None:
    """The generated endpoint exposes the user's path, query and body parameters to OpenAPI."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout())
    async def create(order_id: str, order: Order, priority: int = 0) -> OrderScore:
        """Create an order."""
        return OrderScore(order_id=order_id)

    op = _app(router).openapi()["paths"]["/orders/{order_id}"]["post"]
    assert {p["name"] for p in op["parameters"]} == {"order_id", "priority"}
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Order")
    assert op["description"] == "Create an order."
    assert "application/problem+json" in op["responses"]["504"]["content"]


def test_pydantic_score_rejecting_input_is_422_problem() -> None:
    """A pydantic score that rejects the request's values answers 422 problem+json."""

    class Strict(BaseModel):
        order_id: str = Field(min_length=3)
        status: str = "new"

    cad = Cadence("strict", Strict(order_id="abc")).then("noop", lambda s: None)
    router = CadenceRouter()

    @router.cadence("/s/{order_id}", cad)
    async def create(order_id: str) -> Strict:
        return Strict(order_id=order_id)

    client = TestClient(_app(router))
    assert client.post("/s/abcd").json() == {"order_id": "abcd", "status": "new"}
    r = client.post("/s/ab")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["order_id"]


def test_note_failure_is_problem_json_without_internals() -> None:
    """A failing note answers RFC 9457 problem+json naming the note, not the exception text."""
    app, _ = _seed_app()
    r = TestClient(app).post("/orders/declined-1")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "NOTE_ERROR"
    assert body["note"] == "process_payment"
    assert body["cadence"] == "checkout"
    assert body["title"] == "Internal Server Error" and body["status"] == 500
    assert body["type"] == "about:blank"
    assert "hunter2" not in r.text and "Traceback" not in r.text


def test_circuit_open_is_503_with_retry_after() -> None:
    """An open circuit breaker becomes 503 with Retry-After rounded up to whole seconds."""
    app, _ = _seed_app()
    r = TestClient(app).post("/orders/breaker-1")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "13"
    assert r.json()["code"] == "CIRCUIT_OPEN" and r.json()["retry_after"] == 13


def test_timeout_is_504() -> None:
    """A note timeout becomes 504 with code TIMEOUT."""
    app, _ = _seed_app()
    r = TestClient(app).post("/orders/slow-1")
    assert r.status_code == 504
    assert r.json()["code"] == "TIMEOUT" and r.json()["note"] == "process_payment"


def test_user_error_mapping_overrides_defaults() -> None:
    """errors= maps codes to statuses and exception types to custom problems."""

    def declined(error: BaseException, problem: Problem) -> Problem:
        return dataclasses.replace(
            problem,
            status=402,
            type="https://example.com/problems/declined",
            title="Payment declined",
            code="DECLINED",
        )

    router = CadenceRouter(errors={"CIRCUIT_OPEN": 429})

    @router.cadence("/orders/{order_id}", checkout(), errors={PaymentDeclined: declined})
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    client = TestClient(_app(router))
    r = client.post("/orders/declined-2")
    assert (r.status_code, r.json()["code"], r.json()["title"]) == (
        402,
        "DECLINED",
        "Payment declined",
    )
    r = client.post("/orders/breaker-2")
    assert r.status_code == 429 and r.headers["retry-after"] == "13"


def test_parallel_failure_names_group_and_task() -> None:
    """A failing task of a .sync group is reported with its group and index."""

    def ok(score: OrderScore) -> None:
        score.status = "ok"

    async def boom(score: OrderScore) -> None:
        raise ValueError("nope")

    cad = Cadence("par", OrderScore(order_id="x")).sync("enrich", [ok, boom])
    router = CadenceRouter()

    @router.cadence("/p", cad)
    async def create() -> OrderScore:
        return OrderScore(order_id="p")

    body = TestClient(_app(router)).post("/p").json()
    assert body["code"] == ParallelNoteError.default_code
    assert (body["note"], body["group"], body["task_index"]) == ("boom", "enrich", 1)


def test_response_mapper_and_model() -> None:
    """response_mapper shapes the body; response_model validates it; status_code is used."""

    class OrderOut(BaseModel):
        order_id: str
        status: str

    router = CadenceRouter()

    @router.cadence(
        "/orders/{order_id}",
        checkout(),
        response_model=OrderOut,
        status_code=201,
        response_mapper=lambda s: {"order_id": s.order_id, "status": s.status, "extra": 1},
    )
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    app = _app(router)
    r = TestClient(app).post("/orders/m1")
    assert r.status_code == 201
    assert r.json() == {"order_id": "m1", "status": "paid"}
    schema = app.openapi()["paths"]["/orders/{order_id}"]["post"]["responses"]["201"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith("/OrderOut")


def test_sync_factory_and_get_method() -> None:
    """A sync factory works (run in the thread pool) and methods= is honoured."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout(), methods=["GET"])
    def read(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    client = TestClient(_app(router))
    assert client.get("/orders/g1").json()["status"] == "paid"
    assert client.post("/orders/g1").status_code == 405


def test_factory_returning_none_fails_clearly(caplog: pytest.LogCaptureFixture) -> None:
    """A factory that forgets to return the score: a 500 problem, the log says what to return."""
    router = CadenceRouter()

    @router.cadence("/n", checkout())
    async def create() -> None:
        OrderScore(order_id="forgot")

    response = TestClient(_app(router)).post("/n")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "must return the initial score" in caplog.text


def test_definition_mistakes_fail_when_decorating() -> None:
    """A non-cadence or a bad stream option fails at decoration time."""
    router = CadenceRouter()
    with pytest.raises(CadenceDefinitionError, match="expected a Cadence"):
        router.cadence("/x", object())  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="stream must be"):
        router.cadence("/x", checkout(), stream="yes")  # type: ignore[arg-type]


def test_router_reporter_reports_each_step_and_total() -> None:
    """A router reporter sees every top-level step and the total, without touching the cadence."""
    seen: list[str] = []
    cad = checkout()
    router = CadenceRouter(reporter=lambda name, seconds, score: seen.append(name))

    @router.cadence("/orders/{order_id}", cad)
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    TestClient(_app(router)).post("/orders/r1")
    assert seen == ["fetch_items", "calculate_total", "process_payment", "checkout:TOTAL"]
    assert not cad.hooks


def test_reporter_skips_group_tasks_and_child_steps() -> None:
    """With .sync and .child steps the reporter still sees only top-level steps and one total."""
    seen: list[str] = []

    def a(score: OrderScore) -> None:
        score.total += 1

    async def b(score: OrderScore) -> None:
        score.status = "b"

    def merge(parent: OrderScore, child: OrderScore) -> None:
        parent.trail.append(child.status)

    cad = (
        Cadence("outer", OrderScore(order_id="o"))
        .sync("group", [a, b])
        .child("pay", checkout(), merge)
    )
    router = CadenceRouter(reporter=lambda name, seconds, score: seen.append(name))

    @router.cadence("/o", cad)
    async def create() -> OrderScore:
        return OrderScore(order_id="o")

    body = TestClient(_app(router)).post("/o").json()
    assert body["trail"] == ["paid"] and body["total"] == 1
    assert seen == ["group", "pay", "outer:TOTAL"]


def test_dependency_form_with_problem_handlers() -> None:
    """CadenceDependency runs a cadence in a hand-written endpoint; errors become problems."""
    runner = CadenceDependency(checkout())
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/checkout/{order_id}")
    async def do_checkout(
        order_id: str,
        run: CadenceRun[Any] = Depends(runner),  # noqa: B008
    ) -> dict[str, Any]:
        result = await run(OrderScore(order_id=order_id))
        return {"status": result.status}

    client = TestClient(app)
    assert client.post("/checkout/d1").json() == {"status": "paid"}
    r = client.post("/checkout/slow-d")
    assert r.status_code == 504 and r.headers["content-type"] == "application/problem+json"


def test_lifespan_resources_reach_notes_and_close() -> None:
    """cadence_lifespan opens resources once, exposes them to notes, and closes them at shutdown."""
    events: list[str] = []

    class Client:
        async def __aenter__(self) -> Client:
            events.append("open")
            return self

        async def __aexit__(self, *exc: object) -> None:
            events.append("close")

        def greet(self, who: str) -> str:
            return f"hello {who}"

    @dataclasses.dataclass
    class Greeting(Score):
        who: str
        text: str = ""

    async def greet(score: Greeting) -> None:
        score.text = get_resource("client").greet(score.who)

    router = CadenceRouter()

    @router.cadence("/greet/{who}", Cadence("greet", Greeting("x")).then("greet", greet))
    async def create(who: str) -> Greeting:
        return Greeting(who)

    app = FastAPI(lifespan=cadence_lifespan(client=Client, limit=3))
    app.include_router(router)
    with TestClient(app) as client:
        assert client.post("/greet/ann").json()["text"] == "hello ann"
        assert client.post("/greet/bob").json()["text"] == "hello bob"
        assert app.state.limit == 3
        assert events == ["open"]
    assert events == ["open", "close"]


def test_get_resource_outside_a_request_names_the_fix() -> None:
    """get_resource without a lifespan resource says how to provide one."""
    with pytest.raises(LookupError, match=r"cadence_lifespan\(db=...\)"):
        get_resource("db")


def test_an_http_exception_from_the_factory_keeps_its_status() -> None:
    """A factory that raises HTTPException(404) on an unknown order answers 404, not a 500
    "the run failed" (the factory's deliberate answer)."""
    from fastapi import HTTPException

    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout())
    async def create(order_id: str) -> OrderScore:
        if order_id == "missing":
            raise HTTPException(status_code=404, detail="unknown order")
        return OrderScore(order_id=order_id)

    client = TestClient(_app(router))
    response = client.post("/orders/missing")
    assert (response.status_code, response.json()) == (404, {"detail": "unknown order"})
    assert client.post("/orders/o1").json()["status"] == "paid"


def _token(token: str = "1") -> int:
    from fastapi import HTTPException

    try:
        return int(token)
    except ValueError as exc:
        raise HTTPException(400, "token must be numeric", headers={"X-Error": "token"}) from exc


def test_an_http_exception_raised_from_another_keeps_its_body_and_headers() -> None:
    """`raise HTTPException(400, ..., headers=...) from exc` in a dependency or the factory is
    the app's answer: its status, body and headers stay (it is not rewritten as the
    MALFORMED_BODY problem of a body FastAPI could not read, which still is)."""
    from fastapi import HTTPException

    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout())
    async def create(order_id: str, token: int = Depends(_token)) -> OrderScore:
        try:
            return OrderScore(order_id=str(int(order_id)))
        except ValueError as exc:
            raise HTTPException(400, "order id must be numeric", headers={"X-Error": "id"}) from exc

    client = TestClient(_app(router))
    for url, detail, header in (
        ("/orders/abc", "order id must be numeric", "id"),
        ("/orders/1?token=abc", "token must be numeric", "token"),
    ):
        response = client.post(url)
        assert response.status_code == 400, url
        assert response.headers["content-type"] == "application/json", url
        assert (response.json(), response.headers.get("x-error")) == ({"detail": detail}, header)
    assert client.post("/orders/7").json()["status"] == "paid"


def test_a_factory_returning_none_names_the_cadence_in_its_problem() -> None:
    """The problem document's cadence member is the cadence, not the factory function."""
    router = CadenceRouter()

    @router.cadence("/n", checkout())
    async def forgot_return() -> None:
        OrderScore(order_id="forgot")

    response = TestClient(_app(router)).post("/n")
    assert response.status_code == 500
    assert response.json()["cadence"] == "checkout"


def test_a_cadence_with_a_fixed_run_id_is_refused_when_the_route_is_made() -> None:
    """with_checkpoint(store, run_id="order-123") would make every request replay that one
    run and answer with its result; the route refuses it and says what to drop."""
    from cadence.checkpoint import InMemoryCheckpointStore

    fixed = checkout().with_checkpoint(InMemoryCheckpointStore(), run_id="order-123")
    with pytest.raises(CadenceDefinitionError, match=r"fixed run id 'order-123'.*drop run_id="):
        CadenceRouter().cadence("/pay", fixed)
