"""Flask integration through Flask's test client."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flask
import pytest
from flask import Flask
from pydantic import BaseModel, Field

from cadence import Cadence, CadenceDefinitionError, Score
from cadence.integrations.flask import (
    CadenceBlueprint,
    CadenceExtension,
    InMemoryIdempotencyStore,
    Problem,
    run_async,
)
from tests.integrations._models import (
    OrderScore,
    PaymentDeclined,
    calculate_total,
    checkout,
    fetch_items,
    process_payment,
)


def _seed_app() -> tuple[Flask, Cadence[OrderScore]]:
    checkout_cadence = checkout()
    app = Flask(__name__)
    bp = CadenceBlueprint("orders", __name__)

    @bp.cadence_route("/orders/<order_id>", checkout_cadence)
    def create_order(order_id):  # type: ignore[no-untyped-def]
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)
    return app, checkout_cadence


def test_seed_snippet_runs_as_written() -> None:
    """The seed's CadenceBlueprint snippet serves the final score as JSON."""
    app, cad = _seed_app()
    r = app.test_client().post("/orders/F-1")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert (body["order_id"], body["status"], body["total"]) == ("F-1", "paid", 3.5)
    assert cad.score == OrderScore(order_id="ORD-123")


def test_fifty_concurrent_requests_are_isolated() -> None:
    """50 overlapping requests (threads) each get their own run and their own score."""
    barrier = threading.Barrier(50, timeout=20)

    def wait_for_everyone(score: OrderScore) -> None:  # sync: runs in a worker thread
        barrier.wait()
        score.trail.append(score.order_id)

    template = OrderScore(order_id="TEMPLATE")
    cad = (
        Cadence("iso", template)
        .then("fetch_items", fetch_items)
        .then("calculate_total", calculate_total)
        .then("process_payment", process_payment)
        .then("barrier", wait_for_everyone)
    )
    app = Flask(__name__)
    bp = CadenceBlueprint("iso", __name__)

    @bp.cadence_route("/orders/<order_id>", cad)
    def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)

    def one(i: int) -> Any:
        return app.test_client().post(f"/orders/o{i}").get_json()

    with ThreadPoolExecutor(50) as pool:
        bodies = list(pool.map(one, range(50)))
    for i, body in enumerate(bodies):
        assert body["order_id"] == f"o{i}"
        assert body["trail"] == ["fetch", "total", "pay", f"o{i}"]
    assert template == OrderScore(order_id="TEMPLATE")


class Order(BaseModel):
    """A request body."""

    quantity: int = Field(gt=0)


@dataclasses.dataclass
class Address:
    """A dataclass request body."""

    city: str


def _binding_app() -> Flask:
    app = Flask(__name__)
    bp = CadenceBlueprint("bind", __name__)

    @bp.cadence_route("/orders/<order_id>", checkout())
    def create(
        order_id: str, priority: int, coupon: str = "", rush: bool | None = None
    ) -> OrderScore:
        return OrderScore(order_id=f"{order_id}:{priority}:{coupon}:{rush}")

    @bp.cadence_route("/model/<order_id>", checkout())
    def with_model(order_id: str, order: Order) -> OrderScore:
        return OrderScore(order_id=f"{order_id}x{order.quantity}")

    @bp.cadence_route("/address", checkout())
    def with_dataclass(address: Address) -> OrderScore:
        return OrderScore(order_id=address.city)

    app.register_blueprint(bp)
    return app


def test_json_body_query_and_path_fill_the_parameters() -> None:
    """Parameters come from the URL, then the JSON body, then the query string, coerced."""
    client = _binding_app().test_client()
    assert client.post("/orders/a?priority=2").get_json()["order_id"] == "a:2::None"
    r = client.post("/orders/b", json={"priority": 3, "coupon": "X"})
    assert r.get_json()["order_id"] == "b:3:X:None"
    assert client.post("/orders/c?priority=1&rush=true").get_json()["order_id"] == "c:1::True"
    assert client.post("/model/m", json={"quantity": 4}).get_json()["order_id"] == "mx4"
    assert client.post("/address", json={"city": "Oslo"}).get_json()["order_id"] == "Oslo"


