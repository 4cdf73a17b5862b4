"""`cadence.cli.main([...])` as cadence-orchestration 0.7.2's tests call it: codes, files, names."""

from __future__ import annotations

import io
import sys
import textwrap
import warnings
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import cadence
from cadence.cli import main
from cadence.validate import check_file


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch working directory on sys.path; modules imported from it are unloaded after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules.get(name), "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


def _call(*argv: str) -> tuple[int, str, str]:
    """main(argv)'s returned code with stdout and stderr; a SystemExit is not caught."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_no_command_returns_0_with_the_help_on_stdout() -> None:
    """main([]) returns 0 and prints the help to stdout, as 0.7.2 did."""
    code, out, err = _call()
    assert code == 0 and out.startswith("usage: cadence") and err == ""


def test_new_without_a_kind_returns_1() -> None:
    """main(["new"]) returns 1 (no SystemExit), the mistake on stderr."""
    code, out, err = _call("new")
    assert code == 1 and out == "" and "cadence new cadence NAME" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["new", "cadence"],
        ["new", "note"],
        ["new", "bogus"],
        ["diagram"],
        ["validate"],
        ["bogus"],
        ["new", "note", "x", "--retry", "abc"],
    ],
)
def test_usage_errors_raise_system_exit_2(argv: list[str]) -> None:
    """A missing or malformed argument raises SystemExit(2), as argparse did in 0.7.2."""
    with pytest.raises(SystemExit) as info, redirect_stderr(io.StringIO()):
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["diagram", "nocolon"],
        ["diagram", "no_such_module_xyz:flow"],
        ["diagram", "json:no_such_attr"],
        ["validate", "no_such_module_xyz"],
    ],
)
def test_bad_targets_return_1_with_the_error_on_stderr(argv: list[str]) -> None:
    """A target that cannot be loaded returns 1; the message goes to stderr, not stdout."""
    code, out, err = _call(*argv)
    assert code == 1 and out == "" and err.startswith("cadence: error: ")


def test_init_makes_072s_folders_and_files(here: Path) -> None:
    """init writes cadences/, notes/, tests/ packages, the sample cadence and pyproject.toml."""
    code, _, _ = _call("init", "proj", "--name", "test_project")
    assert code == 0
    root = here / "proj"
    for folder in ("cadences", "notes", "tests"):
        assert (root / folder / "__init__.py").is_file(), folder
    sample = (root / "cadences" / "__init__.py").read_text()
    assert "sample_cadence = (" in sample and "class SampleScore(Score):" in sample
    assert (root / "tests" / "test_cadences.py").is_file()
    assert 'name = "test_project"' in (root / "pyproject.toml").read_text()
    for path in root.rglob("*.py"):
        assert check_file(path) == [], path


def test_init_twice_keeps_what_is_there(here: Path) -> None:
    """A second init returns 0 and leaves a file the user edited alone (0.7.2 did too)."""
    assert _call("init", "proj")[0] == 0
    edited = here / "proj" / "cadences" / "__init__.py"
    edited.write_text("# mine\n")
    assert _call("init", "proj")[0] == 0
    assert edited.read_text() == "# mine\n"


def test_new_cadence_uses_072s_path_and_names(here: Path) -> None:
    """new cadence check-out writes cadences/check_out.py defining check_out_cadence."""
    code, out, _ = _call("new", "cadence", "check-out")
    assert code == 0 and "check_out_cadence" in out
    path = here / "cadences" / "check_out.py"
    text = path.read_text()
    assert "check_out_cadence = (" in text and 'Cadence("check_out",' in text
    assert "class CheckOutScore(Score):" in text
    assert check_file(path) == []
    assert _call("run", "cadences.check_out:check_out_cadence", "--no-progress")[0] == 0


def test_new_note_writes_into_notes(here: Path) -> None:
    """new note charge writes notes/charge.py; an existing file returns 1 without --force."""
    assert _call("new", "note", "charge", "--retry", "3")[0] == 0
    assert "async def charge(" in (here / "notes" / "charge.py").read_text()
    code, _, err = _call("new", "note", "charge")
    assert code == 1 and "already exists" in err


def _module(here: Path, name: str, body: str) -> None:
    (here / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def test_validate_fails_a_module_without_cadences(here: Path) -> None:
    """validate MODULE with no Cadence in it returns 1, naming the fix (0.7.2 returned 1)."""
    _module(here, "plain_mod", "VALUE = 1\n")
    code, out, _ = _call("validate", "plain_mod")
    assert code == 1 and "CAD602 error: no Cadence objects found in plain_mod" in out
    assert "(fix: name the module" in out


def test_validate_fails_an_empty_cadence(here: Path) -> None:
    """validate of a cadence without steps returns 1 with CAD606 (0.7.2 returned 1)."""
    _module(
        here,
        "empty_mod",
        """
        from cadence import Cadence

        empty = Cadence("empty", {})
        """,
    )
    for target in ("empty_mod", "empty_mod:empty"):
        code, out, _ = _call("validate", target)
        assert code == 1, target
        assert "CAD606 error: cadence 'empty' has no steps" in out


def test_validate_checks_a_module_made_in_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module put in sys.modules by hand (no spec, no file) is imported and checked."""
    import types

    module = types.ModuleType("handmade_cadences")
    module.flow = cadence.Cadence("flow", {}).then("step", lambda score: None)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handmade_cadences", module)
    assert _call("validate", "handmade_cadences")[0] == 0
    module.flow = cadence.Cadence("flow", {})  # type: ignore[attr-defined]
    assert _call("validate", "handmade_cadences")[0] == 1


def test_diagram_text_prints_072s_layout(here: Path) -> None:
    """diagram -f text prints print_cadence's layout, without a deprecation warning."""
    _module(
        here,
        "drawn_mod",
        """
        from cadence import Cadence

        def a(score):
            pass

        def b(score):
            pass

        flow = Cadence("flow", {}).then("first", a).sync("both", [a, b])
        """,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # print_cadence would warn; the command must not
        code, out, _ = _call("diagram", "drawn_mod:flow", "-f", "text")
    assert code == 0
    assert out.splitlines() == [
        "=== Cadence: flow ===",
        "├── [first]",
        "└── ⫘ PARALLEL: both (smart_merge)",
        "    ├── a",
        "    └── b",
        "",
    ]


def test_cadence_cadence_reexports_072s_names() -> None:
    """cadence.cadence resolves 0.7.2's re-exports to today's objects, each with a warning."""
    from cadence import types

    expected = {
        "CadenceError": cadence.CadenceError,
        "CadenceHooks": cadence.CadenceHooks,
        "CheckpointStore": cadence.CheckpointStore,
        "HooksManager": cadence.HooksManager,
        "MergeStrategy": cadence.MergeStrategy,
        "Note": cadence.Note,
        "NoteError": cadence.NoteError,
        "Skip": cadence.Skip,
        "Condition": types.Condition,
        "Task": types.Task,
        "ScoreT": types.ScoreT,
    }
    import cadence.cadence as old

    for name, obj in expected.items():
        with pytest.warns(DeprecationWarning, match=name):
            assert getattr(old, name) is obj
    with pytest.warns(DeprecationWarning):
        from cadence.cadence import CheckpointHooks
    assert CheckpointHooks.__name__ == "CheckpointHooks"
    with pytest.raises(AttributeError, match="SingleMeasure"):
        _ = old.SingleMeasure
