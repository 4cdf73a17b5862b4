"""EventEmitter: listener registration, event records, isolation of listener errors."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import pickle
import time
from typing import Any

import pytest

from cadence import Cadence, NoteError, note, testing
from cadence.events import (
    CADENCE_COMPLETED,
    CADENCE_FAILED,
    CADENCE_STARTED,
    EVENT_TYPES,
    GROUP_COMPLETED,
    GROUP_FAILED,
    GROUP_STARTED,
    NOTE_COMPLETED,
    NOTE_FAILED,
    NOTE_RETRYING,
    NOTE_STARTED,
    CadenceEvent,
    EventEmitter,
    GroupEvent,
    NoteEvent,
    RetryEvent,
    SpendEvent,
)

from ._support import Order


async def validate(score: Order) -> None:
    score.status = "valid"


async def charge(score: Order) -> None:
    score.status = "paid"


async def add_item(score: Order) -> None:
    score.items.append("book")


async def boom(score: Order) -> None:
    raise ValueError("card declined")


def test_event_type_values_are_stable_strings() -> None:
    """The seed's six event types plus retry and group events have dotted string values."""
    assert (NOTE_STARTED, NOTE_COMPLETED, NOTE_FAILED) == (
        "note.started",
        "note.completed",
        "note.failed",
    )
    assert (CADENCE_STARTED, CADENCE_COMPLETED, CADENCE_FAILED) == (
        "cadence.started",
        "cadence.completed",
        "cadence.failed",
    )
    assert NOTE_RETRYING == "note.retrying"
    assert {"group.started", "group.completed", "group.failed"} <= set(EVENT_TYPES)


async def test_seed_example_listeners() -> None:
    """The seed README's listeners receive note durations, failures and every event on '*'."""
    done: list[str] = []
    failed: list[str] = []
    audit: list[CadenceEvent] = []
    emitter = EventEmitter()
    emitter.on(NOTE_COMPLETED, lambda e: done.append(f"{e.note_name} done in {e.duration:.2f}s"))
    emitter.on(CADENCE_FAILED, lambda e: failed.append(f"{e.cadence_name} failed: {e.error}"))
    emitter.on("*", audit.append)
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(emitter)
        .then("validate", validate)
        .then("charge", boom)
    )
    with pytest.raises(NoteError):
        await cadence.run()
    assert done == ["validate done in 0.00s"]
    assert failed and failed[0].startswith("checkout failed: [NOTE_ERROR]")
    assert [e.event_type for e in audit] == [
        CADENCE_STARTED,
        NOTE_STARTED,
        NOTE_COMPLETED,
        NOTE_STARTED,
        NOTE_FAILED,
        CADENCE_FAILED,
    ]


async def test_async_and_sync_listeners_both_run_in_order() -> None:
    """Sync listeners are called, async ones awaited, type-specific before '*'."""
    seen: list[str] = []

    async def later(event: CadenceEvent) -> None:
        await asyncio.sleep(0)
        seen.append(f"async:{event.note_name}")

    emitter = EventEmitter().on(NOTE_COMPLETED, later).on("*", lambda e: seen.append(e.event_type))
    await Cadence("c", Order()).with_hooks(emitter).then("validate", validate).run()
    assert seen == [
        CADENCE_STARTED,
        NOTE_STARTED,
        "async:validate",
        NOTE_COMPLETED,
        CADENCE_COMPLETED,
    ]


async def test_listener_errors_are_logged_and_isolated(caplog: pytest.LogCaptureFixture) -> None:
    """A raising listener is logged on cadence.events; other listeners and the run go on."""
    seen: list[str] = []

    def broken(event: CadenceEvent) -> None:
        raise RuntimeError("listener bug")

    emitter = EventEmitter().on("*", broken).on("*", lambda e: seen.append(e.event_type))
    with caplog.at_level(logging.ERROR, logger="cadence.events"):
        result = await Cadence("c", Order()).with_hooks(emitter).then("v", validate).run()
    assert result.status == "valid"
    assert len(seen) == 4
    assert len([r for r in caplog.records if r.name == "cadence.events"]) == 4