def test_bad_input_is_422_problem_naming_the_field() -> None:
    """Missing, mistyped or invalid values answer 422 problem+json listing each field."""
    client = _binding_app().test_client()
    missing = client.post("/orders/a")
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["errors"][0]["loc"] == ["query", "priority"]
    wrong = client.post("/orders/a?priority=high")
    assert wrong.get_json()["errors"][0]["loc"] == ["query", "priority"]
    invalid = client.post("/model/m", json={"quantity": 0})
    assert invalid.status_code == 422
    assert invalid.get_json()["errors"][0]["loc"] == ["body", "quantity"]
    malformed = client.post("/model/m", data="{nope", content_type="application/json")
    assert malformed.get_json()["errors"][0]["type"] == "json_invalid"
    extra = client.post("/address", json={"town": "x"})
    assert extra.status_code == 422 and extra.get_json()["errors"][0]["loc"] == ["body"]


def test_failures_map_to_problems_503_and_504() -> None:
    """Note failure is 500 problem+json; an open circuit is 503 + Retry-After; timeout is 504."""
    app, _ = _seed_app()
    client = app.test_client()
    failed = client.post("/orders/declined-1")
    assert failed.status_code == 500 and failed.mimetype == "application/problem+json"
    assert failed.get_json()["note"] == "process_payment"
    assert b"hunter2" not in failed.data
    breaker = client.post("/orders/breaker-1")
    assert breaker.status_code == 503 and breaker.headers["Retry-After"] == "13"
    assert client.post("/orders/slow-1").status_code == 504


def test_user_mapping_and_response_mapper() -> None:
    """errors= overrides statuses; response_mapper shapes the body; status_code is used."""

    def declined(error: BaseException, problem: Problem) -> Any:
        return flask.jsonify(reason="declined"), 402

    app = Flask(__name__)
    bp = CadenceBlueprint("m", __name__, errors={"TIMEOUT": 503})

    @bp.cadence_route(
        "/orders/<order_id>",
        checkout(),
        status_code=201,
        errors={PaymentDeclined: declined},
        response_mapper=lambda s: {"id": s.order_id, "status": s.status},
    )
    def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)
    client = app.test_client()
    ok = client.post("/orders/o")
    assert (ok.status_code, ok.get_json()) == (201, {"id": "o", "status": "paid"})
    declined_r = client.post("/orders/declined")
    assert (declined_r.status_code, declined_r.get_json()) == (402, {"reason": "declined"})
    assert client.post("/orders/slow").status_code == 503


def test_idempotent_duplicates_join_one_run() -> None:
    """Concurrent duplicates with one Idempotency-Key (threads) run the cadence once."""
    runs: list[str] = []
    release = threading.Event()

    def slow(score: OrderScore) -> None:
        runs.append(score.order_id)
        release.wait(10)
        score.total = 42.0

    app = Flask(__name__)
    bp = CadenceBlueprint("idem", __name__, idempotency_store=InMemoryIdempotencyStore())

    @bp.cadence_route(
        "/pay/<order_id>", Cadence("pay", OrderScore(order_id="x")).then("slow", slow)
    )
    def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)

    def one(_: int) -> Any:
        r = app.test_client().post("/pay/p1", headers={"Idempotency-Key": "k1"})
        return r.status_code, r.data, r.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one, i) for i in range(8)]
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            threading.Event().wait(0.001)
        release.set()
        results = [f.result() for f in futures]
    assert runs == ["p1"]
    assert {(s, d) for s, d, _ in results} == {(200, results[0][1])}
    assert sorted(str(h) for _, _, h in results).count("true") == 7
    again = app.test_client().post("/pay/p1", headers={"Idempotency-Key": "k1"})
    assert again.headers["Idempotent-Replayed"] == "true" and runs == ["p1"]


