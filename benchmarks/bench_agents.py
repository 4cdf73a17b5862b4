"""What budgets, streaming and durable tool calls cost an agent run, as ratios in the same run.

One agent run: 4 turns of 4 no-op tool calls each, then a final answer, on ``ScriptedModel``
(no network, so the figures are cadence's own overhead, the worst case for a ratio). Variants,
each measured interleaved with the plain run (best of ``ROUNDS``):

1. ``budget=Budget(...)``: every request and turn's tool calls reserved and settled.
2. ``Agent.stream()`` consumed to the end: the model streamed, events queued.
3. ``checkpoint=InMemoryCheckpointStore()``: a checkpoint per turn plus the in-turn records
   (the model's answer and each completed call), against the plain run.

Run: ``python benchmarks/bench_agents.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cadence import Budget, Score  # noqa: E402
from cadence.checkpoint import InMemoryCheckpointStore  # noqa: E402
from cadence_llm import ModelResponse, ScriptedModel, ToolCall, agent, tool  # noqa: E402

TURNS = 4
CALLS = 4
ROUNDS = 30


@dataclass
class BenchScore(Score):
    query: str = "benchmark"
    answer: str = ""
    notes: list[str] = field(default_factory=list)


@tool
async def jot(score: BenchScore, text: str) -> str:
    """Write a note."""
    score.notes.append(text)
    return "ok"


def _script() -> list[ModelResponse | str]:
    turns: list[ModelResponse | str] = [
        ModelResponse(
            tool_calls=tuple(
                ToolCall(id=f"t{t}c{i}", name="jot", arguments=json.dumps({"text": f"{t}.{i}"}))
                for i in range(CALLS)
            ),
            finish_reason="tool_calls",
        )
        for t in range(TURNS)
    ]
    return [*turns, "done"]


async def plain(n: int) -> None:
    await agent(ScriptedModel(_script()), [jot], max_turns=TURNS + 1).run(BenchScore())


async def budgeted(n: int) -> None:
    budget = Budget(requests=100, output_tokens=100_000, tool_calls=100)
    await agent(ScriptedModel(_script()), [jot], max_turns=TURNS + 1, budget=budget).run(
        BenchScore()
    )


async def streamed(n: int) -> None:
    run = agent(ScriptedModel(_script()), [jot], max_turns=TURNS + 1)
    async for _ in run.stream(BenchScore()):
        pass


async def durable(n: int) -> None:
    store = InMemoryCheckpointStore()
    run = agent(ScriptedModel(_script()), [jot], max_turns=TURNS + 1, checkpoint=store)
    await run.run(BenchScore(), run_id=f"r{n}")


async def race(variant: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """Best times of the plain run and of ``variant``, measured alternately."""
    base = best = float("inf")
    for n in range(ROUNDS):
        t0 = time.perf_counter()
        await plain(n)
        base = min(base, time.perf_counter() - t0)
        t0 = time.perf_counter()
        await variant(n)
        best = min(best, time.perf_counter() - t0)
    return base, best


def main() -> None:
    print(
        f"agent run: {TURNS} turns × {CALLS} no-op tool calls + a final answer, ScriptedModel, "
        f"best of {ROUNDS} (interleaved)"
    )
    for label, variant in (
        ("budget=Budget(...)", budgeted),
        ("Agent.stream() to the end", streamed),
        ("checkpoint= (turns + per-call records)", durable),
    ):
        base, best = asyncio.run(race(variant))
        print(f"{label}: {best * 1000:.2f} ms vs plain {base * 1000:.2f} ms → {best / base:.2f}×")


if __name__ == "__main__":
    main()
