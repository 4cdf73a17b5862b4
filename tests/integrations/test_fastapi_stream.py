"""Server-Sent Events of a run and Idempotency-Key handling in the FastAPI integration."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cadence import Cadence
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.integrations._stream import sse_frame
from cadence.integrations.fastapi import CadenceRouter, InMemoryIdempotencyStore, publish_event
from tests.integrations._models import OrderScore, checkout, parse_sse


def _app(router: CadenceRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


async def _tokens(score: OrderScore) -> None:
    for word in ("a", "b"):
        publish_event("token", {"text": word})
        await asyncio.sleep(0)
    score.status = "streamed"


def _threaded_progress(score: OrderScore) -> None:
    publish_event(
        "progress", {"pct": 50, "thread": threading.current_thread() is not threading.main_thread()}
    )


def _streaming_cadence() -> Cadence[OrderScore]:
    return checkout().then("tokens", _tokens).then("progress", _threaded_progress)


def test_sse_streams_run_events_then_the_result() -> None:
    """stream=True sends lifecycle events, note-published events, then the final score."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", _streaming_cadence(), stream=True)
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    with TestClient(_app(router)).stream("POST", "/orders/s1") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [e for e, _ in events]
    assert names[0] == "run_started"
    assert events[0][1]["cadence"] == "checkout" and len(events[0][1]["run_id"]) == 32
    assert names[-1] == "result"
    assert names.count("note_started") == names.count("note_completed") == 5
    assert [d["text"] for e, d in events if e == "token"] == ["a", "b"]
    assert [d for e, d in events if e == "progress"] == [{"pct": 50, "thread": True}]
    result = events[-1][1]
    assert result["order_id"] == "s1" and result["status"] == "streamed"


