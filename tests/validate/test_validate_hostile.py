"""Hostile compositions are rejected without importing, executing, compiling or opening anything."""

from __future__ import annotations

import pytest
from validate_support import AuditRecorder, load_cases, registry

from cadence.validate import COMPOSITION_FILENAME, ValidationError, build, check_source

HOSTILE = [c for c in load_cases() if c.path.startswith("hostile/")]
COMPOSITIONS = [c for c in load_cases() if c.path.startswith("composition/")]


def _only_our_parse(
    events: list[tuple[str, tuple[object, ...]]], *, building: bool = False
) -> list[tuple[str, object]]:
    """Events other than ``ast.parse`` of the composition text itself.

    While building, the builder reads ``__code__`` of registry functions (that is how it tells
    async notes from sync ones); those trusted objects are the host's, so that is allowed.
    """
    out = []
    for name, args in events:
        if name == "compile" and len(args) > 1 and args[1] == COMPOSITION_FILENAME:
            continue
        if building and name == "object.__getattr__" and args[1:2] == ("__code__",):
            continue
        out.append((name, args[:2]))
    return out


class Tripwire:
    """A registry entry whose use (call, attribute access) would be noticed."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __call__(self, score: object) -> None:
        self.touched.append("call")

    def __getattr__(self, name: str) -> object:
        self.touched.append(name)
        raise AttributeError(name)


@pytest.mark.parametrize("case", HOSTILE, ids=[c.path for c in HOSTILE])
def test_hostile_text_is_rejected_inertly(case, audit: AuditRecorder) -> None:
    """check_source and build reject the text; no import/exec/open happens meanwhile."""
    text = case.text
    reg = registry()
    audit.arm()
    diags = check_source(text, registry=reg, mode="composition")
    with pytest.raises(ValidationError) as info:
        build(text, reg, score=object())
    events = audit.disarm()
    assert any(d.is_error for d in diags)
    assert info.value.diagnostics
    assert _only_our_parse(events) == []
    assert not any(d.code == "CAD000" for d in diags)


@pytest.mark.parametrize("case", COMPOSITIONS, ids=[c.path for c in COMPOSITIONS])
def test_checking_any_composition_is_inert(case, audit: AuditRecorder) -> None:
    """Checking valid and invalid compositions alike raises no sensitive audit event."""
    reg, text = registry(), case.text
    audit.arm()
    check_source(text, registry=reg, mode="composition")
    events = audit.disarm()
    assert _only_our_parse(events) == []


def test_build_never_calls_or_inspects_registry_entries_beyond_the_builder(
    audit: AuditRecorder,
) -> None:
    """Building touches registry values only as the builder does (no calls of the notes)."""
    wire = Tripwire()
    reg = {"probe": wire}
    audit.arm()
    cadence = build('Cadence("x", score).then("a", probe).sync("b", [probe])', reg, score=None)
    events = audit.disarm()
    assert [s.name for s in cadence.steps] == ["a", "b"]
    assert "call" not in wire.touched
    assert _only_our_parse(events, building=True) == []


def test_dunder_is_reported_with_its_name() -> None:
    """A dunder anywhere in an argument is named in the diagnostic (CAD502)."""
    diags = check_source(
        'Cadence("x", score).then("a", answer.__globals__)', registry=registry(), mode="composition"
    )
    assert [d.code for d in diags] == ["CAD502"]
    assert "__globals__" in diags[0].message


def test_size_limits_are_checked_before_parsing(audit: AuditRecorder) -> None:
    """Text over the size limit is rejected without even parsing it (no compile event)."""
    text = 'Cadence("x", score)' + '.then("a", answer)' * 2000
    reg = registry()
    audit.arm()
    diags = check_source(text, registry=reg, mode="composition")
    events = audit.disarm()
    assert [d.code for d in diags] == ["CAD002"]
    assert events == []
