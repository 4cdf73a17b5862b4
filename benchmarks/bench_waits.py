"""``.map`` and wait/resume costs, each as a ratio to a baseline measured in the same process.

1. ``.map`` per-item overhead: a cadence whose one step is ``.map(..., concurrency=16)`` over
   ``--items`` small dict items, against raw asyncio doing the same work -- one task per item
   under an ``asyncio.Semaphore(16)``, results gathered in item order. Two per-item notes: a
   no-op (the pure bookkeeping cost) and one that yields to the loop once (``sleep(0)``, the
   least a note doing I/O costs). A second baseline is the leaner hand-written pool (16 worker
   tasks pulling the next index), which is how ``.map`` itself runs. ``.map`` also copies each
   item for isolation; that copy is part of its figure. The issue's target: at most 2x the
   semaphore figure.
2. Wait/resume round trip per store: ``run()`` parks at a ``.wait`` (``RunSuspended``) and
   ``resume(run_id, True)`` completes the run, against one plain checkpointed ``run()`` of the
   same two steps on the same store (its lease, checkpoints and cleanup are in both figures).
   Redis and PostgreSQL are real servers started for the run (skipped with a note when their
   binaries are missing).

Variants run interleaved round by round and the best round of each is kept.

Run: ``python benchmarks/bench_waits.py [--items N] [--rounds N] [--trips N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_checkpoint import servers  # noqa: E402  (redis and postgres started for the run)

from cadence import Approval, Cadence, Decision, RunSuspended, Score  # noqa: E402
from cadence.checkpoint import InMemoryCheckpointStore, SQLiteCheckpointStore  # noqa: E402

CONCURRENCY = 16


@dataclass
class Batch(Score):
    items: list[dict[str, int]] = field(default_factory=list)
    out: list[Any] = field(default_factory=list)
    decision: Decision | None = None
    log: list[str] = field(default_factory=list)


async def noop(item: dict[str, int]) -> int:
    return item["i"]


async def yields(item: dict[str, int]) -> int:
    await asyncio.sleep(0)
    return item["i"]


async def raw_map(items: list[dict[str, int]], fn: Callable[[Any], Awaitable[int]]) -> list[int]:
    """The baseline: a semaphore bounding one task per item, results in item order."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(item: dict[str, int]) -> int:
        async with limit:
            return await fn(item)

    return await asyncio.gather(*(one(item) for item in items))


async def raw_pool(items: list[dict[str, int]], fn: Callable[[Any], Awaitable[int]]) -> list[int]:
    """The leaner hand-written form: 16 worker tasks pulling the next index, results in place."""
    results: list[int] = [0] * len(items)
    indices = iter(range(len(items)))

    async def worker() -> None:
        for i in indices:
            results[i] = await fn(items[i])

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(items)))))
    return results


async def bench_map(count: int, rounds: int) -> None:
    items = [{"i": i} for i in range(count)]
    print(f".map per item ({count} items, concurrency={CONCURRENCY}, best of {rounds} rounds)")
    print(
        f"{'note':<10}{'semaphore us':>14}{'pool us':>10}{'map us':>10}"
        f"{'map/semaphore':>15}{'map/pool':>10}"
    )
    for label, fn in (("no-op", noop), ("sleep(0)", yields)):
        flow = Cadence("map", Batch()).map("each", "items", fn, concurrency=CONCURRENCY, into="out")
        sem_best = pool_best = map_best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            expected = await raw_map(items, fn)
            sem_best = min(sem_best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            pooled = await raw_pool(items, fn)
            pool_best = min(pool_best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = await flow.run(Batch(items=items))
            map_best = min(map_best, time.perf_counter() - t0)
            assert result.out == expected == pooled  # same work, same order
        sem, pool, mapped = (t / count * 1e6 for t in (sem_best, pool_best, map_best))
        print(
            f"{label:<10}{sem:>14.2f}{pool:>10.2f}{mapped:>10.2f}"
            f"{mapped / sem:>15.2f}{mapped / pool:>10.2f}"
        )


def log_step(name: str) -> Callable[[Batch], None]:
    def note(score: Batch) -> None:
        score.log.append(name)

    note.__name__ = name
    return note


def flows(store: Any) -> tuple[Cadence[Batch], Cadence[Batch]]:
    """The same two steps on ``store``: plain, and with an approval between them."""
    tag = uuid.uuid4().hex[:6]
    plain = (
        Cadence(f"plain-{tag}", Batch())
        .then("a", log_step("a"))
        .then("b", log_step("b"))
        .with_checkpoint(store)
    )
    waiting = (
        Cadence(f"wait-{tag}", Batch())
        .then("a", log_step("a"))
        .wait("ok", Approval(payload={"n": 1}), into="decision")
        .then("b", log_step("b"))
        .with_checkpoint(store)
    )
    return plain, waiting


async def plain_runs(flow: Cadence[Batch], trips: int) -> float:
    t0 = time.perf_counter()
    for i in range(trips):
        await flow.run(Batch(), run_id=f"p{uuid.uuid4().hex}{i}")
    return time.perf_counter() - t0


async def round_trips(flow: Cadence[Batch], trips: int) -> float:
    t0 = time.perf_counter()
    for i in range(trips):
        run_id = f"w{uuid.uuid4().hex}{i}"
        try:
            await flow.run(Batch(), run_id=run_id)
        except RunSuspended:
            pass
        else:
            raise AssertionError("the run did not park")
        done = await flow.resume(run_id, True)
        assert done.log == ["a", "b"]
    return time.perf_counter() - t0


async def bench_waits(trips: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    factories: dict[str, Callable[[], Any]] = {
        "memory": InMemoryCheckpointStore,
        "sqlite": lambda: SQLiteCheckpointStore(tmp / "runs.db"),
    }
    extra, stops, notes = servers()
    factories.update(extra)
    try:
        pairs = {name: flows(make()) for name, make in factories.items()}
        for plain, waiting in pairs.values():  # warm up: connections, schema, code paths
            await plain_runs(plain, 2)
            await round_trips(waiting, 2)
        best = {name: [float("inf"), float("inf")] for name in pairs}
        for _ in range(rounds):
            for name, (plain, waiting) in pairs.items():
                best[name][0] = min(best[name][0], await plain_runs(plain, trips))
                best[name][1] = min(best[name][1], await round_trips(waiting, trips))
        for plain, _ in pairs.values():
            store = plain.checkpoint_store
            if hasattr(store, "aclose"):
                await store.aclose()
    finally:
        for stop in stops:
            stop()
    print(f"\nwait/resume round trip ({trips} trips, best of {rounds} rounds)")
    print(f"{'store':<10}{'plain run ms':>14}{'park+resume ms':>16}{'ratio':>8}")
    for name, (plain_t, trip_t) in best.items():
        plain_ms, trip_ms = plain_t / trips * 1e3, trip_t / trips * 1e3
        print(f"{name:<10}{plain_ms:>14.3f}{trip_ms:>16.3f}{trip_ms / plain_ms:>8.2f}")
    for note in notes:
        print(note)


async def main(items: int, rounds: int, trips: int) -> None:
    await bench_map(items, rounds)
    await bench_waits(trips, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trips", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.rounds, args.trips))