def test_sse_failure_ends_with_a_problem_event() -> None:
    """A failing streamed run reports note_failed and ends with an error event (a problem)."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout(), stream=True)
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    with TestClient(_app(router)).stream("POST", "/orders/slow-s") as r:
        events = parse_sse(r.read().decode())
    assert (
        events[-2][0],
        {k: v for k, v in events[-2][1].items() if k in ("note", "group")},
    ) == ("note_failed", {"note": "process_payment", "group": None})
    assert events[-1][0] == "error"
    assert events[-1][1]["status"] == 504 and events[-1][1]["code"] == "TIMEOUT"


class _SdkObject:  # a value with no JSON form, e.g. an SDK object a note forwards by mistake
    pass


async def _forwards_an_sdk_object(score: OrderScore) -> None:
    publish_event("token", {"raw": _SdkObject()})


def test_an_event_with_no_json_form_fails_its_note_not_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """publish_event() with a value JSON cannot hold fails the note that published it (the
    server log names the value's path), and the stream ends with note_failed and an error
    event; before, the connection dropped mid-stream without either."""
    router = CadenceRouter()
    cadence = Cadence("answer", OrderScore(order_id="")).then("forward", _forwards_an_sdk_object)

    @router.cadence("/ask", cadence, stream=True)
    async def ask() -> OrderScore:
        return OrderScore(order_id="q1")

    with TestClient(_app(router)).stream("POST", "/ask") as r:
        events = parse_sse(r.read().decode())
    names = [e for e, _ in events]
    assert names == ["run_started", "note_started", "note_failed", "error"]
    assert events[2][1]["note"] == "forward"
    assert (events[3][1]["status"], events[3][1]["code"]) == (500, "NOTE_ERROR")
    assert "cannot encode _SdkObject at $.raw" in caplog.text


def test_stream_auto_negotiates_on_accept() -> None:
    """stream='auto' streams for Accept: text/event-stream and answers JSON otherwise."""
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout(), stream="auto")
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    client = TestClient(_app(router))
    assert client.post("/orders/j").json()["status"] == "paid"
    streamed = client.post("/orders/j", headers={"Accept": "text/event-stream"})
    assert parse_sse(streamed.text)[-1][0] == "result"


def test_publish_event_outside_a_stream_is_a_no_op() -> None:
    """publish_event returns False when the run is not streamed."""
    assert publish_event("token", {"text": "x"}) is False


def test_sse_frame_splits_multiline_data() -> None:
    """A multi-line string payload becomes several data lines of one frame."""
    assert sse_frame("msg", "a\nb", 7) == b"id: 7\nevent: msg\ndata: a\ndata: b\n\n"


def _counting_router(store: object) -> tuple[CadenceRouter, list[str]]:
    runs: list[str] = []

    async def slow_count(score: OrderScore) -> None:
        runs.append(score.order_id)
        await asyncio.sleep(0.01)
        score.total = float(len(runs))

    cad = checkout().then("count", slow_count)
    router = CadenceRouter(idempotency_store=store)

    @router.cadence("/orders/{order_id}", cad)
    async def create(order_id: str, note: str = "") -> OrderScore:
        return OrderScore(order_id=order_id)

    return router, runs


async def test_concurrent_duplicates_join_one_run() -> None:
    """Ten concurrent requests with one Idempotency-Key run the cadence once and agree."""
    router, runs = _counting_router(InMemoryIdempotencyStore())
    transport = httpx.ASGITransport(app=_app(router))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        responses = await asyncio.gather(
            *(client.post("/orders/i1", headers={"Idempotency-Key": "k-1"}) for _ in range(10))
        )
        later = await client.post("/orders/i1", headers={"Idempotency-Key": "k-1"})
        other = await client.post("/orders/i1", headers={"Idempotency-Key": "k-2"})
    assert runs == ["i1", "i1"]  # k-1 once, k-2 once
    bodies = {r.text for r in responses}
    assert len(bodies) == 1 and later.text in bodies
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 9
    assert later.headers["idempotent-replayed"] == "true"
    assert other.json()["total"] == 2.0


def test_key_reused_for_another_request_is_422() -> None:
    """Reusing a key with a different query or body is refused with 422 IDEMPOTENCY_KEY_REUSED."""
    router, runs = _counting_router(InMemoryIdempotencyStore())
    client = TestClient(_app(router))
    first = client.post("/orders/r?note=a", headers={"Idempotency-Key": "same"})
    second = client.post("/orders/r?note=b", headers={"Idempotency-Key": "same"})
    assert first.status_code == 200
    assert second.status_code == 422
    assert second.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert runs == ["r"]


def test_key_reused_with_another_body_is_422() -> None:
    """The request body is part of the fingerprint: same key, different JSON body is refused."""
    router = CadenceRouter(idempotency_store=InMemoryIdempotencyStore())

    @router.cadence("/b/{order_id}", checkout())
    async def create(order_id: str, body: dict[str, int]) -> OrderScore:
        return OrderScore(order_id=f"{order_id}-{body['n']}")

    client = TestClient(_app(router))
    first = client.post("/b/x", json={"n": 1}, headers={"Idempotency-Key": "bk"})
    same = client.post("/b/x", json={"n": 1}, headers={"Idempotency-Key": "bk"})
    other = client.post("/b/x", json={"n": 2}, headers={"Idempotency-Key": "bk"})
    assert first.json()["order_id"] == "x-1" and same.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_malformed_key_is_400() -> None:
    """An Idempotency-Key with spaces or over 255 characters is a 400 problem."""
    router, runs = _counting_router(InMemoryIdempotencyStore())
    client = TestClient(_app(router))
    assert client.post("/orders/m", headers={"Idempotency-Key": "a b"}).status_code == 400
    assert client.post("/orders/m", headers={"Idempotency-Key": "x" * 256}).status_code == 400
    assert runs == []


def test_server_errors_are_not_replayed() -> None:
    """A 5xx outcome is not stored, so a retry with the same key runs again."""
    router = CadenceRouter(idempotency_store=InMemoryIdempotencyStore())
    attempts: list[int] = []

    async def flaky(score: OrderScore) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database down")
        score.status = "ok"

    @router.cadence("/f", Cadence("flaky", OrderScore(order_id="f")).then("flaky", flaky))
    async def create() -> OrderScore:
        return OrderScore(order_id="f")

    client = TestClient(_app(router))
    assert client.post("/f", headers={"Idempotency-Key": "f1"}).status_code == 500
    retry = client.post("/f", headers={"Idempotency-Key": "f1"})
    assert retry.status_code == 200 and retry.json()["status"] == "ok"
    assert "idempotent-replayed" not in retry.headers
    assert len(attempts) == 2


def test_checkpoint_store_serves_as_idempotency_store() -> None:
    """Any checkpoint store works: a second app instance sharing it replays the response."""
    store = InMemoryCheckpointStore()
    router_a, runs_a = _counting_router(store)
    router_b, runs_b = _counting_router(store)
    a = TestClient(_app(router_a)).post("/orders/c", headers={"Idempotency-Key": "ck"})
    b = TestClient(_app(router_b)).post("/orders/c", headers={"Idempotency-Key": "ck"})
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert b.headers["idempotent-replayed"] == "true"
    assert (runs_a, runs_b) == (["c"], [])


def test_memory_store_expires_entries() -> None:
    """InMemoryIdempotencyStore forgets a response after its ttl (injected clock)."""
    from cadence.integrations._idempotency import StoredResponse

    now = [0.0]
    store = InMemoryIdempotencyStore(ttl=10, max_entries=2, clock=lambda: now[0])
    response = StoredResponse(200, b"{}", "application/json")

    async def scenario() -> list[object]:
        await store.put("a", response)
        seen = [await store.get("a")]
        now[0] = 11
        seen.append(await store.get("a"))
        for k in "bcd":
            await store.put(k, response)
        seen.append(len(store))
        return seen

    assert asyncio.run(scenario()) == [response, None, 2]
