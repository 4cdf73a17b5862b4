"""Every definition mistake fails on the builder call that made it, with a message saying what to fix."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cadence import Cadence, CadenceDefinitionError, CadenceHooks, Score, note


@dataclass
class S(Score):
    x: int = 0


async def ok(score: S) -> None:
    pass


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Cadence("", S()), "Cadence name must be a non-empty string"),
        (
            lambda: Cadence("c", S()).then("", ok),
            r"\.then\(\): the step name must be a non-empty string",
        ),
        (lambda: Cadence("c", S()).then(None, ok), "step name must be a non-empty string"),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).then("a", ok).then("a", ok), "a step named 'a' already exists"),
        (lambda: Cadence("c", S()).then("a", ok).sync("a", [ok]), "already exists"),
        (
            lambda: Cadence("c", S()).then("a", 42),
            r"\.then\('a'\): expected a function taking the score, got int",
        ),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).then("a", S), "got the class S; pass a function"),
        (lambda: Cadence("c", S()).then("a", Cadence("x", S())), "compose cadences with .child"),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).sync("g", []), r"\.sync\('g'\): the list of tasks is empty"),
        (lambda: Cadence("c", S()).sync("g", ok), "got a single function; use .then"),  # type: ignore[arg-type]
        (
            lambda: Cadence("c", S()).sync("g", [ok, "nope"]),
            r"\.sync\('g'\)\[1\]: expected a function",
        ),  # type: ignore[list-item]
        (lambda: Cadence("c", S()).sync("g", "abc"), "expected a function or a list"),  # type: ignore[arg-type]
        (
            lambda: Cadence("c", S()).sync("g", [ok], merge_strategy="smart"),
            "merge_strategy must be",
        ),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).split("r", True, ok), "condition must be a function"),  # type: ignore[arg-type]
        (
            lambda: Cadence("c", S()).split("r", ok, []),
            r"if_true=\.\.\.\): the list of tasks is empty",
        ),
        (lambda: Cadence("c", S()).split("r", ok, ok, if_false=[1]), r"if_false=\.\.\.\)\[0\]"),  # type: ignore[list-item]
        (lambda: Cadence("c", S()).child("k", ok, ok), "expected a Cadence"),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).child("k", Cadence("x", S()), None), "merge must be a function"),  # type: ignore[arg-type]
        (
            lambda: Cadence("c", S()).child("k", Cadence("x", S()), ok, score=3),
            "score= must be a function",
        ),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).on_error("x"), "handler must be a function"),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).with_hooks(CadenceHooks), r"instantiate the class"),
        (lambda: Cadence("c", S()).with_hooks(5), "expected a CadenceHooks instance, got 5"),  # type: ignore[arg-type]
        (
            lambda: Cadence("c", S()).with_hooks("LoggingHooks"),  # type: ignore[arg-type]
            "expected a CadenceHooks instance, got 'LoggingHooks'",
        ),
        (lambda: Cadence("c", S), r"the score must be an instance, not the class; write"),
        (lambda: Cadence("c", S()).with_reporter(1), "with_reporter"),  # type: ignore[arg-type]
        (lambda: Cadence("c", S()).with_checkpoint(object()), "is not a checkpoint store"),
        (lambda: note(name="")(ok), "must be a non-empty string"),
    ],
)
def test_definition_error(build, message: str) -> None:
    """The builder rejects the mistake immediately with a helpful message."""
    with pytest.raises(CadenceDefinitionError, match=message):
        build()


def test_child_cannot_contain_itself() -> None:
    """A cadence used as its own child is rejected."""
    c = Cadence("c", S())
    with pytest.raises(CadenceDefinitionError, match="cannot contain itself"):
        c.child("me", c, lambda p, k: None)


def test_child_cannot_contain_a_cadence_it_already_runs_inside() -> None:
    """A cycle through other cadences (a -> b -> c -> a) is refused, naming the path, instead
    of recursing until Python's recursion limit on the first run."""
    a, b, c = Cadence("a", S()), Cadence("b", S()), Cadence("c", S())
    b.child("to_c", c, lambda p, k: None)
    a.child("to_b", b, lambda p, k: None)
    with pytest.raises(
        CadenceDefinitionError, match=r"'c' already runs inside 'a' \(a -> b -> c\)"
    ):
        c.child("back", a, lambda p, k: None)
    assert not c.steps  # nothing was added
    shared = Cadence("shared", S())  # one cadence used twice (no cycle) is fine
    a.child("again", shared, lambda p, k: None).child("twice", shared, lambda p, k: None)


def test_definition_error_is_a_value_error() -> None:
    """Setup mistakes are also ValueErrors, kept apart from run failures."""
    assert issubclass(CadenceDefinitionError, ValueError)


def test_builder_methods_chain() -> None:
    """Every builder method returns the cadence itself."""
    c = Cadence("c", S())
    assert c.then("a", ok) is c
    assert c.sync("b", [ok]) is c
    assert c.split("d", ok, ok) is c
    assert c.child("e", Cadence("k", S()), lambda p, k: None) is c
    assert c.on_error(lambda s, e: None) is c
    assert c.with_hooks(CadenceHooks()) is c
    assert c.with_reporter(lambda n, t, s: None) is c
    assert [s.kind for s in c.steps] == ["then", "sync", "split", "child"]


def test_definition_errors_quote_the_usage_line_of_the_dsl_table() -> None:
    """A misused DSL method's error ends with that method's usage line from the one DSL table."""
    from cadence.validate import METHODS

    with pytest.raises(CadenceDefinitionError) as info:
        Cadence("c", S()).sync("pair", lambda s: None)  # type: ignore[arg-type]
    assert str(info.value).endswith(f"(usage: .{METHODS['sync'].summary})")
    with pytest.raises(CadenceDefinitionError, match=r"usage: \.then\(\"step\", note\)"):
        Cadence("c", S()).then("", lambda s: None)


def test_a_duck_typed_hook_with_some_hook_methods_is_accepted() -> None:
    """An object implementing only some hook methods (no CadenceHooks base) still attaches."""

    class Ends:
        async def after_cadence(self, *args: object) -> None:
            pass

    c = Cadence("c", S()).then("a", ok)
    assert c.with_hooks(Ends()) is c
