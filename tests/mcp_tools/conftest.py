"""Fixtures starting real MCP server processes (stdio through the client, HTTP as a fixture)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.checkpoint._servers import _wait_port, free_port

ROOT = Path(__file__).resolve().parents[2]


def start_http(module: str, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``python -m module http PORT *args`` on loopback; return its URL and process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "http", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port, 30, proc)
    return f"http://127.0.0.1:{port}/mcp", proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def http_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The fixture MCP server over Streamable HTTP, stopped after the test."""
    url, proc = start_http("tests.mcp_tools.server_app")
    yield url, proc
    stop(proc)


@pytest.fixture
def stdio_args() -> list[str]:
    """Arguments starting the fixture MCP server over stdio."""
    return ["-m", "tests.mcp_tools.server_app"]
