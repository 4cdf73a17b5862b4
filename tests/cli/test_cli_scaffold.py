"""`cadence --version`, `init`, `new cadence`, `new note`: as a new user would type them."""

from __future__ import annotations

import subprocess
import sys

from cli_support import cadence, cadence_process

from cadence import __version__
from cadence.validate import check_file


def test_version_in_process_and_as_python_m(workdir) -> None:
    """`cadence --version` and `python -m cadence --version` print the version."""
    assert cadence("--version").out.strip() == f"cadence {__version__}"
    proc = cadence_process("--version", cwd=workdir)
    assert proc.code == 0 and proc.out.strip() == f"cadence {__version__}"


def test_no_command_prints_help_and_exits_2() -> None:
    """Bare `cadence` shows usage on stderr with exit code 2."""
    result = cadence()
    assert result.code == 2 and "init" in result.err and "validate" in result.err


def test_unknown_command_is_one_line_usage_error() -> None:
    """`cadence bogus` is a one-line error with exit code 2."""
    result = cadence("bogus")
    assert result.code == 2
    assert "invalid choice" in result.one_line_error()


def test_init_creates_a_project_that_validates_runs_and_tests(workdir) -> None:
    """`cadence init shop` writes a project whose check, run and test all pass."""
    result = cadence_process("init", "shop", cwd=workdir)
    assert result.code == 0, result.err
    project = workdir / "shop"
    for rel in (
        "pyproject.toml",
        "README.md",
        "shop/__init__.py",
        "shop/cadences.py",
        "tests/test_cadences.py",
    ):
        assert (project / rel).is_file(), rel
        assert f"created shop/{rel}" in result.out
    checked = cadence_process("validate", "shop.cadences", cwd=project)
    assert checked.code == 0, checked.out + checked.err
    ran = cadence_process(
        "run", "shop.cadences:pipeline", "--score", '{"text": "one two"}', cwd=project
    )
    assert ran.code == 0 and '"summary": "2 words, 7 characters"' in ran.out
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_init_here_uses_the_directory_name(workdir) -> None:
    """`cadence init` without a directory scaffolds the current one, named after it."""
    (workdir / "inner").mkdir()
    result = cadence("init", "inner")
    assert result.code == 0
    assert (workdir / "inner" / "inner" / "cadences.py").is_file()


def test_init_refuses_to_overwrite_then_force_works(workdir) -> None:
    """A second `init` fails in one line naming the file; --force overwrites."""
    assert cadence("init", "app").code == 0
    again = cadence("init", "app")
    assert again.code == 1
    assert "already exists" in again.one_line_error() and "--force" in again.err
    assert cadence("init", "app", "--force").code == 0


def test_init_rejects_names_that_are_not_python_packages(workdir) -> None:
    """A project directory like `1st` cannot become a package: one-line error."""
    result = cadence("init", "1st")
    assert result.code == 1 and "not a valid project name" in result.one_line_error()


def test_new_cadence_writes_a_clean_runnable_module(workdir) -> None:
    """`cadence new cadence checkout` writes checkout.py that validates and runs."""
    result = cadence("new", "cadence", "checkout")
    assert result.code == 0 and "created checkout.py" in result.out
    assert check_file(workdir / "checkout.py") == []
    ran = cadence("run", "checkout:checkout")
    assert ran.code == 0 and '"status": "done"' in ran.out


def test_new_note_with_resilience_options(workdir) -> None:
    """`new note process-payment --retry 3 --timeout 30 --fallback declined` writes the decorator."""
    result = cadence(
        "new",
        "note",
        "process-payment",
        "--retry",
        "3",
        "--timeout",
        "30",
        "--fallback",
        "declined",
        "-o",
        "notes",
    )
    assert result.code == 0
    text = (workdir / "notes" / "process_payment.py").read_text()
    assert (
        '@note(retry=3, timeout=30.0, fallback={"default": "declined", "field": "result"})' in text
    )
    assert "async def process_payment(score" in text
    assert check_file(workdir / "notes" / "process_payment.py") == []


def test_new_note_fallback_json_value(workdir) -> None:
    """--fallback takes JSON when it parses (here an empty list)."""
    assert cadence("new", "note", "search", "--fallback", "[]").code == 0
    assert '"default": []' in (workdir / "search.py").read_text()


def test_new_note_bad_arguments_are_one_line_usage_errors(workdir) -> None:
    """--retry 0, --timeout -1 and --retry abc exit 2 with one line each."""
    for args, needle in (
        (("--retry", "0"), "attempts must be >= 1"),
        (("--timeout", "-1"), "must be > 0"),
        (("--retry", "abc"), "whole number"),
    ):
        result = cadence("new", "note", "x", *args)
        assert result.code == 2
        assert needle in result.one_line_error()


def test_new_without_kind_or_name_is_a_usage_error() -> None:
    """`cadence new` and `cadence new note` without a name exit 2."""
    assert cadence("new").code == 2
    missing = cadence("new", "note")
    assert missing.code == 2 and "name" in missing.one_line_error()


def test_new_refuses_bad_names_and_existing_files(workdir) -> None:
    """A keyword name is refused; an existing file needs --force."""
    assert "not a valid note name" in cadence("new", "note", "class").one_line_error()
    assert cadence("new", "cadence", "flow").code == 0
    assert cadence("new", "cadence", "flow").code == 1
    assert cadence("new", "cadence", "flow", "--force").code == 0
