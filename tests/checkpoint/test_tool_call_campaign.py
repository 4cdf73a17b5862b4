"""Kill -9 campaign for tool calls: SIGKILL agents inside their turns; no completed call re-runs.

A worker process runs 40 checkpointed agent runs (``_tool_call_worker.py``: three turns of
three concurrent tool calls each) against a real store; a supervisor kills it with SIGKILL at
random moments -- mostly while tool calls of a turn are in flight -- and restarts it until every
run has returned. From the ledger we check that every run returned the right score (each of
the nine calls' items exactly once), that no call ever executed again after its outcome was
recorded, and that every call that did execute twice was interrupted the first time: the
process running it was killed before it recorded the outcome.

One window is outside the agent's reach: a kill after a run finished (its checkpoints cleared)
but before the worker noted that it returned. The store then holds nothing of the run, so the
next incarnation runs it afresh -- a new run under the same id. The ledger's ``cleared`` lines
split each run into such *lives*; the guarantees are checked within every life, and the lives
beyond the first are counted (``finished_runs_restarted``).
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

sys.path.insert(0, str(Path(__file__).parent))

from _tool_call_worker import expected_items

WORKER = Path(__file__).with_name("_tool_call_worker.py")
RUNS = 40
MIN_KILLS = 8


def supervise(kind: str, address: str, ledger: Path) -> set[int]:
    """Start the worker, SIGKILL it soon after it makes progress, restart; return killed pids."""
    rng = random.Random()
    killed: set[int] = set()
    deadline = time.monotonic() + 300
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    name = f"agent-{uuid.uuid4().hex[:8]}"
    while time.monotonic() < deadline:
        argv = [sys.executable, str(WORKER), kind, address, str(ledger), name, str(RUNS), "8"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        size = ledger.stat().st_size
        proc.stdout.readline()  # "ready": imports done, so the kill lands while turns run
        while proc.poll() is None and ledger.stat().st_size == size:
            time.sleep(0.002)  # every incarnation makes progress, however slow the machine
        window = (0.0, 0.01) if len(killed) < MIN_KILLS else (0.02, 0.2)
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
    """Assert the guarantees; return counts for the report."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        by_run[entry["run"]].append(entry)
    assert sorted(by_run) == [f"run-{i:03d}" for i in range(RUNS)], "some runs never started"
    counts = {
        "interrupted_calls_rerun": 0,
        "replayed_calls": 0,
        "resumed_mid_turn": 0,
        "finished_runs_restarted": 0,
    }
    for run, entries in by_run.items():
        done = [e for e in entries if e["phase"] == "done"]
        assert len(done) == 1, f"{run}: returned {len(done)} times"
        assert done[0]["items"] == expected_items(), f"{run}: wrong score {done[0]['items']}"
        lives: list[list[dict[str, Any]]] = [[]]
        for entry in entries:
            lives[-1].append(entry)
            if entry["phase"] == "cleared":
                lives.append([])
        lives = [life for life in lives if any("call" in e for e in life)]
        counts["finished_runs_restarted"] += len(lives) - 1
        for life in lives:
            for name, value in check_life(run, life, killed).items():
                counts[name] += value
    return counts


def check_life(run: str, entries: list[dict[str, Any]], killed: set[int]) -> dict[str, int]:
    """The guarantees within one life of a run (between starting afresh and being cleared)."""
    counts = {"interrupted_calls_rerun": 0, "replayed_calls": 0, "resumed_mid_turn": 0}
    counts["replayed_calls"] = sum(e["phase"] == "replayed" for e in entries)
    calls: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for position, entry in enumerate(entries):
        if "call" in entry:
            calls[entry["call"]].append((position, entry))
    assert sorted(calls) == sorted(expected_items()), f"{run}: calls missing: {sorted(calls)}"
    turns_resumed = set()
    for call, seen in calls.items():
        effects = [(p, e) for p, e in seen if e["phase"] == "effect"]
        recorded = [p for p, e in seen if e["phase"] == "recorded"]
        assert effects, f"{run}: call {call} never executed"
        if recorded:  # once its outcome was recorded, a call never executes again
            assert all(p < recorded[0] for p, _ in effects), (
                f"{run}: call {call} executed after its outcome was recorded: {seen}"
            )
        for _, earlier in effects[:-1]:  # every repeat was interrupted the first time
            assert earlier["pid"] in killed, f"{run}: call {call} executed twice: {seen}"
            counts["interrupted_calls_rerun"] += 1
        if any(e["phase"] == "replayed" for _, e in seen):
            turns_resumed.add(call.split("_")[0])
    counts["resumed_mid_turn"] = len(turns_resumed)
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_kill_9_inside_turns_never_reruns_a_completed_tool_call(
    kind: str, tmp_path: Path, store_address: str
) -> None:
    """40 agent runs under random SIGKILLs: right scores, 0 completed tool calls re-run."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.touch()
    killed = supervise(kind, store_address, ledger)
    counts = check_ledger(ledger, killed)
    print(f"{kind}: {len(killed)} kills, {counts}")
    assert len(killed) >= 5, "the supervisor barely interrupted the worker; this proves nothing"
    assert counts["resumed_mid_turn"] >= 3, "too few turns were resumed after a kill mid-turn"
