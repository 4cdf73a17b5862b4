"""The timeline shows a ``.map`` group with a bar per item and a run parked at a ``.wait``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cadence import Cadence, RunSuspended, Signal
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.events import CADENCE_FAILED, CADENCE_SUSPENDED, EventEmitter
from cadence.timeline import RunRecorder, build_bars, event_to_dict, write_timeline


@dataclass
class Batch:
    items: list[int] = field(default_factory=lambda: [1, 2, 3])
    out: list[int] = field(default_factory=list)
    go: str | None = None


async def parked_run() -> RunRecorder:
    recorder = RunRecorder()
    flow = (
        Cadence("batch", Batch())
        .map("square", "items", lambda n: n * n, concurrency=2, into="out")
        .wait("go", Signal("go"), into="go")
        .then("after", lambda b: None)
        .with_hooks(recorder)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    with pytest.raises(RunSuspended):
        await flow.run(run_id="t1")
    return recorder


async def test_bars_show_the_map_items_and_the_parked_wait() -> None:
    """The map step is a map bar with one task bar per item; the wait bar is 'waiting'."""
    recorder = await parked_run()
    bars, info = build_bars([event_to_dict(e) for e in recorder.events])
    assert info["status"] == "waiting"
    by_name = {b.name: b for b in bars if b.group is None}
    assert by_name["square"].kind == "map"
    items = sorted((b.task_index, b.status) for b in bars if b.group == "square")
    assert items == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert (by_name["go"].kind, by_name["go"].status) == ("wait", "waiting")
    assert "after" not in by_name


async def test_events_mark_a_parked_run_with_its_code() -> None:
    """A parked run ends with cadence.suspended (its error's code RUN_SUSPENDED), never
    cadence.failed: a failure alert does not fire for every approval request."""
    suspended, failed = [], []
    emitter = EventEmitter()
    emitter.on(CADENCE_SUSPENDED, suspended.append).on(CADENCE_FAILED, failed.append)
    flow = (
        Cadence("e", Batch())
        .wait("go", Signal("go"))
        .with_hooks(emitter)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    with pytest.raises(RunSuspended):
        await flow.run(run_id="e1")
    assert [getattr(e.error, "code", None) for e in suspended] == ["RUN_SUSPENDED"]
    assert failed == []


async def test_the_page_says_the_run_is_parked(tmp_path: Path) -> None:
    """The HTML badge reads 'parked at a wait' and the legend lists map and wait."""
    page = write_timeline(await parked_run(), tmp_path / "t.html").read_text()
    assert "parked at a wait" in page
    assert 'class="k-map"' in page and 'class="k-wait"' in page
