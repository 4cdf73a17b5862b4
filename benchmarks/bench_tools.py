"""Tool-calling benchmarks, each reported as a ratio to a baseline measured in the same run.

1. One turn of 16 async tool calls, each awaiting 100 ms of I/O, run by ``ToolBox.run`` (a
   ``.sync`` group with isolated views and a merge): wall time against the sequential sum of
   the same calls awaited one by one (ideal: 1/16 = 0.0625) and against the slowest call.
2. The same inside a whole ``agent`` turn (model → 16 tools → model, ``ScriptedModel``).
3. 16 *sync* tools each blocking 100 ms: they run in the default thread pool, so the time is
   bounded by its size (``min(32, cpus + 4)`` workers), reported against the same bound.
4. Overhead per call: 100 no-op async tool calls through ``ToolBox.run`` (argument validation,
   group, views, merge, result rendering) against ``asyncio.gather`` of the bare functions.

Run: ``python benchmarks/bench_tools.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cadence import Score  # noqa: E402
from cadence_llm import ModelResponse, ScriptedModel, ToolBox, ToolCall, agent, tool  # noqa: E402

CALLS = 16
DELAY = 0.1


@dataclass
class BenchScore(Score):
    query: str = "benchmark"
    answer: str = ""
    results: list[str] = field(default_factory=list)


async def _fetch(score: BenchScore, key: str) -> str:
    await asyncio.sleep(DELAY)
    score.results.append(key)
    return key


fetch = tool(name="fetch")(_fetch)


def _block(key: str) -> str:
    time.sleep(DELAY)
    return key


block = tool(name="block")(_block)


async def _noop(key: str) -> str:
    return key


noop = tool(name="noop")(_noop)


def _calls(name: str, n: int) -> list[ToolCall]:
    return [
        ToolCall(id=f"c{i}", name=name, arguments=json.dumps({"key": f"k{i}"})) for i in range(n)
    ]


async def bench_parallel_turn() -> dict[str, float]:
    box = ToolBox([fetch])
    t0 = time.perf_counter()
    seq = BenchScore()
    for i in range(CALLS):
        await _fetch(seq, f"k{i}")
    sequential = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = BenchScore()
    await _fetch(single, "k")
    slowest = time.perf_counter() - t0
    best = float("inf")
    for _ in range(3):
        score = BenchScore()
        t0 = time.perf_counter()
        out = await box.run(_calls("fetch", CALLS), score)
        best = min(best, time.perf_counter() - t0)
        assert all(o.ok for o in out) and len(score.results) == CALLS
    return {"sequential": sequential, "slowest": slowest, "toolbox": best}


async def bench_agent_turn() -> dict[str, float]:
    turn = ModelResponse(tool_calls=tuple(_calls("fetch", CALLS)), finish_reason="tool_calls")
    best = float("inf")
    for _ in range(3):
        model = ScriptedModel([turn, "done"])
        score = BenchScore()
        t0 = time.perf_counter()
        await agent(model, [fetch]).run(score)
        best = min(best, time.perf_counter() - t0)
        assert len(score.results) == CALLS
    return {"agent": best}


async def bench_sync_tools() -> dict[str, float]:
    workers = min(32, (os.cpu_count() or 1) + 4)
    box = ToolBox([block])
    t0 = time.perf_counter()
    out = await box.run(_calls("block", CALLS))
    elapsed = time.perf_counter() - t0
    assert all(o.ok for o in out)
    batches = -(-CALLS // workers)
    return {"elapsed": elapsed, "workers": workers, "bound": batches * DELAY}


async def bench_overhead(n: int = 100, rounds: int = 30) -> dict[str, float]:
    box = ToolBox([noop])
    calls = _calls("noop", n)
    raw_best = box_best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        await asyncio.gather(*(_noop(f"k{i}") for i in range(n)))
        raw_best = min(raw_best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        await box.run(calls, BenchScore())
        box_best = min(box_best, time.perf_counter() - t0)
    return {"raw_us": raw_best / n * 1e6, "toolbox_us": box_best / n * 1e6}


def main() -> None:
    par = asyncio.run(bench_parallel_turn())
    ratio = par["toolbox"] / par["sequential"]
    print(
        f"{CALLS} async tool calls × {DELAY * 1000:.0f} ms: ToolBox.run {par['toolbox'] * 1000:.1f} ms "
        f"vs sequential sum {par['sequential'] * 1000:.1f} ms → ratio {ratio:.4f} "
        f"(ideal {1 / CALLS:.4f}); vs slowest single call {par['slowest'] * 1000:.1f} ms → "
        f"{par['toolbox'] / par['slowest']:.2f}×"
    )
    ag = asyncio.run(bench_agent_turn())
    print(
        f"agent turn (model → {CALLS} tools → model): {ag['agent'] * 1000:.1f} ms → "
        f"{ag['agent'] / par['sequential']:.4f} of the sequential sum"
    )
    sync = asyncio.run(bench_sync_tools())
    print(
        f"{CALLS} sync tools × {DELAY * 1000:.0f} ms (thread pool of {sync['workers']:.0f}): "
        f"{sync['elapsed'] * 1000:.1f} ms vs pool bound {sync['bound'] * 1000:.0f} ms → "
        f"{sync['elapsed'] / sync['bound']:.2f}×; vs sequential sum {CALLS * DELAY * 1000:.0f} ms → "
        f"{sync['elapsed'] / (CALLS * DELAY):.3f}"
    )
    over = asyncio.run(bench_overhead())
    print(
        f"per-call overhead (100 no-op calls): ToolBox.run {over['toolbox_us']:.1f} µs/call vs "
        f"asyncio.gather {over['raw_us']:.2f} µs/call → +{over['toolbox_us'] - over['raw_us']:.1f} µs/call"
    )


if __name__ == "__main__":
    main()
