"""Evaluate one task with one model: stand-in registry, structure comparison, metrics.

The registry a task describes is made real with stand-in functions (notes append their name to
the score's trace, conditions answer True, merges and handlers record themselves), so a built
cadence can actually run. The trace is an ``AtomicList``, shared by the tasks of a ``.sync``
rather than merged: stand-ins that all record into one field must not make a
``fail_on_conflict`` group fail (a harness artefact, not the model's). Structure is compared on the plain data of the composition: method
sequence and the names in each slot; step and cadence names are free, the members of a
``sync`` group are a set, and ``on_error`` may appear anywhere in the chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence import AtomicList, Cadence
from cadence.validate import parse_composition
from cadence_llm.codegen import Generation, check_answer, generate_cadence
from cadence_llm.messages import Message, ModelRequest, UserMessage
from cadence_llm.models.base import Model

TASKS = Path(__file__).with_name("tasks.jsonl")
BARE_PROMPT = (
    "Write a cadence pipeline in Python with the cadence library for this task: {task} "
    "Use these functions: {names}."
)


@dataclass
class StandInScore:
    """The score stand-in cadences run on: a trace of what ran (shared by parallel tasks)."""

    trace: AtomicList[str] = field(default_factory=AtomicList)


@dataclass
class _ChildScore:
    """The stand-in child cadences' own score (a child's default score is deep-copied per run,
    which an ``AtomicList`` does not allow)."""

    trace: list[str] = field(default_factory=list)


def load_tasks(path: Path = TASKS) -> list[dict[str, Any]]:
    """The dataset rows."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _note(name: str, doc: str) -> Any:
    async def fn(score: StandInScore) -> None:
        score.trace.append(name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _condition(name: str, doc: str) -> Any:
    def fn(score: StandInScore) -> bool:
        score.trace.append(f"?{name}")
        return True

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _pair(name: str, doc: str) -> Any:
    def fn(score: StandInScore, other: Any) -> None:
        score.trace.append(f"!{name}")

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def stand_in_registry(
    task: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """``(registry, roles, docs)`` for a task, with runnable stand-ins."""
    reg: dict[str, Any] = {}
    roles: dict[str, str] = {}
    docs: dict[str, str] = {}
    for name, (role, doc) in task["registry"].items():
        roles[name], docs[name] = role, doc
        if role == "note":
            reg[name] = _note(name, doc)
        elif role == "condition":
            reg[name] = _condition(name, doc)
        elif role in ("merge", "handler"):
            reg[name] = _pair(name, doc)
        elif role == "cadence":
            reg[name] = Cadence(name, _ChildScore()).then("work", _note(f"{name}.work", doc))
        else:
            raise ValueError(f"unknown role {role!r} in task {task['id']}")
    return reg, roles, docs


def structure(source: str, registry: Mapping[str, Any] | None = None) -> Any:
    """A comparable form of a composition's shape, or None when it is not accepted."""
    comp, _ = parse_composition(source, registry)
    if comp is None:
        return None
    steps: list[Any] = []
    handlers: list[Any] = []

    def names(value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, tuple):
            return tuple(r.name for r in value)
        return (value.name,)

    for s in comp.steps:
        a = s.args
        if s.method == "then":
            steps.append(("then", names(a.get("task")), bool(a.get("can_interrupt", False))))
        elif s.method == "sync":
            steps.append(("sync", tuple(sorted(names(a.get("tasks")))), a.get("merge_strategy")))
        elif s.method == "split":
            steps.append(
                (
                    "split",
                    names(a.get("condition")),
                    names(a.get("if_true")),
                    names(a.get("if_false")),
                )
            )
        elif s.method == "child":
            steps.append(("child", names(a.get("cadence")), names(a.get("merge"))))
        elif s.method == "on_error":
            handlers.append((names(a.get("handler")), a.get("stop", True) is not False))
    return (tuple(steps), tuple(sorted(handlers)))


def bare_messages(task: Mapping[str, Any]) -> list[Message]:
    """The baseline: one line naming the task and the functions, no pack."""
    prompt = BARE_PROMPT.format(task=task["task"], names=", ".join(task["registry"]))
    return [UserMessage(content=prompt)]


def _outcome(
    source: str, diags: Any, reference: Any, registry: Mapping[str, Any]
) -> dict[str, Any]:
    errors = [d for d in diags if d.is_error]
    return {
        "parses": not any(d.code == "CAD001" for d in errors),
        "valid": not errors,
        "match": not errors and structure(source, registry) == reference,
        "codes": sorted({d.code for d in errors}),
    }


async def run_task(
    model: Model, task: Mapping[str, Any], *, mode: str, max_repairs: int, max_tokens: int
) -> dict[str, Any]:
    """Generate for one task; metrics after the first answer and after the repair rounds."""
    reg, roles, docs = stand_in_registry(task)
    reference = structure(task["reference"], reg)
    gen_mode = "text" if mode == "bare" else mode
    started = time.perf_counter()
    error = None
    try:
        gen: Generation | None = await generate_cadence(
            model,
            task["task"],
            reg,
            task["score"],
            score=StandInScore(),
            mode=gen_mode,  # type: ignore[arg-type]
            max_repairs=max_repairs,
            roles=roles,
            docs=docs,
            max_tokens=max_tokens,
            raise_on_failure=False,
            messages=bare_messages(task) if mode == "bare" else None,
        )
    except Exception as exc:  # a model failure is a measured failure, not a crash of the run
        gen, error = None, f"{type(exc).__name__}: {exc}"
    row: dict[str, Any] = {"id": task["id"], "pattern": task["pattern"], "mode": mode}
    if gen is None:
        row.update(
            first={"parses": False, "valid": False, "match": False, "codes": []}, error=error
        )
        row.update(final=row["first"], runs=False, rounds=0, tokens=0, seconds=0.0)
        return row
    first = gen.attempts[0]
    row["first"] = _outcome(first.source, first.diagnostics, reference, reg)
    row["final"] = _outcome(gen.source, gen.diagnostics, reference, reg)
    runs = False
    if gen.cadence is not None:
        try:
            result = await gen.cadence.run(StandInScore())
            runs = isinstance(result, StandInScore)
        except Exception as exc:
            row["run_error"] = f"{type(exc).__name__}: {exc}"
    row.update(
        runs=runs,
        rounds=gen.repairs,
        tokens=gen.usage.output_tokens,
        prompt_tokens=gen.usage.input_tokens,
        seconds=round(time.perf_counter() - started, 2),
        source=gen.source,
        first_source=first.source if gen.repairs else None,
    )
    return row


def provider_model(tasks: Sequence[Mapping[str, Any]], *, name: str = "scripted-provider") -> Model:
    """A scripted stand-in for a provider's structured output (OpenAI's ``json_schema``,
    Anthropic's tool-based output), to measure the plan path without a network.

    It insists on being sent the narrowed plan schema, answers with the reference plan of the
    task it is asked about, labels every step ``"step"`` (models behind providers reuse
    labels; the library must rename them, not fail the answer), and checks its own answer
    against the schema it was sent (``jsonschema``), so a schema too narrow for a correct plan
    fails loudly here.
    """
    from jsonschema import validate

    from cadence_llm._prompts import spec
    from cadence_llm.codegen import source_to_plan
    from cadence_llm.models.scripted import FunctionModel

    by_task = {t["task"]: t for t in tasks}
    named = {m["name"] for m in spec()["methods"] if m["params"][0]["shape"] == "name"}

    def answer(request: ModelRequest) -> str:
        fmt = request.response_format
        if fmt is None or fmt.type != "json_schema" or fmt.schema_ is None:
            raise AssertionError("a provider-style plan request carries the plan's JSON schema")
        asked = str(request.messages[-1].content)
        task = next(t for text, t in by_task.items() if f"Task: {text}" in asked)
        plan = source_to_plan(task["reference"])
        for step in plan["steps"]:
            if step["kind"] in named:
                step["name"] = "step"
        validate(plan, fmt.schema_)
        return json.dumps(plan)

    return FunctionModel(answer, name=name)


__all__ = [
    "StandInScore",
    "bare_messages",
    "check_answer",
    "load_tasks",
    "provider_model",
    "run_task",
    "stand_in_registry",
    "structure",
]
