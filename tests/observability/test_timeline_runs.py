"""Timelines of parked, cancelled and very wide runs, and recordings of errors with odd codes."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cadence import Cadence, RunSuspended, Signal, note, testing
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.timeline import Bar, RunRecorder, build_bars, event_to_dict, write_timeline
from cadence.timeline import _assign_lanes as assign_lanes

from ._support import Order


@dataclass
class Gate:
    go: str | None = None


def parking(recorder: RunRecorder) -> Cadence[Gate]:
    return (
        Cadence("gate", Gate())
        .then("prepare", lambda score: None)
        .wait("go", Signal("go"), into="go")
        .with_hooks(recorder)
        .with_checkpoint(InMemoryCheckpointStore())
    )


async def park(cadence: Cadence[Gate], run_id: str) -> None:
    with pytest.raises(RunSuspended):
        await cadence.run(run_id=run_id)


async def test_recorder_draws_a_run_parked_after_a_finished_one(tmp_path: Path) -> None:
    """A run parked at a wait is the recorder's latest run, not the one that finished before."""
    recorder = RunRecorder()
    await Cadence("earlier", Order()).then("a", lambda score: None).with_hooks(recorder).run()
    await park(parking(recorder), "p1")
    assert {e.cadence_name for e in recorder.events} == {"gate"}
    page = write_timeline(recorder, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "parked at a wait" in page and "<td>earlier</td>" not in page


async def test_event_list_of_several_runs_draws_a_last_run_that_parked(tmp_path: Path) -> None:
    """A list of events whose last run parked is drawn for that run."""
    recorder = RunRecorder()
    await Cadence("earlier", Order()).then("a", lambda score: None).with_hooks(recorder).run()
    await park(parking(recorder), "p1")
    events = [e for key in recorder.run_keys for e in recorder.events_for(key)]
    assert len({e.run_key for e in events}) == 2
    page = write_timeline(events, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "parked at a wait" in page and "<td>earlier</td>" not in page


async def test_parked_runs_are_dropped_like_finished_ones() -> None:
    """max_runs bounds the runs kept when every run parks (an approval flow's recorder)."""
    recorder = RunRecorder(max_runs=2)
    cadence = parking(recorder)
    for i in range(5):
        await park(cadence, f"p{i}")
    assert len(recorder.run_keys) == 2
    assert [e.event_type for e in recorder.events][-1] == "cadence.suspended"


async def test_a_cancelled_run_is_drawn_cut_short_not_failed(tmp_path: Path) -> None:
    """Cancelling a run marks its running note and the run 'cancelled', with no error text."""
    started = asyncio.Event()

    async def hangs(score: Order) -> None:
        started.set()
        await asyncio.Event().wait()

    recorder = RunRecorder()
    cadence = Cadence("slow", Order()).then("hangs", hangs).with_hooks(recorder)
    task = asyncio.create_task(cadence.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    bars, info = build_bars([event_to_dict(e) for e in recorder.events])
    assert (info["status"], info["error"]) == ("cancelled", None)
    assert [(b.name, b.status, b.error) for b in bars] == [("hangs", "cancelled", None)]
    page = write_timeline(recorder, tmp_path / "t.html").read_text(encoding="utf-8")
    assert '<span class="badge cancelled">cancelled</span>' in page
    assert "0 failed" in page and "CancelledError" not in page


class RpcError(Exception):
    """Like gRPC's errors: ``code`` is a method, not data."""

    def code(self) -> str:
        return "UNAVAILABLE"


async def test_save_writes_an_error_whose_code_is_a_method(tmp_path: Path) -> None:
    """RunRecorder.save writes a retried error whose ``code`` is a method (its code: null)."""

    @note(retry=2)
    async def call(score: Order) -> None:
        raise RpcError("backend unavailable")

    recorder = RunRecorder()
    cadence = Cadence("rpc", Order()).then("call", call).with_hooks(recorder)
    with testing.testing_mode(attempts=None), pytest.raises(Exception, match="unavailable"):
        await cadence.run()
    saved = json.loads(recorder.save(tmp_path / "events.json").read_text(encoding="utf-8"))
    retried = [e for e in saved if e["event_type"] == "note.retrying"]
    assert [e["error"] for e in retried] == [
        {"type": "RpcError", "message": "backend unavailable", "code": None}
    ]
    assert write_timeline(tmp_path / "events.json", tmp_path / "t.html").exists()


class Counted(float):
    """A time that counts how often it is compared."""

    compared = 0

    def _count(self, other: Any, op: str) -> Any:
        Counted.compared += 1
        return getattr(float, op)(self, other)

    def __lt__(self, other: Any) -> Any:
        return self._count(other, "__lt__")

    def __le__(self, other: Any) -> Any:
        return self._count(other, "__le__")

    def __gt__(self, other: Any) -> Any:
        return self._count(other, "__gt__")

    def __ge__(self, other: Any) -> Any:
        return self._count(other, "__ge__")

    def __eq__(self, other: object) -> Any:
        return self._count(other, "__eq__")

    __hash__ = float.__hash__


def test_lanes_of_a_wide_map_are_not_found_by_scanning_every_lane() -> None:
    """2,000 bars at once (a .map run all at once) get their lanes with a few comparisons
    each, not one per lane already open (that was quadratic: seconds for 10,000 items)."""
    n = 2000
    bars = [Bar("item", "c", 0, "map", i, Counted(0.0), Counted(1.0)) for i in range(n)]
    Counted.compared = 0
    assign_lanes(bars)
    assert sorted(b.lane for b in bars) == list(range(n))
    assert Counted.compared < 100 * n  # a scan of the open lanes makes about n * n / 2


def test_each_bar_gets_the_lowest_lane_free_when_it_starts() -> None:
    """Lanes are the first free one, in start order, as before (checked against a scan)."""

    def scanned(bars: list[Bar]) -> list[int]:
        ends: list[float] = []
        lanes = {}
        for bar in sorted(bars, key=lambda b: (b.start, b.depth, b.task_index or 0)):
            end = bar.end if bar.end is not None else bar.start
            free = [i for i, e in enumerate(ends) if e <= bar.start]
            if free:
                lane = free[0]
                ends[lane] = end
            else:
                lane = len(ends)
                ends.append(end)
            lanes[id(bar)] = lane
        return [lanes[id(b)] for b in bars]

    rng = random.Random(7)
    for _ in range(300):
        bars = []
        for i in range(rng.randint(0, 30)):
            start = round(rng.random(), 1)
            end = start + rng.choice([0.0, 0.1, round(rng.random(), 2)])
            bars.append(Bar("n", "c", rng.randint(0, 1), None, rng.choice([None, i]), start, end))
        expected = scanned(bars)
        assign_lanes(bars)
        assert [b.lane for b in bars] == expected
