"""Per-step cost of checkpointing, for each store, as a ratio to the same cadence without one.

A cadence of ``--steps`` sequential async steps runs on a small score (an id, a list growing by
one item per step, a Decimal total). Variants run interleaved round by round in one process and
the best round of each is kept; the baseline is the same cadence with no checkpoint store.

* ``none``                 — no checkpoint (the baseline).
* ``memory``               — ``InMemoryCheckpointStore`` (encode + deep copy; the codec's cost).
* ``sqlite FULL/NORMAL``   — ``SQLiteCheckpointStore`` on a temp file, both sync levels.
* ``redis`` / ``postgres`` — real servers started for the run (skipped with a note if the
  binaries are missing: ``apt-get install redis-server postgresql``).

Every checkpointed run also takes and releases a lease, counts an attempt and writes its
completion record (with its last step, in one write): that fixed cost per run is included,
spread over the steps. Each run has a new run id. A second table gives the cost of running a
*finished* run id again (a replay from its completion record: one read, no step executes).

Run: ``python benchmarks/bench_checkpoint.py [--steps N] [--runs N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "checkpoint"))

from cadence import Cadence, Score  # noqa: E402
from cadence.checkpoint import (  # noqa: E402
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
)


@dataclasses.dataclass
class Order(Score):
    order_id: str = "ORD-1"
    items: list[str] = dataclasses.field(default_factory=list)
    total: Decimal = Decimal(0)


async def step(score: Order) -> None:
    score.items.append("x")
    score.total += 1


def build(steps: int, store: Any) -> Cadence[Order]:
    cadence = Cadence(f"bench-{uuid.uuid4().hex[:6]}", Order())
    if store is not None:
        cadence.with_checkpoint(store)
    for i in range(steps):
        cadence.then(f"s{i}", step)
    return cadence


async def measure(cadence: Cadence[Order], runs: int, *, replay: bool = False) -> float:
    """Seconds for ``runs`` runs on new run ids (``replay``: on ids that already finished)."""
    ids = [f"r-{uuid.uuid4().hex}" for _ in range(runs)]
    if replay:
        for run_id in ids:
            await cadence.run(Order(), run_id=run_id)
    t0 = time.perf_counter()
    for run_id in ids:
        await cadence.run(Order(), run_id=run_id)
    return time.perf_counter() - t0


def servers() -> tuple[dict[str, Callable[[], Any]], list[Callable[[], None]], list[str]]:
    """Store factories for the servers that could be started, stop functions and notes."""
    factories: dict[str, Callable[[], Any]] = {}
    stops: list[Callable[[], None]] = []
    notes: list[str] = []
    from _servers import start_postgres, start_redis

    for name, start, make in (
        ("redis", start_redis, RedisCheckpointStore),
        ("postgres", start_postgres, PostgresCheckpointStore),
    ):
        try:
            address, stop = start()
        except Exception as exc:
            notes.append(f"{name}: not measured ({exc})")
            continue
        stops.append(stop)
        factories[name] = lambda make=make, address=address: make(address)
    return factories, stops, notes


async def main(steps: int, runs: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    factories: dict[str, Callable[[], Any]] = {
        "none": lambda: None,
        "memory": InMemoryCheckpointStore,
        "sqlite FULL": lambda: SQLiteCheckpointStore(tmp / "full.db"),
        "sqlite NORMAL": lambda: SQLiteCheckpointStore(tmp / "normal.db", synchronous="NORMAL"),
    }
    extra, stops, notes = servers()
    factories.update(extra)
    try:
        cadences = {name: build(steps, make()) for name, make in factories.items()}
        best = dict.fromkeys(cadences, float("inf"))
        for cadence in cadences.values():  # warm up: connections, schema, code paths
            await measure(cadence, 2)
        replays = dict.fromkeys(cadences, float("inf"))
        for _ in range(rounds):
            for name, cadence in cadences.items():
                best[name] = min(best[name], await measure(cadence, runs))
                if name != "none":
                    replays[name] = min(replays[name], await measure(cadence, runs, replay=True))
    finally:
        for stop in stops:
            stop()
    per_step = {name: t / (runs * steps) * 1e6 for name, t in best.items()}
    base = per_step["none"]
    print(f"checkpoint cost per step ({steps} steps x {runs} runs, best of {rounds} rounds)")
    print(f"{'store':<16}{'us/step':>12}{'ratio':>10}{'extra us/step':>16}")
    for name, value in per_step.items():
        print(f"{name:<16}{value:>12.2f}{value / base:>10.1f}{value - base:>16.2f}")
    print(f"\nrunning a finished run id again (replay, no step executes; best of {rounds} rounds)")
    print(f"{'store':<16}{'us/run':>12}{'vs a fresh run':>16}")
    for name, took in replays.items():
        if name != "none":
            fresh = best[name] / runs
            print(f"{name:<16}{took / runs * 1e6:>12.1f}{took / runs / fresh:>15.2f}x")
    for note in notes:
        print(note)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.runs, args.rounds))
