"""Checks on built cadences: import the user's module and inspect its Cadence objects."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cadence import Cadence
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.exceptions import CadenceDefinitionError
from cadence.validate import check_cadence, check_module


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Write a module into a temporary directory on sys.path; unload it afterwards."""
    names: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)


def test_clean_module_has_no_findings(make_module) -> None:
    """A module with well-formed cadences yields nothing."""
    name = make_module(
        "vb_clean",
        """
        from cadence import Cadence

        def a(score):
            pass

        def merge(parent, child):
            pass

        sub = Cadence("sub", {}).then("a", a)
        main = Cadence("main", {}).then("a", a).child("sub", sub, merge)
        """,
    )
    assert check_module(name) == []


def test_callable_with_wrong_arity_is_found_through_indirection(make_module) -> None:
    """A note built elsewhere (not visible to the AST) that cannot take the score is CAD603."""
    name = make_module(
        "vb_arity",
        """
        from cadence import Cadence

        def make():
            def needs_two(score, other):
                pass
            return needs_two

        main = Cadence("main", {}).then("bad", make())
        """,
    )
    (d,) = check_module(name)
    assert d.code == "CAD603" and "main.bad" in d.message
    assert d.source.endswith("vb_arity.py") and d.line == 5


def test_indirect_child_cycle_is_refused_when_built() -> None:
    """a -> b -> a through .child is refused by the builder, before check_cadence could see it
    (CAD605 stays for definitions assembled without the builder)."""

    def merge(parent: object, child: object) -> None:
        pass

    a: Cadence[dict[str, int]] = Cadence("a", {})
    b = Cadence("b", {}).child("to_a", a, merge)
    with pytest.raises(CadenceDefinitionError, match=r"'a' already runs inside 'b' \(b -> a\)"):
        a.child("to_b", b, merge)
    assert check_cadence(a) == [] and check_cadence(b) == []


def test_checkpointed_score_that_cannot_be_encoded_is_found() -> None:
    """A checkpointed cadence whose score holds a function is CAD604, naming the path."""

    @dataclass
    class Bad:
        hook: object = field(default_factory=lambda: print)

    cadence = (
        Cadence("cp", Bad()).with_checkpoint(InMemoryCheckpointStore()).then("a", lambda s: None)
    )
    (d,) = check_cadence(cadence)
    assert d.code == "CAD604" and "$.hook" in d.message


def test_import_failure_is_a_finding(make_module) -> None:
    """A module that raises on import yields CAD601 with the error, not a traceback."""
    name = make_module("vb_broken", "raise RuntimeError('config missing')\n")
    (d,) = check_module(name)
    assert d.code == "CAD601" and "config missing" in d.message


def test_module_without_cadences_is_a_warning(make_module) -> None:
    """No Cadence at module level is a CAD602 warning."""
    name = make_module("vb_empty", "x = 1\n")
    (d,) = check_module(name)
    assert (d.code, d.severity) == ("CAD602", "warning")


def test_module_attr_target_checks_one_cadence(make_module) -> None:
    """module:attr checks just that cadence."""
    name = make_module(
        "vb_attr",
        """
        from cadence import Cadence
        good = Cadence("good", {}).then("a", print)
        bad = Cadence("bad", {}).then("a", lambda: None)
        """,
    )
    assert check_module(f"{name}:good") == []
    assert [d.code for d in check_module(f"{name}:bad")] == ["CAD603"]
