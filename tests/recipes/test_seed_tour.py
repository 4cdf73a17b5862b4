"""The seed tour recipe (the seed README's two examples) still runs and prints its results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_seed_tour_runs_end_to_end() -> None:
    """`python -m recipes.seed_tour` completes and prints both results and their diagrams."""
    out = subprocess.run(
        [sys.executable, "-m", "recipes.seed_tour"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "checkout: order ORD-123 paid total=14.5" in out.stdout
    assert "succeeded on attempt 2" in out.stdout
    assert "A (from 3 sources)" in out.stdout
    assert out.stdout.count("flowchart TD") == 2
