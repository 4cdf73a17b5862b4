"""Odd tasks, registries, options and model failures: refused early, or survived."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cadence_llm.codegen import check_answer, generate_cadence, generate_scaffold
from cadence_llm.errors import RateLimitedError
from cadence_llm.models.scripted import ScriptedModel

from .support import OrderScore, registry

TASK = "Load the order, then fetch prices and stock at the same time."
LOAD = {"covers": "Load the order,", "kind": "then", "task": "load_order"}
# Valid, but "at the same time" on a .then is a CAD703 finding: a reground round follows.
LENT = {"covers": "then fetch prices and stock at the same time.", "kind": "then"}


def _plan(*steps: dict[str, Any]) -> str:
    return json.dumps({"name": "o", "steps": list(steps)})


async def load(score: Any) -> None:
    """Load the order."""


async def test_a_model_error_in_a_repair_round_keeps_the_accepted_answer() -> None:
    """A rate limit on the reground round of a valid answer raised, and the valid cadence in
    hand was lost; the generation now stops there and returns it."""
    model = ScriptedModel(
        [_plan(LOAD, {**LENT, "task": "fetch_prices"}), RateLimitedError("slow down")]
    )
    gen = await generate_cadence(model, TASK, registry(), OrderScore, constrain="schema")
    assert model.calls == 2
    assert gen.ok and gen.cadence is not None and len(gen.attempts) == 1
    assert [d.code for d in gen.diagnostics] == ["CAD703"]


async def test_a_model_error_before_any_accepted_answer_still_propagates() -> None:
    """With nothing accepted there is no result to return: the ModelError is the outcome."""
    model = ScriptedModel(["not a plan", RateLimitedError("slow down")])
    with pytest.raises(RateLimitedError):
        await generate_cadence(model, TASK, registry(), OrderScore, raise_on_failure=False)


@pytest.mark.parametrize(
    ("task", "error", "message"),
    [
        ("", ValueError, "task is empty"),
        (" \n\t", ValueError, "task is empty"),
        (None, TypeError, "task must be a string"),
        (b"Load it.", TypeError, "task must be a string"),
    ],
)
async def test_a_task_without_words_is_refused_before_the_model_is_asked(
    task: Any, error: type[Exception], message: str
) -> None:
    """An empty task was sent to the model (and a None one crashed deep in the grammar)."""
    model = ScriptedModel([_plan(LOAD)], repeat=True)
    with pytest.raises(error, match=message):
        await generate_cadence(model, task, registry(), OrderScore)
    with pytest.raises(error, match=message):
        await generate_scaffold(model, task)
    assert model.calls == 0


async def test_a_registry_value_that_is_not_callable_is_refused_up_front() -> None:
    """A value like 5 was listed to the model as a note and failed every answer using it."""
    model = ScriptedModel([_plan(LOAD)], repeat=True)
    with pytest.raises(TypeError, match="'config' is int 5"):
        await generate_cadence(model, "Load it.", {"load_order": load, "config": 5})
    assert model.calls == 0


async def test_a_registry_name_python_reads_as_another_is_refused_up_front() -> None:
    """'\ufb01le' is an identifier, but Python reads it as 'file': every answer failed CAD201."""
    model = ScriptedModel([_plan(LOAD)], repeat=True)
    with pytest.raises(ValueError, match=r"e\.g\. 'file'"):
        await generate_cadence(model, "Load it.", {"\ufb01le": load})
    assert model.calls == 0


async def test_roles_for_a_name_not_in_the_registry_are_refused() -> None:
    """A typo in roles= was ignored silently, so the entry kept its inferred role."""
    with pytest.raises(ValueError, match="roles= names 'is_expres'"):
        await generate_cadence(
            ScriptedModel([_plan(LOAD)]), TASK, registry(), roles={"is_expres": "condition"}
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_tokens": 0}, "max_tokens must be >= 1"),
        ({"examples": -1}, "examples must be True, False or a count >= 0"),
    ],
)
async def test_bad_counts_are_refused_up_front(options: dict[str, Any], message: str) -> None:
    """max_tokens=0 was a pydantic error from the request; examples=-1 was read as 2."""
    with pytest.raises(ValueError, match=message):
        await generate_cadence(ScriptedModel([_plan(LOAD)]), TASK, registry(), **options)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_repairs": -1}, ValueError, "max_repairs must be >= 0"),
        ({"max_tokens": 0}, ValueError, "max_tokens must be >= 1"),
        ({"registry": "load_order"}, TypeError, "a list of names, got the string"),
    ],
)
async def test_scaffold_refuses_bad_options_before_the_model_is_asked(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """max_repairs=-1 returned a failed result without asking; a string registry was read as
    one-letter names and every module using the real name failed."""
    model = ScriptedModel(["```python\n```"], repeat=True)
    with pytest.raises(error, match=message):
        await generate_scaffold(model, "a job", **options)
    assert model.calls == 0


@pytest.mark.parametrize("odd", ["\x00", "\ud800"])
def test_a_plan_whose_words_hold_unwritable_characters_still_renders_valid_source(
    odd: str,
) -> None:
    """A NUL byte or a lone surrogate in a step's words (the task's, copied) made the
    rendered comment a syntax error; they are written as U+FFFD now."""
    words = f"Load{odd} the order."
    plan = _plan({"covers": words, "kind": "then", "task": "load_order"})
    source, diags, cadence = check_answer(plan, registry())
    assert not any(d.is_error for d in diags) and cadence is not None
    assert "    # Load\ufffd the order.\n" in source
