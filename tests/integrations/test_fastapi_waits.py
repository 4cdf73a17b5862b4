"""FastAPI wait routes: a parked run answers 202; resume and signals over HTTP, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cadence import Cadence, CadenceDefinitionError, Score, Signal
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.integrations.fastapi import CadenceRouter


@dataclass
class Shipment(Score):
    order_id: str = ""
    payment: dict[str, Any] | None = None
    label: dict[str, Any] | None = None
    status: str = "new"


def ship(s: Shipment) -> None:
    s.status = "shipped"


def app_for(store: Any = None, **wait_kwargs: Any) -> tuple[FastAPI, Cadence[Shipment]]:
    flow = (
        Cadence("shipping", Shipment())
        .wait("paid", Signal("payment"), into="payment")
        .wait("printed", Signal("label"), into="label")
        .then("ship", ship)
        .with_checkpoint(store or InMemoryCheckpointStore())
    )
    router = CadenceRouter()

    @router.cadence("/shipments/{order_id}", flow)
    async def start(order_id: str) -> Shipment:
        return Shipment(order_id=order_id)

    router.wait_routes("/shipments", flow, **wait_kwargs)
    app = FastAPI()
    app.include_router(router)
    return app, flow


def test_signals_over_http_walk_the_run_to_completion() -> None:
    """Each signal continues the run to its next wait (202), the last one completes it (200)."""
    app, _ = app_for()
    with TestClient(app) as client:
        started = client.post("/shipments/A-1")
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        assert started.headers["location"] == f"/shipments/{run_id}"
        step = client.post(f"/shipments/{run_id}/signals/payment", json={"value": {"txn": 1}})
        assert step.status_code == 202
        assert [w["key"] for w in step.json()["waits"]] == ["signal:label"]
        done = client.post(f"/shipments/{run_id}/signals/label", json={"value": {"id": "L9"}})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "shipped"
        assert done.json()["payment"] == {"txn": 1}


def test_an_early_signal_is_kept_for_the_run() -> None:
    """A signal for a wait the run has not reached yet answers 202 signal_kept, and is used."""
    app, _ = app_for()
    with TestClient(app) as client:
        run_id = client.post("/shipments/B-2").json()["run_id"]
        kept = client.post(f"/shipments/{run_id}/signals/label", json={"value": {"id": "L1"}})
        assert kept.status_code == 202 and kept.json()["status"] == "signal_kept"
        done = client.post(f"/shipments/{run_id}/signals/payment", json={"value": {"txn": 2}})
        assert done.status_code == 200, done.text
        assert done.json()["label"] == {"id": "L1"}


def test_a_repeated_signal_is_refused_with_409() -> None:
    """Sending the same signal twice: the second is a WAIT_ALREADY_RESOLVED problem."""
    app, _ = app_for()
    with TestClient(app) as client:
        run_id = client.post("/shipments/C-3").json()["run_id"]
        first = client.post(f"/shipments/{run_id}/signals/payment", json={"value": {"txn": 1}})
        assert first.status_code < 300  # (a value the field cannot hold is a 422 of its own)
        again = client.post(f"/shipments/{run_id}/signals/payment", json={"value": {"txn": 2}})
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["code"] == "WAIT_ALREADY_RESOLVED"


def test_resume_names_a_wait_and_lists_are_per_run() -> None:
    """GET lists a run's waits; resume with wait= picks one; a wrong key is 404."""
    app, _ = app_for()
    with TestClient(app) as client:
        run_id = client.post("/shipments/D-4").json()["run_id"]
        listed = client.get(f"/shipments/{run_id}").json()
        assert [w["key"] for w in listed["waits"]] == ["signal:payment"]
        wrong = client.post(f"/shipments/{run_id}/resume", json={"value": 1, "wait": "nope"})
        assert wrong.status_code == 404
        ok = client.post(
            f"/shipments/{run_id}/resume", json={"value": {"t": 1}, "wait": "signal:payment"}
        )
        assert ok.status_code == 202


