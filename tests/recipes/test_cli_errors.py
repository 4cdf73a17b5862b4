"""Every recipe's command line: ``--help``, unexpected words and bad settings give one clear line."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checkpoint._servers import free_port

ROOT = Path(__file__).resolve().parents[2]

NO_WORDS = ["checkout", "seed_tour", "demo", "fastapi_app", "approval_flow"]


def run_recipe(recipe: str, *words: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"recipes.{recipe}", *words],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            **os.environ,
            "CADENCE_MODEL": "no-such-model-for-the-cli-tests",
            "PORT": str(free_port()),
            "REFUNDS_DB": os.devnull,
            **env,
        },
    )


@pytest.mark.parametrize("recipe", [*NO_WORDS, "fallback_chain"])
def test_help_prints_the_docstring_and_runs_nothing(recipe: str) -> None:
    """`--help` used to run the recipe (or start its server, or load the model) instead."""
    done = run_recipe(recipe, "--help")
    assert done.returncode == 0, done.stderr
    module = importlib.import_module(f"recipes.{recipe}")
    assert done.stdout.strip() == (module.__doc__ or "").strip()


@pytest.mark.parametrize("recipe", NO_WORDS)
def test_unexpected_words_are_refused(recipe: str) -> None:
    """A recipe that takes no words says so, instead of ignoring them and running."""
    done = run_recipe(recipe, "what", "now?")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"python -m recipes.{recipe} takes no arguments, got 'what now?' "
        f"(see python -m recipes.{recipe} --help)"
    )


@pytest.mark.parametrize("recipe", ["fastapi_app", "approval_flow"])
@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_port_is_one_line_not_a_traceback(recipe: str, port: str) -> None:
    """PORT=abc used to end in a ValueError traceback from int()."""
    done = run_recipe(recipe, PORT=port)
    assert done.returncode == 1
    assert done.stderr.strip() == f"PORT must be a TCP port number (1-65535), got {port!r}"


def test_a_model_spec_that_cannot_be_read_is_one_line() -> None:
    """CADENCE_MODEL=gpt-4o-mini (no provider) used to end in a ValueError traceback."""
    done = run_recipe("router", "My card was charged twice", CADENCE_MODEL="gpt-4o-mini")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("CADENCE_MODEL='gpt-4o-mini' is not a model the recipes can use")
    assert "write openai:gpt-4o-mini" in done.stderr


def test_fallback_chain_asks_the_question_given() -> None:
    """`python -m recipes.fallback_chain "..."` used to ignore the question and ask its own."""
    done = run_recipe(
        "fallback_chain", "Why", "retry?", CADENCE_MODEL="tests.recipes._cli_model:model"
    )
    assert done.returncode == 0, done.stderr
    assert "A: you asked: Why retry?" in done.stdout
