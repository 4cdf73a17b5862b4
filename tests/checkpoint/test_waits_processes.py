"""Park in one process, resume from another: exactly once, under SQLite, Redis and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment naming one real store and a fresh ledger for the child processes."""
    if request.param == "sqlite":
        address = str(tmp_path / "runs.db")
    elif request.param == "redis":
        address = request.getfixturevalue("redis_url")
    else:
        address = request.getfixturevalue("postgres_dsn")
    ledger = tmp_path / "ledger.jsonl"
    ledger.touch()
    yield {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
        "CADENCE_WAIT_STORE": f"{request.param}:{address}",
        "CADENCE_WAIT_LEDGER": str(ledger),
    }


def cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cadence", *args],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def ledger(env: dict[str, str], run: str) -> list[dict[str, Any]]:
    lines = Path(env["CADENCE_WAIT_LEDGER"]).read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["run"] == run]


def park(env: dict[str, str], run: str) -> subprocess.CompletedProcess[str]:
    code, out, err = finish(
        cli(
            env,
            "run",
            "_wait_app:flow",
            "--run-id",
            run,
            "--score",
            json.dumps({"order": run, "amount": 50}),
        )
    )
    assert code == 3, err
    return subprocess.CompletedProcess([], code, out, err)


def test_park_exit_and_resume_from_another_process(store_env: dict[str, str]) -> None:
    """Process 1 parks and exits; process 2 resumes: every step ran once; a second resume is refused."""
    parked = park(store_env, "R-1")
    details = json.loads(parked.stdout)
    assert details["run_id"] == "R-1"
    assert details["waits"][0]["payload"] == {"amount": 50}

    code, out, err = finish(cli(store_env, "waits", "_wait_app:flow", "--run", "R-1"))
    assert code == 0, err
    assert [w["key"] for w in json.loads(out)] == ["manager"]

    decision = json.dumps({"approved": True, "payload": {"amount": 40}, "by": "ana"})
    code, out, err = finish(cli(store_env, "resume", "_wait_app:flow", "R-1", "--value", decision))
    assert code == 0, err
    assert json.loads(out)["paid"] == 40

    steps = ledger(store_env, "R-1")
    assert [s["step"] for s in steps] == ["draft", "pay"]
    assert steps[0]["pid"] != steps[1]["pid"], "the resume ran in a different process"

    code, _, err = finish(cli(store_env, "resume", "_wait_app:flow", "R-1", "--value", "true"))
    assert code == 1
    assert "WAIT_ALREADY_RESOLVED" in err and "'R-1'" in err and "has completed" in err, err
    assert [s["step"] for s in ledger(store_env, "R-1")] == ["draft", "pay"]


def test_two_processes_resume_at_once_and_one_wins(store_env: dict[str, str]) -> None:
    """Two processes resume one parked run at the same time: one completes it, one is refused."""
    park(store_env, "R-2")
    procs = [
        cli(store_env, "resume", "_wait_app:flow", "R-2", "--value", value)
        for value in ("true", "false")
    ]
    outcomes = [finish(p) for p in procs]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    refused = next(err for code, _, err in outcomes if code == 1)
    assert "WAIT_ALREADY_RESOLVED" in refused, refused
    assert [s["step"] for s in ledger(store_env, "R-2")] == ["draft", "pay"]