def test_non_json_values_are_422() -> None:
    """A body that is not JSON or has unknown members is refused before any wait is touched."""
    app, _ = app_for()
    with TestClient(app) as client:
        run_id = client.post("/shipments/E-5").json()["run_id"]
        bad = client.post(
            f"/shipments/{run_id}/signals/payment",
            content=b'{"value": NaN}',
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 422
        unknown = client.post(f"/shipments/{run_id}/signals/payment", json={"valu": 1})
        assert unknown.status_code == 422
        assert client.get(f"/shipments/{run_id}").json()["waits"][0]["status"] == "waiting"


def test_wait_routes_need_a_checkpointed_cadence() -> None:
    """Registering wait routes for a cadence without a store fails at startup, clearly."""
    router = CadenceRouter()
    with pytest.raises(CadenceDefinitionError, match="no checkpoint store"):
        router.wait_routes("/x", Cadence("x", Shipment()).then("a", ship))
    with pytest.raises(CadenceDefinitionError, match="a path like"):
        router.wait_routes(
            "x/", Cadence("x", Shipment()).with_checkpoint(InMemoryCheckpointStore())
        )


def test_a_streamed_run_that_parks_ends_with_a_waiting_frame() -> None:
    """Over SSE a run that parks ends with `waiting` (the 202 body), its wait step is
    `note_suspended`; it used to end with a 500 `error` frame and an ERROR log."""
    from tests.integrations._models import parse_sse

    flow = (
        Cadence("shipping", Shipment())
        .wait("paid", Signal("payment"), into="payment")
        .then("ship", ship)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    router = CadenceRouter()

    @router.cadence("/shipments/{order_id}", flow, stream=True)
    async def start(order_id: str) -> Shipment:
        return Shipment(order_id=order_id)

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        response = client.post("/shipments/S-1")
    frames = parse_sse(response.text)
    names = [name for name, _ in frames]
    assert "note_suspended" in names
    assert "note_failed" not in names and "error" not in names
    last, body = frames[-1]
    assert last == "waiting"
    assert body["status"] == "waiting" and [w["key"] for w in body["waits"]] == ["signal:payment"]


def test_an_idempotent_run_that_parks_is_resumable_at_its_location() -> None:
    """An Idempotency-Key run id ("POST /path key") holds spaces and slashes: Location works."""
    from cadence.integrations.fastapi import InMemoryIdempotencyStore

    flow = (
        Cadence("shipping", Shipment())
        .wait("paid", Signal("payment"), into="payment")
        .then("ship", ship)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    router = CadenceRouter(idempotency_store=InMemoryIdempotencyStore())

    @router.cadence("/shipments/{order_id}", flow)
    async def start(order_id: str) -> Shipment:
        return Shipment(order_id=order_id)

    router.wait_routes("/shipments", flow)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        started = client.post("/shipments/A-9", headers={"Idempotency-Key": "k/1"})
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        assert run_id == "POST /shipments/A-9 k/1"
        where = started.headers["location"]
        assert client.get(where).json()["run_id"] == run_id
        done = client.post(f"{where}/signals/payment", json={"value": {"txn": 3}})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "shipped"


def test_wait_route_refusals_are_small_problem_documents() -> None:
    """A huge bad value, an unknown member or malformed JSON: bounded problem+json, no echo."""
    app, _ = app_for()
    with TestClient(app) as client:
        run_id = client.post("/shipments/A-2").json()["run_id"]
        big = client.post(
            f"/shipments/{run_id}/resume", json={"value": "x" * 100_000, "wait": "w" * 100_000}
        )
        extra = client.post(f"/shipments/{run_id}/resume", json={"value": 1, "extra": "y" * 10_000})
        broken = client.post(
            f"/shipments/{run_id}/resume",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        for answer in (big, extra, broken):
            assert answer.headers["content-type"] == "application/problem+json", answer.text[:200]
            assert 400 <= answer.status_code < 500
            assert len(answer.content) < 2_000


def test_a_hand_written_endpoint_whose_run_parks_answers_202() -> None:
    """CadenceDependency + install_problem_handlers: a parked run is no 500."""
    from fastapi import Depends

    from cadence.integrations.fastapi import (
        CadenceDependency,
        CadenceRun,
        install_problem_handlers,
    )

    flow = (
        Cadence("shipping", Shipment())
        .wait("paid", Signal("payment"), into="payment")
        .with_checkpoint(InMemoryCheckpointStore())
    )
    dependency = CadenceDependency(flow)
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/custom/{order_id}")
    async def custom(order_id: str, run: CadenceRun = Depends(dependency)) -> dict[str, str]:  # noqa: B008
        final = await run(Shipment(order_id=order_id))
        return {"status": final.status}

    with TestClient(app) as client:
        answer = client.post("/custom/B-1")
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "waiting"
        assert [w["key"] for w in answer.json()["waits"]] == ["signal:payment"]