async def test_off_removes_a_listener() -> None:
    """off() stops a listener; removing an unknown one is a no-op."""
    seen: list[str] = []
    listener = seen.append
    emitter = EventEmitter().on(NOTE_STARTED, listener)  # type: ignore[arg-type]
    emitter.off(NOTE_STARTED, listener)  # type: ignore[arg-type]
    emitter.off(NOTE_FAILED, listener)  # type: ignore[arg-type]
    await Cadence("c", Order()).with_hooks(emitter).then("v", validate).run()
    assert seen == []
    assert emitter.listeners(NOTE_STARTED) == ()


def test_unknown_event_type_fails_early() -> None:
    """A misspelt event type raises at registration and lists the valid ones."""
    with pytest.raises(ValueError, match=r"note\.completed"):
        EventEmitter().on("note.complete", print)
    with pytest.raises(TypeError):
        EventEmitter().on(NOTE_STARTED, "not callable")  # type: ignore[arg-type]


async def test_event_records_are_frozen_and_slotted() -> None:
    """Events are immutable slotted dataclasses."""
    events: list[CadenceEvent] = []
    await (
        Cadence("c", Order())
        .with_hooks(EventEmitter().on("*", events.append))
        .then("v", validate)
        .run()
    )
    event = events[1]
    assert isinstance(event, NoteEvent)
    assert not hasattr(event, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.note_name = "x"  # type: ignore[misc]


def _round_trips(event: CadenceEvent) -> None:
    """Every copy a user can make of a record equals it, field for field."""
    names = [f.name for f in dataclasses.fields(event)]
    as_dict = dataclasses.asdict(event)
    assert list(as_dict) == names
    for other in (
        dataclasses.replace(event),
        pickle.loads(pickle.dumps(event)),
        copy.copy(event),
        copy.deepcopy(event),
    ):
        assert type(other) is type(event)
        assert other == event
        assert hash(other) == hash(event)
        assert repr(other) == repr(event)
        assert dataclasses.asdict(other) == as_dict


async def test_note_records_from_a_run_behave_as_frozen_dataclasses() -> None:
    """A hook-built note record keeps the dataclass contract: fields, copies, equality, frozen."""
    events: list[CadenceEvent] = []
    cadence = (
        Cadence("c", Order())
        .with_hooks(EventEmitter().on("*", events.append))
        .then("v", validate)
        .sync("g", [add_item, charge])
    )
    await cadence.run(run_id="r-1")
    for record in events:  # the run and group records too
        _round_trips(record)
    notes = [e for e in events if type(e) is NoteEvent]
    assert len(notes) == 8  # v, g and its two tasks: started and completed each
    for event in notes:
        _round_trips(event)
        assert {f.name for f in dataclasses.fields(event)} >= {
            "cadence_name", "run_key", "depth", "timestamp", "group", "task_index", "run_id",
            "metadata", "spend",
        }  # fmt: skip
    task = next(e for e in notes if e.note_name == "add_item" and e.event_type == NOTE_COMPLETED)
    assert (task.cadence_name, task.group, task.task_index, task.run_id) == ("c", "g", 0, "r-1")
    assert task.metadata == {} and task.spend is None
    with pytest.raises(TypeError, match="metadata="):
        task.metadata["x"] = 1  # type: ignore[index]
    row = dataclasses.asdict(task)
    assert json.loads(json.dumps(row))["task_index"] == 0  # a log line, as a user writes one
    row["metadata"]["x"] = 1  # asdict's copy is the caller's to change
    assert task.metadata == {}
    moved = dataclasses.replace(task, cadence_name="other", task_index=1)
    assert (moved.cadence_name, moved.task_index, moved.note_name) == ("other", 1, "add_item")
    assert moved.timestamp == task.timestamp and moved.run_key == task.run_key
    assert (task.cadence_name, task.task_index) == ("c", 0)  # the original is untouched
    for name in ("cadence_name", "task_index", "timestamp", "metadata", "note_name"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(task, name, None)


def test_keyword_built_records_keep_every_field_they_are_given() -> None:
    """A record built by hand (tests, replays) keeps an explicit timestamp and metadata."""
    event = NoteEvent(
        NOTE_COMPLETED,
        "c",
        run_key="k",
        run_id="r",
        depth=2,
        timestamp=1234.5,
        monotonic=7.0,
        note_name="n",
        duration=0.25,
        metadata={"model": "m"},
        group="g",
        task_index=3,
    )
    assert (event.timestamp, event.monotonic, event.depth, event.run_key) == (1234.5, 7.0, 2, "k")
    assert (event.metadata, event.group, event.task_index) == ({"model": "m"}, "g", 3)
    _round_trips(event)
    before = time.time()
    fresh = NoteEvent(NOTE_STARTED, "c")
    assert before <= fresh.timestamp <= time.time()
    assert fresh.metadata == {} and fresh.run_id is None and fresh.spend is None


def test_retry_group_and_spend_records_can_be_replaced_and_pickled() -> None:
    """The note-record subclasses round-trip too (SpendEvent's replace used to raise TypeError)."""
    retry = RetryEvent(
        NOTE_RETRYING, "c", note_name="n", attempt=1, max_attempts=3, error=ValueError("x")
    )
    group = GroupEvent(GROUP_STARTED, "c", note_name="g", kind="sync", task_names=("a", "b"))
    spend = SpendEvent("spend.recorded", "c", note_name="n", charge=2, total=5)
    for event in (group, spend):
        _round_trips(event)
    assert dataclasses.replace(retry, attempt=2).attempt == 2
    assert pickle.loads(pickle.dumps(retry)).max_attempts == 3  # the error compares by identity
    assert spend.spend == 5
    again = dataclasses.replace(spend, total=9)
    assert (again.total, again.spend, again.charge) == (9, 9, 2)


async def test_a_note_record_made_outside_a_run_reads_the_wall_clock() -> None:
    """Hooks called with no run around them still give a wall-clock timestamp."""
    events: list[CadenceEvent] = []
    emitter = EventEmitter().on(NOTE_STARTED, events.append)
    before = time.time()
    await emitter.before_note("loose", Order())
    (event,) = events
    assert isinstance(event, NoteEvent)
    assert (event.note_name, event.cadence_name, event.run_key) == ("loose", "", "")
    assert before <= event.timestamp <= time.time()
    _round_trips(event)


async def test_group_events_and_task_events_name_their_group() -> None:
    """Tasks inside .sync report their group and index; the group has its own events."""
    events: list[CadenceEvent] = []
    emitter = EventEmitter().on("*", events.append)
    cadence = Cadence("c", Order()).with_hooks(emitter).sync("both", [validate, add_item])
    await cadence.run()
    groups = [e for e in events if isinstance(e, GroupEvent)]
    assert [(g.event_type, g.note_name, g.kind) for g in groups] == [
        (GROUP_STARTED, "both", "sync"),
        (GROUP_COMPLETED, "both", "sync"),
    ]
    assert groups[0].task_names == groups[1].task_names == ("validate", "add_item")
    tasks = [
        (e.note_name, e.group, e.task_index)
        for e in events
        if type(e) is NoteEvent and e.event_type == NOTE_COMPLETED
    ]
    assert tasks == [("validate", "both", 0), ("add_item", "both", 1), ("both", None, None)]


async def test_a_group_end_record_names_its_tasks_without_a_start_listener() -> None:
    """group.failed carries the tasks of the group (the chosen branch for a split), also for a
    listener that hears no group.started; concurrent runs keep their own."""
    ended: list[GroupEvent] = []
    emitter = EventEmitter().on(GROUP_FAILED, ended.append).on(GROUP_COMPLETED, ended.append)

    async def boom(score: Order) -> None:
        await asyncio.sleep(0)
        raise ValueError("no")

    async def slow(score: Order) -> None:
        await asyncio.sleep(0.01)

    failing = Cadence("f", Order()).with_hooks(emitter).sync("g", [validate, boom])
    passing = Cadence("p", Order()).with_hooks(emitter).sync("g", [slow, add_item])
    results = await asyncio.gather(failing.run(), passing.run(), return_exceptions=True)
    assert isinstance(results[0], Exception)
    assert {(e.event_type, e.cadence_name, e.task_names) for e in ended} == {
        (GROUP_FAILED, "f", ("validate", "boom")),
        (GROUP_COMPLETED, "p", ("slow", "add_item")),
    }
    assert emitter._groups == {}  # nothing kept once the groups ended

    # A run cancelled inside a .sync group ends the group too (group.failed), keeping nothing.
    async def hang(score: Order) -> None:
        await asyncio.sleep(3600)

    hanging = Cadence("h", Order()).with_hooks(emitter).sync("g", [hang, validate])
    for _ in range(3):
        run = asyncio.ensure_future(hanging.run())
        await asyncio.sleep(0.01)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert emitter._groups == {}
    assert [(e.event_type, e.cadence_name, e.task_names) for e in ended[-3:]] == [
        (GROUP_FAILED, "h", ("hang", "validate"))
    ] * 3

    # A child cadence's group named like the parent's .child step: each end names its own.
    ended.clear()
    inner = Cadence("inner", Order()).sync("g", [validate, add_item])
    await Cadence("outer", Order()).with_hooks(emitter).child("g", inner, lambda s, c: s).run()
    assert [(e.cadence_name, e.kind, e.task_names) for e in ended] == [
        ("inner", "sync", ("validate", "add_item")),
        ("outer", "child", ("g",)),
    ]


async def test_retry_events_carry_attempts() -> None:
    """@note(retry=...) failures emit note.retrying with attempt numbers and the error."""
    calls: list[int] = []

    @note(retry={"max_attempts": 3, "delay": 1.0})
    async def flaky(score: Order) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"attempt {len(calls)}")

    retries: list[RetryEvent] = []
    emitter = EventEmitter().on(NOTE_RETRYING, retries.append)  # type: ignore[arg-type]
    with testing.testing_mode(attempts=None):
        await Cadence("r", Order()).with_hooks(emitter).then("call", flaky).run()
    assert [(r.note_name, r.attempt, r.max_attempts, str(r.error)) for r in retries] == [
        ("call", 1, 3, "attempt 1"),
        ("call", 2, 3, "attempt 2"),
    ]
    assert retries[0].cadence_name == "r"


async def test_child_events_have_depth_and_share_the_run_key() -> None:
    """A .child cadence's events name the child, have depth 1 and the parent's run_key."""
    events: list[CadenceEvent] = []
    kid = Cadence("kid", Order()).then("v", validate)
    cadence = (
        Cadence("parent", Order())
        .with_hooks(EventEmitter().on("*", events.append))
        .child("ch", kid, lambda p, c: None)
    )
    await cadence.run()
    started = [e for e in events if e.event_type == CADENCE_STARTED]
    assert [(e.cadence_name, e.depth) for e in started] == [("parent", 0), ("kid", 1)]
    assert len({e.run_key for e in events}) == 1
    inner = next(e for e in events if e.note_name == "v")
    assert (inner.cadence_name, inner.depth) == ("kid", 1)


async def test_concurrent_runs_have_distinct_run_keys() -> None:
    """Concurrent runs of one definition emit events under different run keys."""
    events: list[CadenceEvent] = []

    async def slow(score: Order) -> None:
        await asyncio.sleep(0.001)

    cadence = (
        Cadence("c", Order()).with_hooks(EventEmitter().on("*", events.append)).then("s", slow)
    )
    await asyncio.gather(*(cadence.run(Order(order_id=str(i))) for i in range(5)))
    keys = {e.run_key for e in events}
    assert len(keys) == 5
    for key in keys:
        kinds = [e.event_type for e in events if e.run_key == key]
        assert kinds == [CADENCE_STARTED, NOTE_STARTED, NOTE_COMPLETED, CADENCE_COMPLETED]


async def test_interleaved_runs_children_and_groups_place_every_note_in_its_own_run() -> None:
    """Every note record names its own run, cadence and depth while runs interleave.

    Five runs share one emitter; each yields at every step, has a ``.sync`` group and a
    ``.child`` cadence, so the emitter sees notes of different runs and depths in turn.
    """
    events: list[CadenceEvent] = []

    async def hop(score: Order) -> None:
        await asyncio.sleep(0)

    async def hop2(score: Order) -> None:
        await asyncio.sleep(0)

    kid = Cadence("kid", Order()).then("k1", hop).sync("kg", [hop, hop2]).then("k2", hop)
    cadence = (
        Cadence("parent", Order())
        .with_hooks(EventEmitter().on("*", events.append))
        .then("p1", hop)
        .sync("pg", [hop, hop2])
        .child("ch", kid, lambda p, c: None)
        .then("p2", hop)
    )
    await asyncio.gather(*(cadence.run(Order(order_id=str(i))) for i in range(5)))
    keys = {e.run_key for e in events}
    assert len(keys) == 5
    where = {"p1": "parent", "pg": "parent", "ch": "parent", "p2": "parent"}
    where |= {"k1": "kid", "kg": "kid", "k2": "kid"}
    for key in keys:
        run = [e for e in events if e.run_key == key and type(e) is NoteEvent]
        completed = [(e.note_name, e.group) for e in run if e.event_type == NOTE_COMPLETED]
        assert completed == [
            ("p1", None),
            ("hop", "pg"),
            ("hop2", "pg"),
            ("pg", None),
            ("k1", None),
            ("hop", "kg"),
            ("hop2", "kg"),
            ("kg", None),
            ("k2", None),
            ("ch", None),
            ("p2", None),
        ]
        for e in run:
            cadence_name = where[e.group or e.note_name or ""]
            assert (e.cadence_name, e.depth) == (cadence_name, int(cadence_name == "kid"))


async def test_run_id_is_reported_when_the_run_has_one() -> None:
    """run(run_id=...) shows up on note events and the run's end."""
    events: list[CadenceEvent] = []
    cadence = (
        Cadence("c", Order()).with_hooks(EventEmitter().on("*", events.append)).then("v", validate)
    )
    await cadence.run(run_id="order-7")
    assert [e.run_id for e in events[1:]] == ["order-7", "order-7", "order-7"]


async def test_cancelled_run_closes_its_open_note() -> None:
    """Cancelling a run mid-step emits note.failed for that step, then cadence.failed."""
    events: list[CadenceEvent] = []
    started = asyncio.Event()

    async def hang(score: Order) -> None:
        started.set()
        await asyncio.Event().wait()

    cadence = (
        Cadence("c", Order()).with_hooks(EventEmitter().on("*", events.append)).then("hang", hang)
    )
    task = asyncio.ensure_future(cadence.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(e.event_type, e.note_name) for e in events] == [
        (CADENCE_STARTED, None),
        (NOTE_STARTED, "hang"),
        (NOTE_FAILED, "hang"),
        (CADENCE_FAILED, None),
    ]
    assert isinstance(events[2].error, asyncio.CancelledError)


async def test_records_are_built_only_for_event_types_with_a_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An emitter listening only for cadence.completed builds no note record at all."""
    import cadence.events as events_module

    built: list[object] = []
    real_blank = events_module.Blank

    def counting_blank() -> object:
        record = real_blank()
        built.append(record)
        return record

    monkeypatch.setattr(events_module, "Blank", counting_blank)
    ends: list[CadenceEvent] = []
    only_ends = EventEmitter().on(CADENCE_COMPLETED, ends.append)
    cadence = Cadence("c", Order()).with_hooks(only_ends).then("v", validate).then("c2", charge)
    await cadence.run()
    assert [type(r) for r in built] == [CadenceEvent]  # the cadence.completed record only
    assert [e.event_type for e in ends] == [CADENCE_COMPLETED]
    built.clear()
    every = EventEmitter().on(NOTE_COMPLETED, lambda e: None)
    await Cadence("c", Order()).with_hooks(every).then("v", validate).then("c2", charge).run()
    # one note.completed per step; no note.started and no run record
    assert [type(r) for r in built] == [NoteEvent, NoteEvent]


async def test_an_emitter_without_note_listeners_is_not_called_for_steps_that_succeed() -> None:
    """wants_notes(): run-level listeners cost a step no hook call; failures still arrive."""
    calls: list[str] = []

    class Counting(EventEmitter):
        def before_note(self, note_name: str, score: object) -> Any:  # type: ignore[override]
            calls.append(note_name)
            return super().before_note(note_name, score)

    seen: list[CadenceEvent] = []
    emitter = Counting().on(CADENCE_COMPLETED, seen.append).on(NOTE_FAILED, seen.append)
    assert emitter.wants_notes() is False
    cadence = Cadence("c", Order()).with_hooks(emitter).then("v", validate).then("c2", charge)
    await cadence.run()
    assert calls == [] and [e.event_type for e in seen] == [CADENCE_COMPLETED]
    seen.clear()
    failing = Cadence("f", Order()).with_hooks(emitter).then("v", validate).then("boom", boom)
    with pytest.raises(NoteError):
        await failing.run()
    assert [(e.event_type, e.note_name) for e in seen] == [(NOTE_FAILED, "boom")]
    emitter.on(NOTE_STARTED, seen.append)  # heard from the next run on
    assert emitter.wants_notes() is True
    seen.clear()
    await cadence.run()
    assert calls == ["v", "c2"]
    assert [(e.event_type, e.note_name) for e in seen] == [
        (NOTE_STARTED, "v"),
        (NOTE_STARTED, "c2"),
        (CADENCE_COMPLETED, None),
    ]


async def test_emitter_hooks_can_be_awaited_like_coroutines() -> None:
    """Code that awaits the emitter's hook methods directly (as 0.7.2 allowed) still works."""
    events: list[CadenceEvent] = []
    emitter = EventEmitter().on("*", events.append)
    await emitter.before_cadence("manual", None)
    await emitter.before_note("step", None)
    await emitter.after_note("step", None, 0.5)
    await emitter.after_cadence("manual", None, 1.0)
    assert [(e.event_type, e.note_name) for e in events] == [
        (CADENCE_STARTED, None),
        (NOTE_STARTED, "step"),
        (NOTE_COMPLETED, "step"),
        (CADENCE_COMPLETED, None),
    ]
    assert {e.run_key for e in events} == {events[0].run_key} and events[2].duration == 0.5


async def test_async_listener_before_a_sync_one_keeps_the_order() -> None:
    """An async listener registered first is awaited before the next listener is called."""
    order: list[str] = []

    async def slow(event: CadenceEvent) -> None:
        await asyncio.sleep(0)
        order.append(f"slow {event.event_type}")

    def quick(event: CadenceEvent) -> None:
        order.append(f"quick {event.event_type}")

    emitter = EventEmitter().on(NOTE_COMPLETED, slow).on("*", quick)
    await Cadence("c", Order()).with_hooks(emitter).then("v", validate).run()
    assert order == [
        f"quick {CADENCE_STARTED}",
        f"quick {NOTE_STARTED}",
        f"slow {NOTE_COMPLETED}",
        f"quick {NOTE_COMPLETED}",
        f"quick {CADENCE_COMPLETED}",
    ]


async def test_timestamps_are_wall_clock_and_follow_the_monotonic_clock() -> None:
    """Within a run, timestamp - monotonic is one constant, and timestamps are wall-clock."""
    import time

    events: list[CadenceEvent] = []
    before = time.time()
    cadence = (
        Cadence("c", Order())
        .with_hooks(EventEmitter().on("*", events.append))
        .then("v", validate)
        .sync("g", [add_item, charge])
    )
    await cadence.run()
    after = time.time()
    offsets = [e.timestamp - e.monotonic for e in events]
    assert max(offsets) - min(offsets) < 1e-5  # one offset, up to float rounding
    assert all(before - 0.01 <= e.timestamp <= after + 0.01 for e in events)
    assert [e.monotonic for e in events] == sorted(e.monotonic for e in events)


async def test_a_notes_two_records_are_exactly_its_duration_apart() -> None:
    """note.completed.monotonic - note.started.monotonic equals the duration, steps and tasks alike."""
    events: list[CadenceEvent] = []

    async def slow(score: Order) -> None:
        await asyncio.sleep(0.01)

    cadence = (
        Cadence("c", Order())
        .with_hooks(
            EventEmitter().on(NOTE_STARTED, events.append).on(NOTE_COMPLETED, events.append)
        )
        .then("v", slow)
        .sync("g", [slow, add_item])
    )
    await cadence.run()
    starts = {e.note_name: e for e in events if e.event_type == NOTE_STARTED}
    ends = {e.note_name: e for e in events if e.event_type == NOTE_COMPLETED}
    assert set(starts) == set(ends) == {"v", "g", "slow", "add_item"}  # the group step too
    for name, end in ends.items():
        assert end.duration is not None
        assert end.monotonic - starts[name].monotonic == pytest.approx(end.duration, abs=1e-9)
    assert ends["v"].duration >= 0.009


async def test_a_note_sees_when_it_started_in_its_scope() -> None:
    """current_note().started is the perf_counter reading taken as the note began."""
    import time

    from cadence import current_note

    seen: list[float] = []

    async def look(score: Order) -> None:
        scope = current_note()
        assert scope is not None
        seen.append(time.perf_counter() - scope.started)

    before = time.perf_counter()
    await Cadence("c", Order()).with_hooks(EventEmitter()).then("a", look).sync("g", [look]).run()
    assert len(seen) == 2
    assert all(0 <= s < time.perf_counter() - before for s in seen)
