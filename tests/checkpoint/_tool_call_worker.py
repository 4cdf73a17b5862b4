"""Worker of the tool-call kill -9 campaign: checkpointed agents whose turns run three tools each.

Usage: ``python _tool_call_worker.py KIND ADDRESS LEDGER AGENT_NAME RUNS CONCURRENCY``

Each run is one agent run (``run_id`` = ``run-NNN``) over three tool turns of three concurrent
calls (``t1_c0`` ... ``t3_c2``), then a final answer. The ledger (one ``write`` per line on an
``O_APPEND`` file, so a SIGKILL leaves whole lines only) gets:

* ``effect``: a tool call executed (written by the tool itself);
* ``recorded``: the call's outcome reached the checkpoint store (written right after the store
  accepted the record; a kill may land between the two, so it is a witness, not the only proof);
* ``replayed``: a resumed turn reused the recorded outcome instead of running the call;
* ``cleared``: the agent run finished and its turn checkpoints are being cleared (a kill after
  this and before ``done`` makes the next incarnation start the run afresh: the store keeps no
  record that it finished);
* ``done``: the run returned, with the score's items.

Runs with a ``done`` line are not started again. The supervisor SIGKILLs this process at random
moments and restarts it until it exits 0.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import os
import random
import sys
from typing import Any

from cadence import Score
from cadence.exceptions import CheckpointError
from cadence_llm import (
    AgentEvent,
    FunctionModel,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolMessage,
    tool,
)
from cadence_llm import agent as make_agent

TURNS = 3
CALLS = 3
LEASE_TTL = 0.3


@dataclasses.dataclass
class Work(Score):
    run: str = ""
    query: str = "work"
    answer: str = ""
    items: list[str] = dataclasses.field(default_factory=list)


def expected_items() -> list[str]:
    """The score's items after a correct run: every call once, merged in call order per turn."""
    return [f"t{t}_c{c}" for t in range(1, TURNS + 1) for c in range(CALLS)]


class Ledger:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, **entry: Any) -> None:
        entry["pid"] = os.getpid()
        os.write(self.fd, (json.dumps(entry) + "\n").encode())


def make_store(kind: str, address: str, ledger: Ledger) -> Any:
    if kind == "sqlite":
        from cadence.checkpoint import SQLiteCheckpointStore as Base
    elif kind == "redis":
        from cadence.checkpoint import RedisCheckpointStore as Base  # type: ignore[assignment]
    else:
        from cadence.checkpoint import PostgresCheckpointStore as Base  # type: ignore[assignment]

    class Witnessed(Base):  # type: ignore[misc, valid-type]
        """Writes a ``recorded`` line once the store has accepted a tool call's record."""

        async def save_checkpoint(
            self, cadence_name: str, run_id: str, step_name: str, *a: Any, **k: Any
        ) -> None:
            await super().save_checkpoint(cadence_name, run_id, step_name, *a, **k)
            if cadence_name.endswith(":calls") and not step_name.endswith(":model"):
                ledger.write(run=run_id, call=step_name.split(":", 1)[1], phase="recorded")

        async def clear_checkpoints(self, cadence_name: str, run_id: str, **k: Any) -> None:
            if not cadence_name.endswith(":calls"):
                # Before the store forgets the run: a kill in between must not hide that the
                # next incarnation may start the run afresh.
                ledger.write(run=run_id, phase="cleared")
            await super().clear_checkpoints(cadence_name, run_id, **k)

    return Witnessed(address, lease_ttl=LEASE_TTL)


def turn_answer(request: ModelRequest) -> ModelResponse:
    """Deterministic model: turn k (from the results so far) asks for calls tk_c0..tk_c2."""
    done = sum(isinstance(m, ToolMessage) for m in request.messages)
    turn = done // CALLS + 1
    if turn > TURNS:
        return ModelResponse(text="all done")
    return ModelResponse(
        tool_calls=tuple(
            ToolCall(
                id=f"t{turn}_c{c}", name="step", arguments=json.dumps({"tag": f"t{turn}_c{c}"})
            )
            for c in range(CALLS)
        ),
        finish_reason="tool_calls",
    )


def finished_runs(path: str) -> set[str]:
    """Runs the ledger says returned (they are not started again)."""
    done = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["phase"] == "done":
                done.add(entry["run"])
    return done


async def main(kind: str, address: str, path: str, name: str, runs: int, concurrency: int) -> None:
    ledger = Ledger(path)
    store = make_store(kind, address, ledger)

    async def think(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(random.uniform(0.001, 0.004))
        return turn_answer(request)

    @tool
    async def step(score: Work, tag: str) -> str:
        """One side effect."""
        await asyncio.sleep(random.uniform(0.001, 0.006))
        score.items.append(tag)
        ledger.write(run=score.run, call=tag, phase="effect")
        # Effect done, record not yet written: a kill here makes this call run again.
        await asyncio.sleep(random.uniform(0, 0.002))
        return f"did {tag}"

    current: contextvars.ContextVar[str] = contextvars.ContextVar("run")

    def on_event(event: AgentEvent) -> None:
        if event.kind == "tool.completed" and event.outcome is not None and event.outcome.replayed:
            ledger.write(run=current.get(), call=event.outcome.call.id, phase="replayed")

    worker = make_agent(
        FunctionModel(think),
        [step],
        name=name,
        checkpoint=store,
        max_turns=TURNS + 1,
        on_event=on_event,
    )
    finished = finished_runs(path)
    gate = asyncio.Semaphore(concurrency)

    async def one(run_id: str) -> None:
        current.set(run_id)
        async with gate:
            while True:
                score = Work(run=run_id)
                try:
                    result = await worker.run(score, run_id=run_id)
                except CheckpointError as exc:
                    if exc.code != "LEASE_HELD":  # a killed predecessor still holds the lease
                        raise
                    await asyncio.sleep(exc.details["retry_after"] + 0.01)
                    continue
                ledger.write(run=run_id, phase="done", items=score.items, answer=result.answer)
                return

    print("ready", flush=True)
    ids = [f"run-{i:03d}" for i in range(runs)]
    await asyncio.gather(*(one(r) for r in ids if r not in finished))


if __name__ == "__main__":
    kind, address, ledger_path, agent_name, runs, concurrency = sys.argv[1:]
    asyncio.run(main(kind, address, ledger_path, agent_name, int(runs), int(concurrency)))
