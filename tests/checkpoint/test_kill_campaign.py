"""Kill -9 campaign: SIGKILL the worker at random moments; every run still completes exactly.

For each durable store a worker runs checkpointed 10-step runs while a supervisor kills it with
SIGKILL at random moments -- also after runs have succeeded -- and restarts it at once (see
``_campaign.py`` for what is counted): 100 runs per store, 10-40 s each. ``make campaign``
repeats it ten times per store for the numbers docs/checkpoints.md reports.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _campaign import run_campaign

RUNS = int(os.environ.get("CADENCE_CAMPAIGN_RUNS", "100"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_kill_9_campaign_loses_and_repeats_no_completed_step(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Random SIGKILLs: every run returns right, no completed step re-runs, no restart waits."""
    address = {
        "sqlite": lambda: str(tmp_path / "campaign.db"),
        "redis": lambda: request.getfixturevalue("redis_url"),
        "postgres": lambda: request.getfixturevalue("postgres_dsn"),
    }[kind]()
    counts = run_campaign(kind, address, tmp_path, runs=RUNS)
    print(f"{kind}: {counts}")
    assert counts["lost"] == 0, counts
    assert counts["completed_reruns"] == 0, counts
    assert counts["failed_restarts"] == 0, counts
    assert counts["kills"] >= 8 and counts["kills_after_success"] == 5, (
        "the supervisor barely interrupted the worker; the campaign proves nothing"
    )
    assert counts["resumed_runs"] >= 1 and counts["replays"] >= RUNS, counts
