"""``.map`` and ``.wait`` in the validator: module mode checks them, compositions allow ``.map``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cadence import ValidationError
from cadence.validate import build, check_source

MODULE = """
from cadence import Approval, Cadence, Signal, Sleep

def summarize(doc): ...
def escalate(score): ...
def documents(score): ...
def is_large(score): ...

flow = (
    Cadence("docs", Batch())
    .map("each", "docs", summarize, concurrency=8, into="out", on_error="collect", errors_into="bad")
    .map("again", documents, summarize)
    .wait("ok", Approval(payload=lambda s: {"n": len(s.out)}), into="decision", timeout=3600,
          on_timeout=escalate, when=is_large)
    .wait("paid", Signal("payment"))
    .wait("cool", Sleep(60))
)
flow.resume("run-1", True)
"""


def codes(text: str, **kwargs: object) -> list[str]:
    return [d.code for d in check_source(text, **kwargs) if d.is_error]  # type: ignore[arg-type]


def test_valid_map_and_wait_chains_pass_in_a_module() -> None:
    """Correct .map/.wait calls (and .resume on the cadence) raise no error in module mode."""
    assert codes(MODULE) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('.map("m", "docs", summarize, concurrency=0)', "concurrency must be a whole number"),
        ('.map("m", "docs", summarize, into=3)', "into must be a score field name"),
        ('.map("m", "docs", summarize, on_error="skip")', "on_error must be 'fail_fast'"),
        ('.map("m", 42, summarize)', "items_from must be a score field name or a function"),
        ('.map("m", "docs", undefined_note)', "'undefined_note' is not defined"),
        ('.wait("w", "approval")', "condition must be Approval(payload=...)"),
        ('.wait("w", Signal("x"), timeout=-5)', "timeout must be a number of seconds >= 0"),
        ('.wait("w")', "missing 'condition'"),
        ('.wait("w", Signal("x"), when=undefined_check)', "'undefined_check' is not defined"),
    ],
)
def test_module_mode_names_the_wrong_argument(call: str, message: str) -> None:
    """A wrong .map/.wait argument is reported with what it must be."""
    text = f"""
from cadence import Cadence, Signal
def summarize(doc): ...
flow = Cadence("x", Batch()){call}
"""
    diags = [d for d in check_source(text) if d.is_error]
    assert any(message in d.message for d in diags), [d.format() for d in diags]


def test_aliases_suggest_map_and_wait() -> None:
    """Reaching for .for_each or .pause suggests .map and .wait."""
    text = """
from cadence import Cadence
def f(s): ...
a = Cadence("a", S()).for_each("m", "docs", f)
b = Cadence("b", S()).pause("w")
"""
    hints = [d.hint for d in check_source(text) if d.code == "CAD101"]
    assert any(h.startswith("use .map(") for h in hints), hints
    assert any(h.startswith("use .wait(") for h in hints), hints


@dataclass
class Batch:
    docs: list[str] = field(default_factory=list)
    out: list[str] = field(default_factory=list)


def test_a_composition_with_map_builds_and_runs() -> None:
    """A composition's .map over a field with a registry note builds a working cadence."""
    flow = build(
        'Cadence("shout", score).map("each", "docs", shout, concurrency=2, into="out")',
        {"shout": str.upper},
        score=Batch(docs=["a", "b", "c"]),
    )
    assert flow.run_sync().out == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('Cadence("x", score).map("m", docs, shout)', "must be a string literal"),
        ('Cadence("x", score).map("m", "docs", shout, concurrency=0)', "whole number from 1"),
        ('Cadence("x", score).map("m", "__class__", shout)', "must name a score field"),
        ('Cadence("x", score).wait("w", Signal("s"))', ".wait() is not allowed in a composition"),
    ],
)
def test_compositions_refuse_what_they_cannot_hold(text: str, message: str) -> None:
    """Compositions take .map with literal fields only, and never .wait."""
    with pytest.raises(ValidationError) as info:
        build(text, {"shout": str.upper}, score=Batch())
    assert any(message in str(d) for d in info.value.diagnostics), info.value.diagnostics


def test_a_composition_field_that_the_score_lacks_is_refused() -> None:
    """into= naming a field the score does not have fails the build with the field's name."""
    with pytest.raises(ValidationError, match="into='nope' is not a field of Batch"):
        build(
            'Cadence("x", score).map("m", "docs", shout, into="nope")',
            {"shout": str.upper},
            score=Batch(),
        )
