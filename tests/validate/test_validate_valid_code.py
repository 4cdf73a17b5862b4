"""Module mode accepts correct code: branches, shadowed names, class variables, own decorators."""

from __future__ import annotations

import textwrap

import pytest

from cadence.validate import check_source

HEADER = """
from dataclasses import InitVar, dataclass, field
from typing import ClassVar

from cadence import Cadence


@dataclass
class S:
    x: int = 0


async def fetch(score): pass
"""


def codes(body: str) -> list[str]:
    """The codes module mode reports for ``body`` after the shared header."""
    source = HEADER + textwrap.dedent(body)
    return [d.code for d in check_source(source, filename="app.py")]


@pytest.mark.parametrize(
    "body",
    [
        """
        def build(premium):
            c = Cadence("checkout", S())
            if premium:
                c.then("charge", fetch)
            else:
                c.then("charge", fetch)
            return c
        """,
        """
        def build(kind):
            c = Cadence("checkout", S())
            if kind == "a":
                c.then("charge", fetch)
            elif kind == "b":
                c.then("charge", fetch)
            else:
                c.then("charge", fetch)
            return c
        """,
        """
        def build(kind):
            c = Cadence("checkout", S())
            match kind:
                case "card":
                    c.then("charge", fetch)
                case _:
                    c.then("charge", fetch)
            return c
        """,
        """
        c = Cadence("checkout", S())
        try:
            c.then("ok", fetch)
        except KeyError:
            c.then("charge", fetch)
        except ValueError:
            c.then("charge", fetch)
        """,
    ],
)
def test_one_step_name_in_exclusive_branches_is_not_a_duplicate(body: str) -> None:
    """The same step name added in the if and the else (or two match cases) runs once."""
    assert codes(body) == []


@pytest.mark.parametrize(
    "body",
    [
        """
        c = Cadence("c", S())
        c.then("a", fetch)
        if True:
            c.then("a", fetch)
        """,
        """
        def build(flag):
            c = Cadence("c", S())
            if flag:
                c.then("a", fetch)
            c.then("a", fetch)
        """,
        """
        c = Cadence("c", S())
        try:
            c.then("a", fetch)
        except ValueError:
            c.then("a", fetch)
        """,
        """
        c = Cadence("c", S()).then("a", fetch).then("a", fetch)
        """,
    ],
)
def test_a_step_name_that_can_be_added_twice_is_still_cad107(body: str) -> None:
    """Duplicates on paths that can both run (also a try body and its handler) are reported."""
    assert codes(body) == ["CAD107"]


def test_a_parameter_hides_a_function_of_the_same_name_elsewhere() -> None:
    """`handler` the parameter is not the nested three-argument `handler` of another function."""
    body = """
    def helpers():
        def handler(a, b, c): pass
        return handler

    def make(handler):
        return Cadence("x", S()).then("h", handler)
    """
    assert codes(body) == []


def test_a_function_visible_from_the_use_is_still_signature_checked() -> None:
    """A module-level function used inside a function is checked; a nested one shadows it."""
    body = """
    def two(a, b): pass

    def uses_module_two():
        return Cadence("g", S()).then("t", two)

    def uses_its_own_two():
        def two(score): pass
        return Cadence("h", S()).then("t", two)
    """
    assert codes(body) == ["CAD202"]


def test_a_parameter_named_like_a_module_cadence_is_not_that_cadence() -> None:
    """`base` the parameter may be any cadence: its steps are not the module `base`'s steps."""
    body = """
    base = Cadence("base", S()).then("fetch", fetch)

    def variant(base):
        base.then("fetch", fetch)
        return base

    def uses_the_module_one():
        base.then("fetch", fetch)
    """
    assert codes(body) == ["CAD107"]


def test_class_variables_and_init_vars_may_have_mutable_defaults() -> None:
    """`ClassVar` and `InitVar` annotations are not fields: dataclasses accept any default."""
    body = """
    @dataclass
    class Config:
        REGISTRY: ClassVar[dict] = {}
        KINDS: "ClassVar[list[str]]" = []
        seed: InitVar[list] = []
        items: list = []
    """
    assert codes(body) == ["CAD401"]


def test_local_variables_named_like_blocking_modules_are_not_blocking_calls() -> None:
    """`requests = []` then `requests.append(...)` in async code is a list, not the library."""
    body = """
    import time

    async def collect(score):
        requests = []
        requests.append(1)
        time.sleep(1)
    """
    assert codes(body) == ["CAD403"]


def test_a_module_that_defines_input_does_not_call_the_builtin() -> None:
    """`input()` is CAD403 only when it is the builtin."""
    assert codes("async def ask(score):\n    input()\n") == ["CAD403"]
    assert codes("def input(): pass\nasync def ask(score):\n    input()\n") == []


def test_the_modules_own_decorator_is_not_cadences() -> None:
    """A `timeout` decorator the module defines itself is not checked as cadence's `@timeout`."""
    body = """
    def timeout(seconds):
        def wrap(fn):
            return fn
        return wrap

    @timeout(0)
    async def mine(score): pass
    """
    assert codes(body) == []
    assert codes("from cadence import timeout\n@timeout(0)\nasync def f(s): pass\n") == ["CAD303"]


def test_plan_and_the_deprecated_sequence_are_cadence_methods() -> None:
    """`.plan()` and 0.7.2's `.sequence()` exist on Cadence: not CAD101."""
    body = """
    c = Cadence("c", S()).then("f", fetch)
    p = c.plan()
    c2 = Cadence("c2", S()).sequence("seq", [fetch, fetch])
    """
    assert codes(body) == []


def test_sequence_is_still_unknown_in_a_composition() -> None:
    """Untrusted text keeps the five composition methods: `.sequence` is CAD101 there."""
    text = 'Cadence("x", score).sequence("a", [f])'
    assert [d.code for d in check_source(text, mode="composition")] == ["CAD101"]
