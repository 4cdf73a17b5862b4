"""Parked runs on Dramatiq: resumed from the web process, continued on a worker, exactly once."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadence import WaitError
from cadence.checkpoint import wait_store_for

from ._dramatiq_support import load_app, start_workers, stop_workers, until


@pytest.fixture
def app(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shared app module configured for this test's redis and ledger."""
    yield from load_app("_dramatiq_wait_app", redis_url, tmp_path, monkeypatch)


@pytest.fixture
def workers(app: Any, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two worker processes running the app's actors."""
    procs = start_workers(app, 2, tmp_path)
    yield procs
    stop_workers(procs)


def ledger(app: Any, run: str) -> list[dict[str, Any]]:
    lines = Path(app.LEDGER).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["run"] == run]


def test_a_parked_run_is_resumed_from_the_web_process_and_continues_on_a_worker(
    app: Any, workers: Any
) -> None:
    """Worker parks the run ('waiting'); resume() delivers once and a worker completes it."""
    jobs = app.approvals
    run_id = jobs.enqueue(app.Refund(order="D-1"))
    until(lambda: (jobs.status(run_id) or 0) and jobs.status(run_id).state == "waiting", 60, "park")

    async def web_process() -> tuple[list[Any], str]:
        waits = await jobs.cadence.waits(run_id)
        await jobs.resume(run_id, True)
        try:
            await jobs.resume(run_id, False)
        except WaitError as exc:
            refused = exc.code
        else:
            refused = "accepted"
        await wait_store_for(jobs.store).aclose()  # this loop ends here: close its connections
        return waits, refused

    waits, refused = asyncio.run(web_process())
    assert [(w.key, w.payload) for w in waits] == [("manager", {"order": "D-1"})]
    assert refused in ("WAIT_ALREADY_RESOLVED", "WAIT_NOT_FOUND")

    result = jobs.wait(run_id, timeout=60)
    assert result.trail == ["draft", "pay"]
    assert result.decision is not None and result.decision.approved
    assert [e["step"] for e in ledger(app, "D-1")] == ["draft", "pay"]
    assert jobs.status(run_id).deliveries == 2


def test_a_durable_sleep_wakes_on_a_worker_by_itself(app: Any, workers: Any) -> None:
    """A Sleep(1 s) parks the run; a delayed message continues it when due, with no resume."""
    jobs = app.sleeps
    run_id = jobs.enqueue(app.Refund(order="S-1"))
    until(lambda: (jobs.status(run_id) or 0) and jobs.status(run_id).state == "waiting", 60, "park")
    result = jobs.wait(run_id, timeout=60)
    assert result.trail == ["order", "close"]
    assert [e["step"] for e in ledger(app, "S-1")] == ["order", "close"]
