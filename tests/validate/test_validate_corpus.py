"""The corpus: every program yields exactly the expected diagnostics (codes at lines)."""

from __future__ import annotations

from collections import Counter

import pytest
from validate_support import CORPUS, Case, load_cases

from cadence.validate import check_source

CASES = load_cases()


def test_corpus_is_large_and_varied() -> None:
    """The corpus holds at least 150 programs across valid, invalid and hostile kinds."""
    kinds = Counter(case.path.split("/")[0] for case in CASES)
    assert len(CASES) >= 150
    assert kinds["valid"] >= 40 and kinds["invalid"] >= 60 and kinds["hostile"] >= 40
    assert all((CORPUS / case.path).is_file() for case in CASES)


def test_every_seed_example_is_in_the_corpus() -> None:
    """All 24 snippets of the seed README are corpus programs expected to pass clean."""
    seeds = [c for c in CASES if c.path.startswith("valid/seed_")]
    assert len(seeds) == 24
    assert {c.expect for c in seeds} == {"clean"}


def test_every_diagnostic_code_is_exercised() -> None:
    """Each static diagnostic code appears in at least one expectation of the corpus."""
    used = {tok.split("@")[0] for c in CASES for tok in c.expect.split() if "@" in tok}
    static = {
        f"CAD{n}"
        for n in (
            "001",
            "101",
            "102",
            "103",
            "104",
            "105",
            "106",
            "107",
            "108",
            "109",
            "110",
            "201",
            "202",
            "203",
            "204",
            "301",
            "302",
            "303",
            "304",
            "305",
            "401",
            "402",
            "403",
            "501",
            "503",
        )
    }
    assert static <= used


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_corpus_program(case: Case) -> None:
    """The program yields its expected diagnostics: none, exact code@line pairs, or a rejection."""
    diags = check_source(
        case.text, registry=case.registry_value(), mode=case.mode, filename=case.path
    )  # type: ignore[arg-type]
    got = sorted(f"{d.code}@{d.line}" for d in diags)
    assert not any(d.code == "CAD000" for d in diags), got
    if case.expect == "clean":
        assert diags == [], [d.format() for d in diags]
    elif case.expect == "reject":
        assert any(d.is_error for d in diags)
    else:
        assert got == sorted(case.expect.split()), [d.format() for d in diags]
    for d in diags:
        assert d.hint, f"{d.code} has no fix hint"
        assert d.line >= 1 and d.column >= 0
