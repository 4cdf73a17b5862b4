"""Worker process of the kill -9 campaign: runs a 10-step checkpointed cadence for N run ids.

Usage: ``python _campaign_worker.py KIND ADDRESS LEDGER CADENCE_NAME RUNS CONCURRENCY``

Every step appends one JSON line ``{"run", "step", "pid"}`` to the ledger (a single ``write`` on
an ``O_APPEND`` file, so a SIGKILL leaves whole lines only); the last step's line also carries
the final trail and total. Runs whose last step is already in the ledger are not started again.
The supervisor SIGKILLs this process at random moments and starts it again until it exits 0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import sys
from typing import Any

from cadence import Cadence, Score
from cadence.exceptions import CheckpointError

STEPS = [f"s{i}" for i in range(10)]
LEASE_TTL = 0.3


@dataclasses.dataclass
class Work(Score):
    run: str = ""
    trail: list[str] = dataclasses.field(default_factory=list)
    total: int = 0


def make_store(kind: str, address: str) -> Any:
    if kind == "sqlite":
        from cadence.checkpoint import SQLiteCheckpointStore

        return SQLiteCheckpointStore(address, lease_ttl=LEASE_TTL)
    if kind == "redis":
        from cadence.checkpoint import RedisCheckpointStore

        return RedisCheckpointStore(address, lease_ttl=LEASE_TTL)
    from cadence.checkpoint import PostgresCheckpointStore

    return PostgresCheckpointStore(address, lease_ttl=LEASE_TTL)


def make_step(index: int, ledger: int) -> Any:
    async def step(score: Work) -> None:
        await asyncio.sleep(random.uniform(0.001, 0.004))
        score.trail.append(STEPS[index])
        score.total += index
        entry: dict[str, Any] = {"run": score.run, "step": STEPS[index], "pid": os.getpid()}
        if index == len(STEPS) - 1:
            entry.update(trail=score.trail, total=score.total)
        os.write(ledger, (json.dumps(entry) + "\n").encode())
        # Effect done, checkpoint not yet saved: a kill here makes the step run again.
        await asyncio.sleep(random.uniform(0, 0.002))

    return step


def finished_runs(path: str) -> set[str]:
    done = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["step"] == STEPS[-1]:
                done.add(entry["run"])
    return done


async def main(
    kind: str, address: str, ledger_path: str, name: str, runs: int, concurrency: int
) -> None:
    store = make_store(kind, address)
    ledger = os.open(ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    cadence = Cadence(name, Work()).with_checkpoint(store)
    for i, step_name in enumerate(STEPS):
        cadence.then(step_name, make_step(i, ledger))
    done = finished_runs(ledger_path)
    gate = asyncio.Semaphore(concurrency)

    async def one(run_id: str) -> None:
        async with gate:
            while True:
                try:
                    await cadence.run(Work(run=run_id), run_id=run_id)
                    return
                except CheckpointError as exc:
                    if exc.code != "LEASE_HELD":  # the killed predecessor still holds it
                        raise
                    await asyncio.sleep(exc.details["retry_after"] + 0.01)

    print("ready", flush=True)
    await asyncio.gather(*(one(f"run-{i:03d}") for i in range(runs) if f"run-{i:03d}" not in done))


if __name__ == "__main__":
    kind, address, ledger_path, name, runs, concurrency = sys.argv[1:]
    asyncio.run(main(kind, address, ledger_path, name, int(runs), int(concurrency)))