def test_extension_reporter_errors_and_handwritten_views() -> None:
    """CadenceExtension adds an app-wide reporter and error mapping, and handles CadenceError."""
    seen: list[str] = []
    app, cad = _seed_app()
    ext = CadenceExtension(
        app, reporter=lambda name, seconds, score: seen.append(name), errors={"TIMEOUT": 503}
    )

    @app.post("/manual/<order_id>")
    def manual(order_id: str) -> Any:
        result = ext.run(cad, OrderScore(order_id=order_id))
        return {"status": result.status}

    client = app.test_client()
    assert client.post("/orders/e1").status_code == 200
    assert seen == ["fetch_items", "calculate_total", "process_payment", "checkout:TOTAL"]
    assert client.post("/orders/slow-e").status_code == 503
    assert client.post("/manual/m1").get_json() == {"status": "paid"}
    manual_fail = client.post("/manual/declined-m")
    assert manual_fail.status_code == 500
    assert manual_fail.mimetype == "application/problem+json"
    assert not cad.hooks


async def test_runs_inside_an_already_running_event_loop() -> None:
    """A sync view called from a thread that runs an event loop still runs its cadence."""
    app, _ = _seed_app()
    r = app.test_client().post("/orders/in-loop")
    assert r.get_json()["status"] == "paid"
    assert run_async(asyncio.sleep(0, "x")) == "x"


def test_async_factory_and_definition_errors() -> None:
    """An async factory works; a non-cadence fails when decorating."""

    @dataclasses.dataclass
    class Echo(Score):
        text: str

    app = Flask(__name__)
    bp = CadenceBlueprint("echo", __name__)

    @bp.cadence_route(
        "/echo/<text>", Cadence("echo", Echo("")).then("noop", lambda s: None), methods=["GET"]
    )
    async def echo(text: str) -> Echo:
        return Echo(text.upper())

    app.register_blueprint(bp)
    assert app.test_client().get("/echo/hi").get_json() == {"text": "HI"}
    with pytest.raises(CadenceDefinitionError, match="expected a Cadence"):
        bp.cadence_route("/x", "nope")  # type: ignore[arg-type]


@dataclasses.dataclass
class _Shipment(Score):
    order_id: str = ""
    payment: Any = None
    status: str = "new"


def _ship(s: _Shipment) -> None:
    s.status = "shipped"


