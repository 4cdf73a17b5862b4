"""Worker process of the kill -9 campaign: runs a 10-step checkpointed cadence for N run ids.

Usage: ``python _campaign_worker.py KIND ADDRESS LEDGER CADENCE_NAME RUNS CONCURRENCY``

Every step appends one JSON line ``{"run", "step", "pid"}`` to the ledger (a single ``write`` on
an ``O_APPEND`` file, so a SIGKILL leaves whole lines only), and every run that returns appends
``{"run", "returned": trail, "total", "pid"}``. Each incarnation runs *all* run ids, finished or
not: a finished run must come back from its completion record without executing a step. The
supervisor SIGKILLs this process at random moments -- also after runs, or all of them, have
succeeded -- and starts it again at once until it exits 0.

Leases last 30 s and sessions never wait for one (``lease_wait=0``): a restart that had to wait
out its killed predecessor's lease fails with ``LEASE_HELD`` and exit code 3, which the
supervisor counts. Dead holders must be recognised instead.
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
LEASE_TTL = 30.0
LEASE_HELD_EXIT = 3


@dataclasses.dataclass
class Work(Score):
    run: str = ""
    trail: list[str] = dataclasses.field(default_factory=list)
    total: int = 0


def make_store(kind: str, address: str) -> Any:
    if kind == "sqlite":
        from cadence.checkpoint import SQLiteCheckpointStore

        return SQLiteCheckpointStore(address, lease_ttl=LEASE_TTL, lease_wait=0)
    if kind == "redis":
        from cadence.checkpoint import RedisCheckpointStore

        return RedisCheckpointStore(address, lease_ttl=LEASE_TTL, lease_wait=0)
    from cadence.checkpoint import PostgresCheckpointStore

    return PostgresCheckpointStore(address, lease_ttl=LEASE_TTL, lease_wait=0)


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


async def main(
    kind: str, address: str, ledger_path: str, name: str, runs: int, concurrency: int
) -> None:
    store = make_store(kind, address)
    ledger = os.open(ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    cadence = Cadence(name, Work()).with_checkpoint(store)
    for i, step_name in enumerate(STEPS):
        cadence.then(step_name, make_step(i, ledger))
    gate = asyncio.Semaphore(concurrency)

    async def one(run_id: str) -> None:
        async with gate:
            result = await cadence.run(Work(run=run_id), run_id=run_id)
        line = {"run": run_id, "returned": result.trail, "total": result.total, "pid": os.getpid()}
        os.write(ledger, (json.dumps(line) + "\n").encode())

    print("ready", flush=True)
    try:
        await asyncio.gather(*(one(f"run-{i:03d}") for i in range(runs)))
    except CheckpointError as exc:
        if exc.code != "LEASE_HELD":
            raise
        print(f"LEASE_HELD: {exc}", file=sys.stderr, flush=True)
        sys.exit(LEASE_HELD_EXIT)


if __name__ == "__main__":
    kind, address, ledger_path, name, runs, concurrency = sys.argv[1:]
    asyncio.run(main(kind, address, ledger_path, name, int(runs), int(concurrency)))
