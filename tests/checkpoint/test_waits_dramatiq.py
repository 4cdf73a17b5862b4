"""Parked runs on Dramatiq: resumed from the web process, continued on a worker, exactly once."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadence import WaitError
from cadence.checkpoint import wait_store_for

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture
def app(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shared app module configured for this test's redis and ledger."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.touch()
    monkeypatch.setenv("CADENCE_TEST_REDIS", redis_url)
    monkeypatch.setenv("CADENCE_TEST_LEDGER", str(ledger))
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop("_dramatiq_wait_app", None)
    module = importlib.import_module("_dramatiq_wait_app")
    module.broker.client.flushdb()
    yield module
    sys.modules.pop("_dramatiq_wait_app", None)
    module.broker.close()


@pytest.fixture
def workers(app: Any, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two worker processes running the app's actors."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    code = (
        "import _dramatiq_wait_app as a; from cadence.integrations.dramatiq import run_worker; "
        "run_worker(a.broker)"
    )
    procs = []
    for i in range(2):
        with open(tmp_path / f"worker-{i}.log", "wb") as log:
            procs.append(
                subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=log)
            )
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ledger(app: Any, run: str) -> list[dict[str, Any]]:
    lines = Path(app.LEDGER).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["run"] == run]


def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


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