def test_a_parked_run_answers_202_and_resumes_from_python() -> None:
    """A route whose run parks at a wait answers 202 naming the run; a signal then completes it."""
    from cadence import Signal, WaitError
    from cadence.checkpoint import InMemoryCheckpointStore

    flow = (
        Cadence("shipping", _Shipment())
        .wait("paid", Signal("payment"), into="payment")
        .then("ship", _ship)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    app = Flask(__name__)
    bp = CadenceBlueprint("shipments", __name__)

    @bp.cadence_route("/shipments/<order_id>", flow)
    def start(order_id):  # type: ignore[no-untyped-def]
        return _Shipment(order_id=order_id)

    app.register_blueprint(bp)
    r = app.test_client().post("/shipments/S-1")
    assert r.status_code == 202 and r.mimetype == "application/json"
    body = r.get_json()
    assert (body["status"], body["cadence"]) == ("waiting", "shipping")
    assert [(w["key"], w["status"]) for w in body["waits"]] == [("signal:payment", "waiting")]
    final = asyncio.run(flow.signal(body["run_id"], "payment", {"amount": 12}))
    assert final is not None
    assert (final.order_id, final.payment, final.status) == ("S-1", {"amount": 12}, "shipped")
    with pytest.raises(WaitError) as again:
        asyncio.run(flow.signal(body["run_id"], "payment", {"amount": 12}))
    assert again.value.code == "WAIT_ALREADY_RESOLVED"


def test_abort_in_the_factory_keeps_its_status() -> None:
    """abort(404) in a route's factory answers 404, not a 500 "the run failed"."""
    app = Flask(__name__)
    bp = CadenceBlueprint("orders404", __name__)

    @bp.cadence_route("/orders/<order_id>", checkout())
    def create(order_id: str) -> OrderScore:
        if order_id == "missing":
            flask.abort(404, description="unknown order")
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.post("/orders/missing").status_code == 404
    assert client.post("/orders/o1").get_json()["status"] == "paid"


def test_a_cadence_with_a_fixed_run_id_is_refused_by_the_blueprint() -> None:
    """A fixed checkpoint run id would hand every request the first request's result."""
    from cadence.checkpoint import InMemoryCheckpointStore

    fixed = checkout().with_checkpoint(InMemoryCheckpointStore(), run_id="order-123")
    with pytest.raises(CadenceDefinitionError, match="fixed run id 'order-123'"):
        CadenceBlueprint("fixed", __name__).cadence_route("/pay", fixed)


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_body_over_max_content_length_is_a_413_problem(idempotent: bool) -> None:
    """A body over Flask's MAX_CONTENT_LENGTH answers problem+json BODY_TOO_LARGE naming the
    limit, not Werkzeug's HTML 413 page (with and without an Idempotency-Key)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    bp = CadenceBlueprint("orders413", __name__)

    @bp.cadence_route("/orders/<order_id>", checkout(), idempotent=idempotent)
    def create(order_id: str, note: str = "") -> OrderScore:
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)
    CadenceExtension(app)
    headers = {"Idempotency-Key": "k-413"} if idempotent else {}
    response = app.test_client().post("/orders/o1", json={"note": "x" * 10_000}, headers=headers)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "BODY_TOO_LARGE" and "1024 bytes" in body["detail"]


@dataclasses.dataclass
class _Address:
    city: str


@dataclasses.dataclass
class _OrderRequest:
    quantity: int
    coupon: str | None = None
    ship_to: _Address | None = None

    def __post_init__(self) -> None:
        if isinstance(self.quantity, int) and self.quantity <= 0:
            raise ValueError("quantity must be positive")


@pytest.mark.parametrize(
    ("body", "loc", "needle"),
    [
        ({"quantity": "3"}, ["body", "quantity"], "expected int"),
        ({"quantity": True}, ["body", "quantity"], "expected int"),
        ({"quantity": [1, 2]}, ["body", "quantity"], "expected int"),
        ({"quantity": 1, "coupon": 5}, ["body", "coupon"], "expected"),
        ({"quantity": 1, "ship_to": {"city": 7}}, ["body", "ship_to", "city"], "expected str"),
        ({"coupon": "x"}, ["body", "quantity"], "field required"),
        ({"quantity": 1, "colour": "red"}, ["body"], "unknown field 'colour'"),
        ({"quantity": 0}, ["body"], "quantity must be positive"),
    ],
)
def test_a_dataclass_body_is_validated_field_by_field(
    body: dict[str, Any], loc: list[str], needle: str
) -> None:
    """A dataclass body parameter is checked against its fields' annotations (nested
    dataclasses too): a wrong type, a missing or unknown field and a __post_init__ ValueError
    are 422 problems naming the field, not values passed on as they came or a 500."""
    app = Flask(__name__)
    bp = CadenceBlueprint("dc_body", __name__)
    seen: list[_OrderRequest] = []

    @bp.cadence_route("/orders", checkout())
    def create(req: _OrderRequest) -> OrderScore:
        seen.append(req)
        return OrderScore(order_id=f"q{req.quantity}")

    app.register_blueprint(bp)
    client = app.test_client()
    response = client.post("/orders", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert any(e["loc"] == loc and needle in e["msg"] for e in errors), errors
    assert seen == []
    good = client.post("/orders", json={"quantity": 2, "ship_to": {"city": "Oslo"}})
    assert good.status_code == 200 and good.get_json()["order_id"] == "q2"
    assert seen == [_OrderRequest(quantity=2, ship_to=_Address(city="Oslo"))]
