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


def test_no_command_prints_help_on_stdout_and_exits_0() -> None:
    """Bare `cadence` shows the help on stdout with exit code 0, as 0.7.2 did."""
    result = cadence()
    assert result.code == 0 and "init" in result.out and "validate" in result.out
    assert result.err == ""


def test_unknown_command_is_one_line_usage_error() -> None:
    """`cadence bogus` is a one-line error with exit code 2."""
    result = cadence("bogus")
    assert result.code == 2
    assert "invalid choice" in result.one_line_error()


def test_init_creates_a_project_that_validates_runs_and_tests(workdir) -> None:
    """`cadence init shop` writes 0.7.2's layout; its check, run and test all pass."""
    result = cadence_process("init", "shop", cwd=workdir)
    assert result.code == 0, result.err
    project = workdir / "shop"
    for rel in (
        "pyproject.toml",
        "README.md",
        "cadences/__init__.py",
        "notes/__init__.py",
        "tests/__init__.py",
        "tests/test_cadences.py",
    ):
        assert (project / rel).is_file(), rel
        assert f"Created: shop/{rel}" in result.out
    assert 'name = "shop"' in (project / "pyproject.toml").read_text()
    checked = cadence_process("validate", "cadences", "notes", cwd=project)
    assert checked.code == 0, checked.out + checked.err
    imported = cadence_process("validate", "cadences:sample_cadence", cwd=project)
    assert imported.code == 0, imported.out + imported.err
    ran = cadence_process(
        "run", "cadences:sample_cadence", "--score", '{"text": "one two"}', cwd=project
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


def test_init_here_uses_the_directory_name(workdir, monkeypatch) -> None:
    """`cadence init` without a directory scaffolds the current one, named after it."""
    here = workdir / "inner"
    here.mkdir()
    monkeypatch.chdir(here)
    result = cadence("init")
    assert result.code == 0
    assert (here / "cadences" / "__init__.py").is_file()
    assert 'name = "inner"' in (here / "pyproject.toml").read_text()


def test_init_keeps_existing_files_then_force_overwrites(workdir) -> None:
    """`init` where some files exist adds the others and keeps those (0.7.2 did); --force rewrites."""
    (workdir / "app" / "cadences").mkdir(parents=True)
    (workdir / "app" / "cadences" / "__init__.py").write_text("mine = 1\n")
    first = cadence("init", "app")
    assert first.code == 0 and first.err == ""
    assert (
        "Kept: app/cadences/__init__.py" in first.out
        and "Created: app/notes/__init__.py" in first.out
    )
    assert (workdir / "app" / "cadences" / "__init__.py").read_text() == "mine = 1\n"
    again = cadence("init", "app")
    assert again.code == 0 and "created" not in again.out
    assert cadence("init", "app", "--force").code == 0
    assert "sample_cadence" in (workdir / "app" / "cadences" / "__init__.py").read_text()


def test_init_rejects_names_pip_would_refuse(workdir) -> None:
    """A project name like `shop!` cannot be a distribution name: one-line error, exit 1."""
    result = cadence("init", "app", "--name", "shop!")
    assert result.code == 1 and "not a valid project name" in result.one_line_error()
    assert not (workdir / "app").exists()


def test_new_cadence_writes_a_clean_runnable_module(workdir) -> None:
    """`cadence new cadence checkout` writes cadences/checkout.py (checkout_cadence), as 0.7.2."""
    result = cadence("new", "cadence", "checkout")
    assert result.code == 0 and "Created: cadences/checkout.py" in result.out
    assert check_file(workdir / "cadences" / "checkout.py") == []
    text = (workdir / "cadences" / "checkout.py").read_text()
    assert "class CheckoutScore(Score):" in text and 'Cadence("checkout",' in text
    assert '__all__ = ["CheckoutScore", "checkout_cadence"]' in text
    assert cadence("validate", "cadences.checkout").code == 0
    ran = cadence("run", "cadences.checkout:checkout_cadence")
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
    assert '"default": []' in (workdir / "notes" / "search.py").read_text()


def test_new_note_bad_arguments_are_one_line_usage_errors(workdir) -> None:
    """--retry -1, --timeout -1, --timeout inf and --retry abc exit 2 with one line each."""
    for args, needle in (
        (("--retry", "-1"), "attempts must be >= 1"),
        (("--timeout", "-1"), "must be > 0"),
        (("--timeout", "inf"), "must be > 0"),
        (("--retry", "abc"), "whole number"),
    ):
        result = cadence("new", "note", "x", *args)
        assert result.code == 2
        assert needle in result.one_line_error()


def test_new_note_zero_retry_or_timeout_means_none(workdir) -> None:
    """--retry 0, --timeout 0 and an empty --fallback leave the option out, as 0.7.2 did."""
    result = cadence("new", "note", "x", "--retry", "0", "--timeout", "0", "--fallback", "")
    assert result.code == 0
    text = (workdir / "notes" / "x.py").read_text()
    assert "\n@note\nasync def x(" in text
    assert check_file(workdir / "notes" / "x.py") == []


def test_new_without_kind_or_name() -> None:
    """`cadence new` alone is one line and exit 1 (0.7.2's code); a missing name exits 2."""
    bare = cadence("new")
    assert bare.code == 1 and "cadence new note NAME" in bare.one_line_error()
    missing = cadence("new", "note")
    assert missing.code == 2 and "name" in missing.one_line_error()


def test_new_refuses_bad_names_and_existing_files(workdir) -> None:
    """A keyword name is refused; an existing file needs --force."""
    assert "not a valid note name" in cadence("new", "note", "class").one_line_error()
    assert cadence("new", "cadence", "flow").code == 0
    assert cadence("new", "cadence", "flow").code == 1
    assert cadence("new", "cadence", "flow", "--force").code == 0
