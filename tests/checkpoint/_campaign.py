"""The kill -9 campaign: SIGKILL a checkpointed worker at random moments, restart it at once.

A worker process (``_campaign_worker.py``) runs N runs of a 10-step cadence, 8 at a time,
against a real store. The supervisor kills it with SIGKILL at random moments and starts the
next incarnation immediately -- while runs execute, and again after every run has succeeded
(each incarnation runs all run ids, so finished ones must come back from their completion
records). From the ledger of step effects and returned results it counts:

- ``lost``: runs that never returned the right result (trail ``s0..s9``, total 45);
- ``completed_reruns``: completed steps executed again -- a step that ran again although the
  process that ran it had gone on to a later step, or any step executed after its run had
  returned (a finished run re-executing);
- ``failed_restarts``: incarnations that stopped on ``LEASE_HELD`` because a killed
  predecessor's 30 s lease was not recognised as dead;
- ``interrupted_steps_rerun``: the steps a kill interrupted after their effect but before their
  checkpoint -- the only re-execution the design allows (docs/checkpoints.md);
- ``kills``, ``kills_after_success``, ``resumed_runs``, ``replays``.

The test suite runs one 100-run campaign per store (``test_kill_campaign.py``; on the shared
2-core machine 10-40 s per store, PostgreSQL the slowest). For a larger sample, repeat it::

    nice -n 10 .venv/bin/python -m tests.checkpoint._campaign --runs 100 --rounds 10

(``make campaign``), which starts its own redis-server and PostgreSQL and prints the summed
counts per store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("_campaign_worker.py")
ROOT = Path(__file__).resolve().parents[2]
STEPS = [f"s{i}" for i in range(10)]
LEASE_HELD_EXIT = 3
CONCURRENCY = 8


class Supervisor:
    """Starts, kills and restarts worker incarnations; remembers which pids it killed."""

    def __init__(self, kind: str, address: str, ledger: Path, runs: int) -> None:
        self.argv = [
            sys.executable,
            str(WORKER),
            kind,
            address,
            str(ledger),
            f"campaign-{uuid.uuid4().hex[:8]}",
            str(runs),
            str(CONCURRENCY),
        ]
        self.ledger = ledger
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.rng = random.Random()
        self.killed: set[int] = set()
        self.kills_after_success = 0
        self.failed_restarts = 0
        self.deadline = time.monotonic() + 600

    def incarnation(self, window: tuple[float, float] | None) -> int | None:
        """Run one worker; kill it ``window`` seconds after it makes progress (``None``: never).

        Returns its exit code, or ``None`` if it was killed.
        """
        if time.monotonic() > self.deadline:
            raise AssertionError("the campaign did not finish in time")
        proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, env=self.env)
        assert proc.stdout is not None
        try:
            size = self.ledger.stat().st_size
            proc.stdout.readline()  # "ready": imports done, so the kill lands while runs execute
            # Let every incarnation write at least one ledger line (a step or a returned run), so
            # the campaign progresses however slow the machine is.
            while proc.poll() is None and self.ledger.stat().st_size == size:
                time.sleep(0.001)
            if window is None:
                return proc.wait()
            try:
                return proc.wait(timeout=self.rng.uniform(*window))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()  # reaped: the pid is gone, as after a real crash
                self.killed.add(proc.pid)
                return None
        finally:
            proc.stdout.close()

    def outcome(self, code: int | None) -> bool:
        """Whether the incarnation finished every run; a ``LEASE_HELD`` stop is counted."""
        if code == LEASE_HELD_EXIT:
            self.failed_restarts += 1
            return False
        if code not in (None, 0):
            raise AssertionError(f"worker failed with exit code {code}")
        return code == 0

    def campaign(self, *, quick_kills: int, kills_after_success: int) -> None:
        """Kill while runs execute until all succeed, then keep killing replaying workers."""
        while True:  # the first incarnations die soon after they make progress, later ones later
            window = (0.0, 0.01) if len(self.killed) < quick_kills else (0.02, 0.25)
            if self.outcome(self.incarnation(window)):
                break
        while self.kills_after_success < kills_after_success:
            if self.incarnation((0.0, 0.02)) is None:
                self.kills_after_success += 1
        while not self.outcome(self.incarnation(None)):
            pass


def check_ledger(ledger: Path, runs: int, killed: set[int]) -> dict[str, int]:
    """Count what the campaign measures (see the module docstring) from the ledger."""
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        entries[entry["run"]].append(entry)
    counts = dict.fromkeys(
        ("lost", "completed_reruns", "interrupted_steps_rerun", "resumed_runs", "replays"), 0
    )
    for i in range(runs):
        items = entries.get(f"run-{i:03d}", [])
        returned = [n for n, e in enumerate(items) if "returned" in e]
        right = all(items[n]["returned"] == STEPS and items[n]["total"] == 45 for n in returned)
        if not returned or not right:
            counts["lost"] += 1
            continue
        counts["replays"] += len(returned) - 1
        steps = [e for e in items[: returned[0]] if "step" in e]
        counts["completed_reruns"] += sum("step" in e for e in items[returned[0] :])
        if list(dict.fromkeys(e["step"] for e in steps)) != STEPS:
            counts["lost"] += 1  # a step never ran or ran out of order
        counts["resumed_runs"] += len({e["pid"] for e in steps}) > 1
        for n, entry in enumerate(steps):
            if not any(e["step"] == entry["step"] for e in steps[n + 1 :]):
                continue
            # Repeating a step is allowed only if its earlier execution was interrupted: the
            # process that ran it was killed before it completed any later step of this run.
            later_same_pid = any(e["pid"] == entry["pid"] for e in steps[n + 1 :])
            if entry["pid"] in killed and not later_same_pid:
                counts["interrupted_steps_rerun"] += 1
            else:
                counts["completed_reruns"] += 1
    return counts


def run_campaign(
    kind: str,
    address: str,
    workdir: Path,
    *,
    runs: int,
    quick_kills: int = 8,
    kills_after_success: int = 5,
) -> dict[str, int]:
    """One campaign against one store; returns the counts of :func:`check_ledger` and more."""
    ledger = workdir / f"ledger-{kind}-{uuid.uuid4().hex[:6]}.jsonl"
    ledger.touch()
    supervisor = Supervisor(kind, address, ledger, runs)
    supervisor.campaign(quick_kills=quick_kills, kills_after_success=kills_after_success)
    counts = check_ledger(ledger, runs, supervisor.killed)
    counts.update(
        runs=runs,
        kills=len(supervisor.killed) - supervisor.kills_after_success,
        kills_after_success=supervisor.kills_after_success,
        failed_restarts=supervisor.failed_restarts,
    )
    return counts


def main() -> None:
    """Run the full campaign against SQLite, Redis and PostgreSQL and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="campaigns per store (summed)")
    parser.add_argument("--stores", default="sqlite,redis,postgres")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _servers import start_postgres, start_redis

    with tempfile.TemporaryDirectory(prefix="cadence-campaign-") as tmp:
        for kind in args.stores.split(","):
            stop = None
            if kind == "sqlite":
                address = str(Path(tmp) / "campaign.db")
            elif kind == "redis":
                address, stop = start_redis()
            else:
                address, stop = start_postgres()
            started = time.monotonic()
            totals: dict[str, int] = {}
            try:
                for _ in range(args.rounds):
                    for key, value in run_campaign(
                        kind, address, Path(tmp), runs=args.runs
                    ).items():
                        totals[key] = totals.get(key, 0) + value
            finally:
                if stop is not None:
                    stop()
            print(f"{kind}: {json.dumps(totals)} ({time.monotonic() - started:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
