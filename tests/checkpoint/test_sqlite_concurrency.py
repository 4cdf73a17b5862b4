"""SQLite under many processes: one database file, no "database is locked" errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("_campaign_worker.py")


@pytest.mark.slow
def test_eight_processes_with_fifty_concurrent_runs_share_one_file(tmp_path: Path) -> None:
    """8 processes x 50 concurrent checkpointed runs on one SQLite file all succeed, never locked."""
    db = tmp_path / "shared.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = []
    for i in range(8):
        ledger = tmp_path / f"ledger-{i}.jsonl"
        ledger.touch()
        procs.append(
            (
                ledger,
                subprocess.Popen(
                    [
                        sys.executable,
                        str(WORKER),
                        "sqlite",
                        str(db),
                        str(ledger),
                        f"stress-{i}",
                        "50",
                        "50",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                ),
            )
        )
    for ledger, proc in procs:
        _, err = proc.communicate(timeout=240)
        assert "database is locked" not in err.decode(), err.decode()[-2000:]
        assert proc.returncode == 0, err.decode()[-2000:]
        entries = [json.loads(line) for line in ledger.read_text().splitlines()]
        steps = [e for e in entries if "step" in e]
        returned = [e for e in entries if "returned" in e]
        assert len(steps) == 500 and len(returned) == 50, "every run ran each of its 10 steps once"
        assert all(e["returned"] == [f"s{k}" for k in range(10)] for e in returned)
