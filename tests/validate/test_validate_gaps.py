"""Gaps closed in the validator: huge literals, collections where a function belongs, lost runs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cadence.validate import ValidationError, build, check_source

HUGE = "0x" + "f" * 15_000  # parses, but has no repr under Python's int-to-str limit


@dataclass
class S:
    n: int = 0


def step(score: S) -> None:
    score.n += 1


@pytest.mark.parametrize(
    "text",
    [
        f'Cadence("a", score).then("s", step, can_interrupt={HUGE})',
        f'Cadence({HUGE}, score).then("s", step)',
        f'Cadence("a", score).then({HUGE}, step)',
        f'Cadence("a", score).then("s", {HUGE})',
    ],
)
def test_a_15000_digit_literal_is_an_ordinary_finding_and_build_error(text: str) -> None:
    """No CAD000 and no raw ValueError: a finding that names the literal briefly."""
    found = check_source(text, registry={"step": step}, mode="composition")
    assert found and all(d.code != "CAD000" for d in found)
    assert all(len(d.message) < 300 for d in found)
    with pytest.raises(ValidationError):
        build(text, {"step": step}, score=S())


def test_module_mode_reports_huge_literals_without_crashing() -> None:
    """Module mode names a huge literal passed as a step name or note."""
    text = f'from cadence import Cadence\nc = Cadence("x", {{}}).then({HUGE}, {HUGE})\n'
    found = check_source(text)
    assert [d.code for d in found] == ["CAD102", "CAD204"]
    assert "digits" in found[1].message


HEAD = """from cadence import Cadence
def r(score): pass
def m(parent, child): pass
def h(score, error): pass
sub = Cadence("sub", {})
"""


@pytest.mark.parametrize(
    ("call", "role", "hint"),
    [
        ('.then("a", [r])', "note", "pass the function itself: r"),
        ('.then("a", [r, r])', "note", ".sync("),
        ('.then("a", (r,))', "note", "pass the function itself: r"),
        ('.split("b", [r], r)', "condition", "pass the function itself: r"),
        ('.child("c", sub, [m])', "merge", "pass the function itself: m"),
        (".on_error([h])", "handler", "pass the function itself: h"),
        ('.on_error({"x": h})', "handler", "pass one handler function"),
    ],
)
def test_a_collection_where_one_function_belongs_is_cad204(call: str, role: str, hint: str) -> None:
    """`.then("a", [r])` and friends are wrong-kind errors with a fix, not accepted."""
    (d,) = check_source(HEAD + f'c = Cadence("x", {{}}){call}\n')
    assert d.code == "CAD204" and f"expected a {role}" in d.message and hint in d.hint


def test_branches_may_still_be_lists() -> None:
    """A list is right for a .split branch and for .sync: no finding."""
    assert (
        check_source(HEAD + 'c = Cadence("x", {}).split("b", r, [r], [r]).sync("s", [r, r])\n')
        == []
    )


@pytest.mark.parametrize(
    "body",
    [
        "    result = c.run()\n    print(result.n)\n",
        "    result = c.run()\n",
        "    result: object = c.run()\n    return result.n\n",
        '    result = c.run()\n    return f"{result}"[0] == result\n',
    ],
)
def test_an_assigned_run_that_is_never_awaited_is_cad402(body: str) -> None:
    """`result = c.run()` read as a score (or unused) never runs: CAD402."""
    text = HEAD + 'c = Cadence("x", {}).then("a", r)\nasync def main():\n' + body
    assert [d.code for d in check_source(text)] == ["CAD402"]


@pytest.mark.parametrize(
    "body",
    [
        "    coro = c.run()\n    return await coro\n",
        "    coro = c.run()\n    await asyncio.gather(coro)\n",
        "    coro = c.run()\n    return coro\n",
        "    coro = c.run()\n    tasks = [coro]\n    await asyncio.gather(*tasks)\n",
    ],
)
def test_an_assigned_run_awaited_or_handed_on_is_fine(body: str) -> None:
    """A coroutine kept and awaited later, gathered or returned is not reported."""
    text = HEAD + 'import asyncio\nc = Cadence("x", {}).then("a", r)\nasync def main():\n' + body
    assert check_source(text) == []
