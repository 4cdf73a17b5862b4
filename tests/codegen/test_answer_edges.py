"""Answers and registries that used to slip through or crash the generate -> check loop."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence.validate import check_source
from cadence_llm.codegen import check_answer, generate_cadence
from cadence_llm.models.scripted import ScriptedModel


@dataclass
class _S:
    trace: list[str] = field(default_factory=list)


@dataclass
class _Order:
    order_id: str
    trace: list[str] = field(default_factory=list)


async def load(score: Any) -> None:
    """Load the order."""
    score.trace.append("load")


def merge_results(parent: Any, child: Any) -> None:
    """Merge the child's results."""


def _plan(*steps: dict[str, Any]) -> str:
    return json.dumps({"name": "o", "steps": list(steps)})


async def test_a_registry_entry_in_a_slot_it_cannot_take_is_refused() -> None:
    """A merge function used as a note, or a note as the .on_error handler, validated and
    built, then failed when the step ran; the answer is refused with CAD603 now."""
    answer = (
        '```python\nCadence("o", score).then("merge", merge_results)'
        '.then("load", load).on_error(load)\n```'
    )
    gen = await generate_cadence(
        ScriptedModel([answer] * 3),
        "Merge, then load the order. If it fails, load it.",
        {"load": load, "merge_results": merge_results},
        _S,
        mode="text",
        ground=False,
        raise_on_failure=False,
    )
    assert not gen.ok and gen.cadence is None
    assert "CAD603" in [d.code for d in gen.diagnostics]


def test_an_on_error_handler_that_cannot_take_the_error_is_refused_when_built() -> None:
    """The handler is called handler(score, error): a one-argument one is refused by
    .on_error itself (CadenceDefinitionError), before check_cadence could see it."""
    from cadence import Cadence, CadenceDefinitionError

    with pytest.raises(CadenceDefinitionError, match=r"handler\(score, error\)"):
        Cadence("o", _S()).then("load", load).on_error(load)


@pytest.mark.parametrize("answer", ["[" * 100_000, '{"a":' * 100_000])
async def test_a_deeply_nested_json_answer_is_a_finding_not_a_crash(answer: str) -> None:
    """It raised RecursionError out of generate_cadence, even with raise_on_failure=False."""
    _, diags, cadence = check_answer(answer, {"load": load})
    assert cadence is None and any(d.is_error for d in diags)
    gen = await generate_cadence(
        ScriptedModel([answer] * 3), "Load the order.", {"load": load}, raise_on_failure=False
    )
    assert not gen.ok


async def test_an_accepted_answer_always_comes_with_a_cadence() -> None:
    """With a score class that needs arguments, gen.ok was True and gen.cadence None."""
    answer = '```python\nCadence("o", score).then("load", load)\n```'
    gen = await generate_cadence(
        ScriptedModel([answer]), "Load the order.", {"load": load}, _Order, mode="text"
    )
    assert gen.ok and gen.cadence is not None
    result = await gen.cadence.run(_Order(order_id="42"))
    assert result.trace == ["load"]


def test_a_registry_given_as_one_string_is_refused() -> None:
    """`name in "search,answer"` was a substring test: composition mode accepted `arch`."""
    text = 'Cadence("x", score).then("a", arch)'
    with pytest.raises(TypeError, match="registry must be a mapping or a collection of names"):
        check_source(text, registry="search,answer", mode="composition")
    with pytest.raises(TypeError, match="registry must be a mapping or a collection of names"):
        check_source(text, registry=5, mode="composition")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["load-order", "class"])
async def test_registry_names_that_cannot_be_written_are_refused_up_front(name: str) -> None:
    """A key that is no Python name (or a keyword) was offered to the model, and every answer
    using it failed; the generation now says which key to rename."""
    plan = _plan({"covers": "Load the order.", "kind": "then", "task": name})
    with pytest.raises(ValueError, match=repr(name)):
        await generate_cadence(ScriptedModel([plan] * 3), "Load the order.", {name: load})


def test_a_plan_kind_that_is_a_python_keyword_is_an_unknown_kind_finding() -> None:
    """ "kind": "if" got "fix the Python syntax" (meaningless for JSON); now CAD101 as for any
    other unknown kind."""
    _, diags, _ = check_answer(
        _plan({"covers": "Load it.", "kind": "if", "task": "load"}), {"load": load}
    )
    assert "CAD101" in [d.code for d in diags]
    assert not any("Python syntax" in d.message for d in diags)


def test_renaming_a_repeated_longest_step_name_stays_within_the_limit() -> None:
    """Two steps named with the longest allowed name are renamed (CAD705), not failed."""
    name = "x" * 200
    text = f'Cadence("o", score).then("{name}", load).then("{name}", load)'
    _, diags, _ = check_answer(text, {"load": load}, mode="text")
    assert not any(d.is_error for d in diags)
    assert "CAD705" in [d.code for d in diags]
