"""Scale-out on Dramatiq with a real redis-server and real worker processes."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadence.exceptions import CadenceError, CheckpointError
from cadence.integrations.dramatiq import RunFailed

from ._dramatiq_support import load_app, start_workers, stop_workers, until


@pytest.fixture
def app(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shared app module, configured for this test's redis and ledger (the web process side)."""
    yield from load_app("_dramatiq_app", redis_url, tmp_path, monkeypatch)


def finished(app: Any, run_id: str, tmp_path: Path, timeout: float) -> Any:
    """``app.jobs.wait``; if the run does not finish in time, fail with the workers' logs.

    The bound is generous (a loaded CI machine starts worker processes slowly); what the tests
    assert is how often steps ran and messages were delivered, never how fast.
    """
    try:
        return app.jobs.wait(run_id, timeout=timeout)
    except CadenceError as exc:
        if exc.code != "RUN_WAIT_TIMEOUT":
            raise
        logs = "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(tmp_path.glob("worker-*.log"))
        )
        status = app.jobs.status(run_id)
        raise AssertionError(f"{exc}\nstatus: {status}\n{logs}") from exc


def ledger_entries(app: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(app.LEDGER).read_text().splitlines()]


@pytest.mark.slow
def test_killed_worker_run_completes_on_the_other_worker(app: Any, tmp_path: Path) -> None:
    """SIGKILL the worker mid-step: the run resumes on the other worker, no completed step repeats."""
    workers = start_workers(app, 2, tmp_path)
    try:
        run_id = app.jobs.enqueue(app.Job(order_id="kill-1", step_seconds=0.4))
        assert app.jobs.status(run_id).state == "queued"
        until(lambda: len(ledger_entries(app)) >= 2, 30, "two completed steps")
        victim = ledger_entries(app)[-1]["pid"]
        time.sleep(0.15)  # into the next 0.4 s step
        os.kill(victim, signal.SIGKILL)
        result = finished(app, run_id, tmp_path, timeout=180)
        assert result.trail == app.STEPS
        entries = ledger_entries(app)
        by_victim = [e["step"] for e in entries if e["pid"] == victim]
        rest = entries[len(by_victim) :]
        assert [e["step"] for e in entries[: len(by_victim)]] == by_victim, entries
        assert len({e["pid"] for e in rest}) == 1 and victim not in {e["pid"] for e in rest}, (
            entries
        )
        steps = by_victim + [e["step"] for e in rest]
        # Only the step the victim was in when killed may appear twice (if it died before saving it).
        repeated = [s for s in steps if steps.count(s) > 1]
        assert set(repeated) <= set(by_victim[-1:]) and len(repeated) <= 2, entries
        assert list(dict.fromkeys(steps)) == app.STEPS, f"a completed step went missing: {entries}"
        status = app.jobs.status(run_id)
        assert status.state == "succeeded" and status.deliveries == 2
    finally:
        stop_workers(workers)


@pytest.mark.slow
def test_long_step_on_a_healthy_worker_is_not_redelivered(app: Any, tmp_path: Path) -> None:
    """A step longer than the broker's heartbeat timeout runs once; the message is delivered once."""
    workers = start_workers(app, 2, tmp_path)
    try:
        run_id = app.jobs.enqueue(
            app.Job(order_id="long-1", step_seconds=0.01, long_step="s2", long_seconds=8.0)
        )
        result = finished(app, run_id, tmp_path, timeout=180)
        assert result.trail == app.STEPS
        assert [e["step"] for e in ledger_entries(app)] == app.STEPS
        assert app.jobs.status(run_id).deliveries == 1
    finally:
        stop_workers(workers)


def test_failed_run_reports_its_error_and_resumes_when_enqueued_again(
    app: Any, tmp_path: Path
) -> None:
    """A failing run is 'failed' with its error; re-enqueueing the run id resumes from the checkpoint."""
    workers = start_workers(app, 1, tmp_path)
    try:
        run_id = app.jobs.enqueue(app.Job(order_id="fail-1", step_seconds=0.01, fail_step="s3"))
        with pytest.raises(RunFailed, match="boom at s3"):
            app.jobs.wait(run_id, timeout=30)
        assert app.jobs.status(run_id).state == "failed"
        done_before = [e["step"] for e in ledger_entries(app)]
        assert done_before == ["s0", "s1", "s2"]
        app.jobs.enqueue(app.Job(order_id="fail-1", step_seconds=0.01), run_id=run_id)
        # The run resumes from its checkpoint (whose score still says fail at s3): s0-s2 are
        # skipped, s3 fails again, and that second attempt is counted.
        with pytest.raises(RunFailed, match="boom at s3"):
            app.jobs.wait(run_id, timeout=30)
        assert [e["step"] for e in ledger_entries(app)] == done_before, (
            "completed steps never rerun"
        )
        assert app.jobs.status(run_id).deliveries == 2
    finally:
        stop_workers(workers)


def test_message_redelivered_after_success_runs_nothing(app: Any, tmp_path: Path) -> None:
    """A duplicate of a finished run's message is acknowledged without executing any step."""
    workers = start_workers(app, 1, tmp_path)
    try:
        run_id = app.jobs.enqueue(app.Job(order_id="dup-1", step_seconds=0.01))
        app.jobs.wait(run_id, timeout=30)
        before = ledger_entries(app)
        state = app.jobs.codec.encode_score(app.Job(order_id="dup-1", step_seconds=0.01))
        app.jobs.actor.send(run_id, state)  # what a redelivery looks like
        marker = app.jobs.enqueue(app.Job(order_id="after-dup", step_seconds=0.01))
        app.jobs.wait(marker, timeout=30)  # one worker thread: the duplicate was handled first
        assert [e for e in ledger_entries(app) if e["run"] == "dup-1"] == before
        assert app.jobs.status(run_id).state == "succeeded"
    finally:
        stop_workers(workers)


def test_unencodable_score_fails_in_the_web_process(app: Any) -> None:
    """enqueue() encodes the score at once, so a bad value fails in the caller with its path."""
    with pytest.raises(CheckpointError, match=r"\$\.trail\[0\]"):
        app.jobs.enqueue(app.Job(order_id="bad", trail=[object()]))


def test_actor_needs_a_store_with_leases(app: Any) -> None:
    """A store without leases cannot coordinate workers; the actor refuses it up front."""
    from cadence import Cadence
    from cadence.integrations.dramatiq import CadenceActor

    class SeedStore:
        """Only the four methods of the cadence 0.7 protocol."""

        async def save_checkpoint(self, *args: Any) -> None: ...
        async def get_completed_measures(self, *args: Any) -> set[str]: ...
        async def get_last_score_state(self, *args: Any) -> None: ...
        async def clear_checkpoints(self, *args: Any) -> None: ...

    with pytest.raises(TypeError, match="leases"):
        CadenceActor(Cadence("x", app.Job()), store=SeedStore(), broker=app.broker)
