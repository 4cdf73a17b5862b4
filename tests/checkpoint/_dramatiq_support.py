"""What the Dramatiq tests share: the app module under test and real worker processes."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def load_app(
    name: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Import the app module ``name`` configured for this test's redis and ledger; closes its
    broker afterwards (a fixture body: ``yield from load_app(...)``)."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.touch()
    monkeypatch.setenv("CADENCE_TEST_REDIS", redis_url)
    monkeypatch.setenv("CADENCE_TEST_LEDGER", str(ledger))
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop(name, None)
    module = importlib.import_module(name)
    module.broker.client.flushdb()
    yield module
    sys.modules.pop(name, None)
    module.broker.close()


def start_workers(app: Any, count: int, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes running the actors of ``app`` (logs in ``tmp_path``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    code = (
        f"import {app.__name__} as a; from cadence.integrations.dramatiq import run_worker; "
        "run_worker(a.broker)"
    )
    procs = []
    for i in range(count):
        with open(tmp_path / f"worker-{i}.log", "wb") as log:
            procs.append(
                subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=log)
            )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the workers; kill those that do not exit within 15 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
