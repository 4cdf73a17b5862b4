"""`make serve` with the real local model, and a real HTTP client streaming an answer."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_make_serve_runs_the_fastapi_recipe() -> None:
    """The Makefile's serve target runs `python -m recipes.fastapi_app`."""
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^serve:.*\n\t(.*)$", makefile, re.M)
    assert target is not None and target.group(1).endswith("-m recipes.fastapi_app")


@pytest.fixture
def server() -> Iterator[str]:
    """`python -m recipes.fastapi_app` on SmolLM2, on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CADENCE_MODEL": "smollm2", "PORT": str(port), "HOST": "127.0.0.1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recipes.fastapi_app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def test_question_streams_back_token_by_token(server: str) -> None:
    """Tokens arrive as separate SSE events, in several network reads, before the result."""
    reads: list[str] = []
    with httpx.stream(
        "POST",
        f"{server}/ask",
        json={"question": "How do I resume a crashed run?"},
        headers={"accept": "text/event-stream"},
        timeout=300,
    ) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_text():
            reads.append(chunk)
    body = "".join(reads)
    tokens = [json.loads(m)["text"] for m in re.findall(r"^event: token\ndata: (.*)$", body, re.M)]
    result = json.loads(re.findall(r"^event: result\ndata: (.*)$", body, re.M)[-1])
    assert len(tokens) >= 3 and sum("event: token" in r for r in reads) >= 2
    assert result["answer"] == "".join(tokens).strip() or result["answer"] == "".join(tokens)
    assert result["sources"]
