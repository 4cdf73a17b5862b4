"""Kill -9 campaign: SIGKILL the worker at random moments; every run still completes exactly.

For each durable store, 100 runs of a 10-step cadence are driven by a worker process that a
supervisor kills with SIGKILL at random moments and restarts until all runs are done. From the
ledger of step effects we check: every run completed with the right result, no completed step
was lost, and no completed step ran twice (only the step a killed process was inside may run
again).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).with_name("_campaign_worker.py")
STEPS = [f"s{i}" for i in range(10)]
RUNS = 100
MIN_KILLS = 8


def supervise(kind: str, address: str, ledger: Path, name: str) -> set[int]:
    """Start the worker, SIGKILL it at a random moment, restart; return the killed pids."""
    rng = random.Random()
    killed: set[int] = set()
    deadline = time.monotonic() + 240
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    while time.monotonic() < deadline:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), kind, address, str(ledger), name, str(RUNS), "8"],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None
        size = ledger.stat().st_size
        proc.stdout.readline()  # "ready": imports done, so the kill lands while runs execute
        # Let every incarnation complete at least one step (it may first wait out the killed
        # predecessor's leases), so the campaign always progresses however slow the machine.
        while proc.poll() is None and ledger.stat().st_size == size:
            time.sleep(0.002)
        # The first incarnations die soon after they make progress, so the campaign interrupts
        # the worker often however fast the machine is; later ones get longer to live.
        window = (0.0, 0.01) if len(killed) < MIN_KILLS else (0.02, 0.25)
        try:
            proc.wait(timeout=rng.uniform(*window))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed.add(proc.pid)
            continue
        finally:
            proc.stdout.close()
        assert proc.returncode == 0, f"worker failed with exit code {proc.returncode}"
        return killed
    raise AssertionError("the campaign did not finish in time")


def check_ledger(ledger: Path, killed: set[int]) -> dict[str, int]:
    """Assert the exactly-once guarantees; return counts for the report."""
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        entries[entry["run"]].append(entry)
    assert sorted(entries) == [f"run-{i:03d}" for i in range(RUNS)], "some runs never started"
    reruns = resumed = 0
    for run, items in entries.items():
        first_seen = list(dict.fromkeys(e["step"] for e in items))
        assert first_seen == STEPS, f"{run}: steps out of order or missing: {first_seen}"
        finals = [e for e in items if e["step"] == STEPS[-1]]
        assert finals[-1]["trail"] == STEPS and finals[-1]["total"] == 45, (
            f"{run}: wrong result {finals[-1]}"
        )
        pids = list(dict.fromkeys(e["pid"] for e in items))
        resumed += len(pids) > 1
        for i, entry in enumerate(items):
            again = any(e["step"] == entry["step"] for e in items[i + 1 :])
            if not again:
                continue
            # A repeated step is allowed only if its earlier execution was interrupted: the process
            # that ran it was killed before it completed any later step of this run.
            later_same_pid = [e for e in items[i + 1 :] if e["pid"] == entry["pid"]]
            assert entry["pid"] in killed and not later_same_pid, (
                f"{run}: completed step {entry['step']} executed twice: {items}"
            )
            reruns += 1
    return {"resumed_runs": resumed, "interrupted_steps_rerun": reruns}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_kill_9_campaign_loses_and_repeats_no_completed_step(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """100 runs under random SIGKILLs: all complete right, 0 completed steps lost or repeated."""
    address = {
        "sqlite": lambda: str(tmp_path / "campaign.db"),
        "redis": lambda: request.getfixturevalue("redis_url"),
        "postgres": lambda: request.getfixturevalue("postgres_dsn"),
    }[kind]()
    ledger = tmp_path / "ledger.jsonl"
    ledger.touch()
    killed = supervise(kind, address, ledger, f"campaign-{uuid.uuid4().hex[:8]}")
    counts = check_ledger(ledger, killed)
    print(f"{kind}: {len(killed)} kills, {counts}")
    assert len(killed) >= 5, (
        "the supervisor barely interrupted the worker; the campaign proves nothing"
    )
    assert counts["resumed_runs"] >= 10, "too few runs were resumed by a later process"
