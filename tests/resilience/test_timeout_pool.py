"""Timed sync calls share a bounded pool of threads: no thread per call, no deadlock, no leak."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cadence import Cadence, Score, note
from cadence.exceptions import TimeoutError
from cadence.resilience import (
    _threads,
    abandoned_threads,
    set_timeout_workers,
    timeout,
    timeout_workers,
)


@pytest.fixture
def workers() -> Iterator[threading.Event]:
    """Restores the pool size and releases blocked test functions at teardown."""
    released = threading.Event()
    previous = set_timeout_workers(32)
    yield released
    released.set()
    set_timeout_workers(previous)
    deadline = time.monotonic() + 5
    while abandoned_threads() and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class Count(Score):
    n: int = 0


async def test_a_thousand_runs_with_a_timed_sync_note_use_the_pool_not_a_thread_each(
    workers: threading.Event,
) -> None:
    """1,000 concurrent runs: every run completes and at most 8 pool threads ever exist."""
    set_timeout_workers(8)
    peak = 0
    lock = threading.Lock()

    @note(timeout=30)
    def work(score: Count) -> None:
        nonlocal peak
        time.sleep(0.001)
        with lock:
            peak = max(peak, timeout_workers()[0])
        score.n += 1

    cadence = Cadence("pool", Count()).then("work", work)
    results = await asyncio.gather(*(cadence.run(Count()) for _ in range(1000)))
    assert [r.n for r in results] == [1] * 1000
    assert 1 <= peak <= 8


def test_a_call_whose_time_runs_out_in_the_queue_never_runs(workers: threading.Event) -> None:
    """With every worker busy, a waiting call times out and is dropped without running."""
    set_timeout_workers(1)
    ran = threading.Event()
    blocker = threading.Thread(target=lambda: _swallow(timeout(0.3)(workers.wait)))
    blocker.start()
    deadline = time.monotonic() + 5
    while timeout_workers()[1] < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    with pytest.raises(TimeoutError):
        timeout(0.05)(ran.set)()
    blocker.join()
    workers.set()
    time.sleep(0.05)
    assert not ran.is_set()
    assert len(abandoned_threads()) <= 1  # only the blocker's thread was ever abandoned


def _swallow(fn: object) -> None:
    with contextlib.suppress(TimeoutError):
        fn()  # type: ignore[operator]


def test_an_abandoned_worker_is_replaced(workers: threading.Event) -> None:
    """A pool of one stays usable after its only thread is abandoned to an overrunning call."""
    set_timeout_workers(1)
    with pytest.raises(TimeoutError):
        timeout(0.05)(workers.wait)()
    assert len(abandoned_threads()) == 1
    assert timeout(1.0)(lambda: "fresh")() == "fresh"


def test_nested_timed_calls_do_not_deadlock_a_full_pool(workers: threading.Event) -> None:
    """A timed function calling another timed function works with a pool of one."""
    set_timeout_workers(1)
    inner = timeout(1.0)(lambda: "inner")
    outer = timeout(2.0)(lambda: f"outer+{inner()}")
    assert outer() == "outer+inner"


def test_idle_workers_end(workers: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pool threads with nothing to do end after the idle time; the pool starts again on demand."""
    monkeypatch.setattr(_threads, "_IDLE_SECONDS", 0.05)
    set_timeout_workers(4)
    calls = [threading.Thread(target=timeout(1.0)(time.sleep), args=(0.02,)) for _ in range(4)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    deadline = time.monotonic() + 5
    while timeout_workers()[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert timeout_workers() == (0, 0)
    assert timeout(1.0)(lambda: 7)() == 7


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_the_pool_size_must_be_a_positive_int(bad: object) -> None:
    """set_timeout_workers refuses anything but an int >= 1."""
    with pytest.raises(ValueError, match="int >= 1"):
        set_timeout_workers(bad)  # type: ignore[arg-type]
