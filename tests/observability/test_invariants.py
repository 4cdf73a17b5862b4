"""Property test: for any plan shape and failure pattern, observers stay balanced and well formed."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cadence import Cadence, CadenceError
from cadence.events import (
    CADENCE_COMPLETED,
    CADENCE_FAILED,
    CADENCE_STARTED,
    GROUP_FAILED,
    NOTE_COMPLETED,
    NOTE_FAILED,
    NOTE_STARTED,
    CadenceEvent,
    EventEmitter,
)
from cadence.reporters import OpenTelemetryReporter

from ._support import Order

# A task is (yields before finishing, fails?); a step is (kind, [tasks]).
TASK = st.tuples(st.integers(0, 2), st.sampled_from([False, False, False, True]))
STEP = st.tuples(
    st.sampled_from(["then", "sync", "split", "child"]), st.lists(TASK, min_size=1, max_size=3)
)
PLAN = st.lists(STEP, min_size=1, max_size=5)


def make_task(name: str, yields: int, fails: bool) -> Any:
    async def task(score: Order) -> None:
        for _ in range(yields):
            await asyncio.sleep(0)
        if fails:
            raise ValueError(f"{name} failed")
        score.items.append(name)

    task.__name__ = name
    return task


def build(plan: list[tuple[str, list[tuple[int, bool]]]], hooks: list[Any]) -> Cadence[Order]:
    cadence = Cadence("root", Order()).with_hooks(hooks)
    for i, (kind, tasks) in enumerate(plan):
        fns = [make_task(f"t{i}_{j}", y, f) for j, (y, f) in enumerate(tasks)]
        if kind == "then":
            cadence.then(f"s{i}", fns[0])
        elif kind == "sync":
            cadence.sync(f"s{i}", fns)
        elif kind == "split":
            cadence.split(f"s{i}", lambda s: True, fns)
        else:
            kid = Cadence(f"kid{i}", Order())
            for j, fn in enumerate(fns):
                kid.then(f"k{i}_{j}", fn)
            cadence.child(f"s{i}", kid, lambda parent, child: None)
    return cadence


class Counting(SpanProcessor):
    """Counts span starts and ends."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started += 1

    def on_end(self, span: Any) -> None:
        self.ended += 1


@settings(max_examples=60, deadline=None)
@given(plan=PLAN)
def test_observers_stay_balanced_for_any_plan(
    plan: list[tuple[str, list[tuple[int, bool]]]],
) -> None:
    """Every started span ends and has its parent in the trace; every started note ends,
    except tasks cancelled by a failing sibling; cadence events pair up."""
    exporter = InMemorySpanExporter()
    counting = Counting()
    provider = TracerProvider()
    provider.add_span_processor(counting)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    events: list[CadenceEvent] = []
    cadence = build(
        plan,
        [EventEmitter().on("*", events.append), OpenTelemetryReporter(tracer_provider=provider)],
    )
    failed = False
    try:
        asyncio.run(cadence.run())
    except CadenceError:
        failed = True

    # Spans: all ended, one root, parents present, one span per run and per started note.
    spans = exporter.get_finished_spans()
    assert counting.started == counting.ended == len(spans)
    ids = {s.context.span_id for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1 and roots[0].name == "cadence root"
    assert all(s.parent is None or s.parent.span_id in ids for s in spans)
    assert len({s.context.trace_id for s in spans}) == 1
    starts = [e for e in events if e.event_type in (NOTE_STARTED, CADENCE_STARTED)]
    assert len(spans) == len(starts)

    # Events: cadence events pair up; the last one tells whether the run failed.
    runs = [e.event_type for e in events if e.event_type.startswith("cadence.")]
    assert runs.count(CADENCE_STARTED) == runs.count(CADENCE_COMPLETED) + runs.count(CADENCE_FAILED)
    assert runs[-1] == (CADENCE_FAILED if failed else CADENCE_COMPLETED)
    open_notes: dict[tuple[Any, ...], int] = {}
    for e in events:
        key = (e.cadence_name, e.note_name, getattr(e, "group", None))
        if e.event_type == NOTE_STARTED:
            open_notes[key] = open_notes.get(key, 0) + 1
        elif e.event_type in (NOTE_COMPLETED, NOTE_FAILED):
            open_notes[key] -= 1
    failed_groups = {e.note_name for e in events if e.event_type == GROUP_FAILED}
    for (_, _, group), count in open_notes.items():
        assert count in (0, 1)
        if count == 1:
            assert group in failed_groups
