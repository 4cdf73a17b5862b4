"""Fixtures for the resilience tests: a fake clock, fresh breaker stores and a real redis-server.

The Redis server is started by the fixture on a free loopback port and stopped by PID. A
missing ``redis-server`` binary fails the tests (never skips them): a shared-breaker suite that
silently skips its store proves nothing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from cadence.resilience import InMemoryBreakerStore, abandoned_threads
from cadence.testing import FakeClock


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """A fake clock installed for every policy during the test."""
    with FakeClock(start=1000.0) as fake:
        yield fake


@pytest.fixture
def store() -> InMemoryBreakerStore:
    """A breaker store private to the test, so circuits never leak between tests."""
    return InMemoryBreakerStore()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this session (fails if the binary is missing)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: apt-get install redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode} before listening")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not listen on port {port} within 10s")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """An event sync test functions block on; set at teardown so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()
    deadline = time.monotonic() + 5
    while abandoned_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
