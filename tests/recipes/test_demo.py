"""recipes.demo: the three-stop tour as one cadence, ending with a timeline file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence_llm import FunctionModel
from recipes import demo
from recipes._retrieval import HashEmbedder


async def test_tour_runs_all_stops_and_writes_the_timeline(
    fake_model: FunctionModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rag, tool_agent and generated run; the timeline HTML holds their steps."""
    score, path = await demo.tour(fake_model, out=tmp_path / "t.html", embedder=HashEmbedder())
    assert score.rag_answer.startswith("Run it again") and "Sources:" in score.rag_answer
    assert '"order_status":"shipped"' in score.shop_report
    assert score.generated_done[0] == "load_order"
    html = path.read_text()
    for name in ("keyword_search", "vector_search", "check_stock", "order_status", "write"):
        assert name in html
    out = capsys.readouterr().out
    assert "1. rag" in out and "2. tool_agent" in out and "3. generated" in out
    assert out.rstrip().endswith(f"Run timeline: {path}")
