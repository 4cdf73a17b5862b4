"""Fuzzing: arbitrary text and mutated valid programs never crash the checker."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validate_support import load_cases, registry

from cadence.validate import Diagnostic, ValidationError, build, check_source

SOURCES = [c.text for c in load_cases() if c.expect == "clean"]
TOKENS = [
    "Cadence(",
    ")",
    "(",
    ".then(",
    ".sync(",
    ".split(",
    ".child(",
    "[",
    "]",
    ",",
    '"x"',
    "score",
    "answer",
    "rerank",
    "__import__",
    "lambda s:",
    "=",
    "\n",
    "    ",
    "@note(",
    "retry=",
    "timeout=",
    "-1",
    "{",
    "}",
    ":",
    "async def f(score):",
    "await ",
    "*",
    "**",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ok(diags: list[Diagnostic]) -> None:
    assert isinstance(diags, list)
    assert all(isinstance(d, Diagnostic) and d.code != "CAD000" for d in diags), diags


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes_either_mode(text: str) -> None:
    """Any string yields a list of diagnostics in both modes."""
    _ok(check_source(text))
    _ok(check_source(text, mode="composition", registry=["answer"]))


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_never_crashes_and_build_only_raises_validation_errors(
    tokens: list[str],
) -> None:
    """DSL-shaped token soup is checked cleanly; build either works or raises ValidationError."""
    text = "".join(tokens)
    _ok(check_source(text))
    _ok(check_source(text, mode="composition", registry=registry()))
    with contextlib.suppress(ValidationError):
        build(text, registry(), score=None)


@SETTINGS
@given(
    st.sampled_from(SOURCES),
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "insert", "replace", "dup_line", "drop_line"]),
            st.floats(0, 1),
            st.text(max_size=5),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_valid_programs_never_crash(
    source: str, edits: list[tuple[str, float, str]]
) -> None:
    """Valid corpus programs with random edits still yield only diagnostics."""
    text = source
    for op, where, piece in edits:
        i = int(where * len(text))
        lines = text.splitlines(keepends=True) or [""]
        j = min(int(where * len(lines)), len(lines) - 1)
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "replace":
            text = text[:i] + piece + text[i + len(piece) :]
        elif op == "dup_line":
            text = "".join(lines[: j + 1] + lines[j:])
        else:
            text = "".join(lines[:j] + lines[j + 1 :])
    _ok(check_source(text))
    _ok(check_source(text, mode="composition", registry=registry()))
