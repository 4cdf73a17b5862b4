"""Module mode details: positions, hints, registry forms, output shapes, robustness."""

from __future__ import annotations

import json

import pytest

from cadence.validate import CODES, Diagnostic, check_file, check_source, has_errors

HEAD = "from cadence import Cadence\n\n\ndef a(score):\n    pass\n\n\n"


def codes(text: str, **kw: object) -> list[str]:
    return [d.code for d in check_source(text, **kw)]  # type: ignore[arg-type]


def test_unknown_method_suggests_sync_for_parallel_with_position() -> None:
    """`.parallel` -> CAD101 pointing at the method name, hinting `.sync`."""
    text = HEAD + 'c = Cadence("x", None).parallel("p", [a])\n'
    (d,) = check_source(text)
    assert (d.code, d.line, d.column) == ("CAD101", 8, 24)
    assert ".sync(" in d.hint and d.end_column == d.column + len("parallel")


def test_branch_suggests_split() -> None:
    """`.branch` -> CAD101 hinting `.split`."""
    (d,) = check_source(HEAD + 'c = Cadence("x", None).branch("b", a, a)\n')
    assert d.code == "CAD101" and d.hint.startswith("use .split(")


def test_misspelled_method_suggests_nearest() -> None:
    """A typo like `.thn` is matched to `.then`."""
    (d,) = check_source(HEAD + 'c = Cadence("x", None).thn("b", a)\n')
    assert d.hint.startswith("use .then(")


def test_registry_names_count_as_defined() -> None:
    """Names in the registry (list or mapping) are not reported as undefined."""
    text = 'from cadence import Cadence\nc = Cadence("x", None).then("a", fetch)\n'
    assert codes(text) == ["CAD201"]
    assert codes(text, registry=["fetch"]) == []
    assert codes(text, registry={"fetch": print}) == []


def test_undefined_note_hint_names_the_closest_definition() -> None:
    """An undefined name close to a defined note gets a did-you-mean hint."""
    (d,) = check_source(HEAD + 'c = Cadence("x", None).then("a", aa)\n')
    assert d.code == "CAD201" and d.hint == "did you mean 'a'?"


def test_star_import_disables_undefined_checks() -> None:
    """After `from x import *` any name may be defined, so none is reported."""
    text = 'from cadence import Cadence\nfrom notes import *\nc = Cadence("x", None).then("a", fetch)\n'
    assert codes(text) == []


def test_diagnostic_json_shape() -> None:
    """to_dict gives every field plus the slug, and is JSON-serialisable."""
    (d,) = check_source(HEAD + 'c = Cadence("x", None).then("", a)\n', filename="m.py")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["code"] == "CAD102" and data["slug"] == "bad-step-name"
    assert data["source"] == "m.py" and data["severity"] == "error"
    assert set(data) >= {"line", "column", "message", "hint", "end_line", "end_column"}


def test_format_is_one_line_with_fix() -> None:
    """format() is `file:line:col: CODE severity: message (fix: hint)`."""
    (d,) = check_source(HEAD + 'c = Cadence("x", None).then("", a)\n', filename="m.py")
    assert d.format().startswith("m.py:8:29: CAD102 error: ")
    assert "(fix: " in d.format() and "\n" not in d.format()


def test_every_code_has_a_slug_and_severity() -> None:
    """The code table gives each code a slug and a default severity."""
    for code, (slug, severity) in CODES.items():
        assert code.startswith("CAD") and slug and severity in ("error", "warning", "info")


def test_warnings_do_not_count_as_errors() -> None:
    """has_errors is False when only warnings are present."""
    text = "import time\n\n\nasync def n(score):\n    time.sleep(1)\n"
    diags = check_source(text)
    assert [d.severity for d in diags] == ["warning"]
    assert not has_errors(diags)


def test_diagnostics_are_sorted_by_position() -> None:
    """Diagnostics come back ordered by line, then column."""
    text = HEAD + 'c = Cadence("x", None).then("a", zz).then("a", a)\nd = Cadence("", None)\n'
    diags = check_source(text)
    assert [(d.line, d.column) for d in diags] == sorted((d.line, d.column) for d in diags)
    assert len(diags) == 3


def test_check_file_reads_utf8_and_reports_non_utf8(tmp_path) -> None:
    """check_file checks a file; a non-UTF-8 file is a CAD001 finding, not a crash."""
    good = tmp_path / "good.py"
    good.write_text(HEAD + 'c = Cadence("ü", None).then("a", a)\n', encoding="utf-8")
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"x = '\xff'\n")
    assert check_file(good) == []
    assert [d.code for d in check_file(bad)] == ["CAD001"]


def test_rejects_non_string_input_and_unknown_mode() -> None:
    """Passing bytes or a wrong mode is a programming error raised at once."""
    with pytest.raises(TypeError):
        check_source(b"x = 1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        check_source("x = 1", mode="strict")  # type: ignore[arg-type]


def test_module_mode_never_imports_or_executes(audit) -> None:
    """Checking a module that would do damage on import runs none of it."""
    text = 'import os\nos.system("echo pwned")\nexec("1")\nopen("/etc/passwd")\n' + HEAD
    audit.arm()
    diags = check_source(text)
    events = audit.disarm()
    assert diags == []
    assert [e for e, args in events if not (e == "compile" and args[1] == "<string>")] == []


def test_very_deep_nesting_is_a_finding_not_a_crash() -> None:
    """Pathologically deep code yields CAD001/CAD002, never an exception."""
    text = "x = " + "-" * 5000 + "1\n"
    assert codes(text)[0] in ("CAD001", "CAD002")


def test_diagnostic_is_frozen() -> None:
    """Diagnostics are immutable values."""
    d = Diagnostic("CAD101", "error", 1, 1, "m")
    with pytest.raises(AttributeError):
        d.line = 2  # type: ignore[misc]
