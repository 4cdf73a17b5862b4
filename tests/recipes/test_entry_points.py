"""Each recipe's ``main`` (what ``python -m recipes.<name>`` runs) prints its transcript."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from cadence_llm import FunctionModel
from recipes import generated, rag, tool_agent
from recipes._retrieval import HashEmbedder


async def test_rag_main_prints_question_sections_and_answer(
    fake_model: FunctionModel, capsys: pytest.CaptureFixture[str]
) -> None:
    """rag.main shows the retrieval counts, the sections read and the cited answer."""
    await rag.main("What does .sync do?", model=fake_model, embedder=HashEmbedder())
    out = capsys.readouterr().out
    assert out.startswith("Q: What does .sync do?")
    assert "retrieved 4 sections by FTS5 and 4 by embedding similarity" in out
    assert out.count("  reading ") == 3 and "Sources: " in out


async def test_tool_agent_main_prints_tools_and_structured_answer(
    fake_model: FunctionModel, capsys: pytest.CaptureFixture[str]
) -> None:
    """tool_agent.main shows each tool call, the turn summary and the JSON answer."""
    await tool_agent.main(model=fake_model)
    out = capsys.readouterr().out
    assert 'check_stock({"product": "Trail Runner"})' in out and "order_status(" in out
    assert "turn 1: the model asked for 2 tool call(s)" in out
    assert 'structured: {"answer":"In stock.","in_stock":true,"order_status":"shipped"}' in out


async def test_generated_main_prints_code_rounds_diagram_and_result(
    fake_model: FunctionModel, capsys: pytest.CaptureFixture[str]
) -> None:
    """generated.main shows the code, the validation rounds, the diagram and the run."""
    await generated.main(model=fake_model)
    out = capsys.readouterr().out
    assert "model wrote:" in out and ".sync(" in out
    assert "round 0: accepted" in out and "flowchart TD" in out
    assert "reply: Your Trail Runner shoe is in transit" in out


@pytest.mark.parametrize("recipe", ["rag", "router", "tool_agent", "generated"])
def test_help_prints_the_recipe_docstring_instead_of_asking_the_model(recipe: str) -> None:
    """`python -m recipes.rag --help` used to load the model and answer the question "--help"."""
    module = importlib.import_module(f"recipes.{recipe}")
    done = subprocess.run(
        [sys.executable, "-m", f"recipes.{recipe}", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CADENCE_MODEL": "no-such-model-for-help"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (module.__doc__ or "").strip()
