"""recipes.approval_flow over real uvicorn servers: request -> park -> approve over HTTP -> done."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from cadence import RunSuspended
from cadence.checkpoint import SQLiteCheckpointStore
from cadence.testing import FakeClock
from recipes.approval_flow import Refund, build, create_app

APPROVER = {"x-approver-token": "s3cret"}
ROOT = Path(__file__).parents[2]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve(db: Path) -> AsyncIterator[str]:
    """The recipe's app on its own store object over ``db``, served by uvicorn in this loop."""
    store = SQLiteCheckpointStore(db)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store, approver_token="s3cret"),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await store.aclose()


async def test_request_parks_then_an_approval_over_http_completes_it_once(tmp_path: Path) -> None:
    """A large refund answers 202; the manager's edited approval pays the edited amount, once."""
    db = tmp_path / "refunds.db"
    async with serve(db) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        asked = await client.post(
            "/refunds", json={"order_id": "A-7", "amount": 240, "reason": "damaged"}
        )
        assert asked.status_code == 202, asked.text
        parked = asked.json()
        run_id = parked["run_id"]
        assert parked["status"] == "waiting"
        assert asked.headers["location"] == f"/refunds/{run_id}"
        assert parked["waits"][0]["payload"] == {
            "order_id": "A-7",
            "amount": 240,
            "reason": "damaged",
        }

        forbidden = await client.get("/refunds")
        assert forbidden.status_code == 403
        inbox = await client.get("/refunds", headers=APPROVER)
        assert [w["run_id"] for w in inbox.json()["waits"]] == [run_id]

        decision = {"value": {"approved": True, "payload": {"amount": 200}, "by": "ana"}}
        done = await client.post(f"/refunds/{run_id}/resume", json=decision, headers=APPROVER)
        assert done.status_code == 200, done.text
        refund = done.json()
        assert (refund["status"], refund["refunded"]) == ("refunded", 200)
        assert refund["trail"] == ["check", "settle"]
        assert refund["decision"]["by"] == "ana"

        again = await client.post(f"/refunds/{run_id}/resume", json=decision, headers=APPROVER)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["code"] == "WAIT_ALREADY_RESOLVED"
        assert (await client.get("/refunds", headers=APPROVER)).json()["waits"] == []


async def test_a_small_refund_needs_no_approval(tmp_path: Path) -> None:
    """At or below the limit the run does not park: 200 with the refund paid by policy."""
    async with serve(tmp_path / "r.db") as base, httpx.AsyncClient(base_url=base) as client:
        done = await client.post("/refunds", json={"order_id": "B-1", "amount": 20})
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["refunded"]) == ("refunded", 20)


async def test_the_approval_reaches_a_restarted_server(tmp_path: Path) -> None:
    """Park on one server, stop it, approve on a new one over the same database: it completes."""
    db = tmp_path / "refunds.db"
    async with serve(db) as base, httpx.AsyncClient(base_url=base) as client:
        asked = await client.post("/refunds", json={"order_id": "C-3", "amount": 90})
        run_id = asked.json()["run_id"]
    async with serve(db) as base, httpx.AsyncClient(base_url=base) as client:
        rejected = await client.post(
            f"/refunds/{run_id}/resume",
            json={"value": {"approved": False, "reason": "outside the return window"}},
            headers=APPROVER,
        )
        assert rejected.status_code == 200, rejected.text
        assert (rejected.json()["status"], rejected.json()["refunded"]) == ("rejected", 0)


async def test_bad_decisions_are_refused_clearly(tmp_path: Path) -> None:
    """A value that is not a decision is 422; an unknown run is 404; both problem+json."""
    async with serve(tmp_path / "r.db") as base, httpx.AsyncClient(base_url=base) as client:
        asked = await client.post("/refunds", json={"order_id": "D-4", "amount": 300})
        run_id = asked.json()["run_id"]
        bad = await client.post(
            f"/refunds/{run_id}/resume", json={"value": "sure"}, headers=APPROVER
        )
        assert bad.status_code == 422 and bad.json()["code"] == "WAIT_BAD_VALUE"
        unknown = await client.post("/refunds/nope/resume", json={"value": True}, headers=APPROVER)
        assert unknown.status_code == 404 and unknown.json()["code"] == "WAIT_NOT_FOUND"
        extra = await client.post(
            f"/refunds/{run_id}/resume", json={"value": True, "admin": 1}, headers=APPROVER
        )
        assert extra.status_code == 422
        still = await client.get(f"/refunds/{run_id}", headers=APPROVER)
        assert [w["key"] for w in still.json()["waits"]] == ["manager"]


def cadence_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``cadence <args>`` in a new process, with the recipe's store on ``db``."""
    env = {**os.environ, "REFUNDS_DB": str(db), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cadence", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_cli_lists_and_approves_what_http_parked(tmp_path: Path) -> None:
    """`cadence waits` shows the parked refund; `cadence resume` pays it; a second is refused."""
    db = tmp_path / "refunds.db"
    async with serve(db) as base, httpx.AsyncClient(base_url=base) as client:
        run_id = (await client.post("/refunds", json={"order_id": "E-5", "amount": 75})).json()[
            "run_id"
        ]
    target = "recipes.approval_flow:refunds"
    listed = await asyncio.to_thread(cadence_cli, db, "waits", target)
    assert listed.returncode == 0, listed.stderr
    assert [(w["run_id"], w["key"]) for w in json.loads(listed.stdout)] == [(run_id, "manager")]
    value = '{"approved": true, "by": "cli"}'
    done = await asyncio.to_thread(cadence_cli, db, "resume", target, run_id, "--value", value)
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["status"], json.loads(done.stdout)["refunded"]) == (
        "refunded",
        75,
    )
    again = await asyncio.to_thread(cadence_cli, db, "resume", target, run_id, "--value", value)
    assert again.returncode == 1 and "WAIT_ALREADY_RESOLVED" in again.stderr, again.stderr


async def test_an_undecided_refund_is_escalated_after_two_days(tmp_path: Path) -> None:
    """wake_due after the two-day timeout takes the on_timeout path: escalated, nothing paid."""
    store = SQLiteCheckpointStore(tmp_path / "refunds.db")
    refunds = build(store)
    with FakeClock(start=1_000_000.0) as clock:
        with pytest.raises(RunSuspended) as parked:
            await refunds.run(Refund(order_id="F-6", amount=500))
        run_id = parked.value.run_id
        clock.advance(86_400)
        assert await refunds.wake_due() == []  # one day: still waiting for the manager
        clock.advance(86_400)
        assert await refunds.wake_due() == [run_id]  # what `cadence wake` does from cron
    done = await refunds.run(Refund(), run_id=run_id)  # completed: its recorded result, no rerun
    assert (done.order_id, done.status, done.refunded) == ("F-6", "escalated", 0)
    assert done.trail == ["check", "escalate", "settle"]
    assert await refunds.waits() == []
    await store.aclose()
