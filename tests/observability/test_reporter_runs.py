"""Reporters keep each run to itself: a child cadence reporting to its parent's reporter gets
its own steps only, and a run cancelled inside a hook's before_cadence/after_cadence still
closes every observer's gauge and span."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor
from prometheus_client import CollectorRegistry

from cadence import Cadence, CadenceHooks, HooksManager
from cadence.reporters import OpenTelemetryReporter, PrometheusReporter

from ._support import Order, Recorder


async def step_a(score: Order) -> None:
    score.items.append("a")


async def step_x(score: Order) -> None:
    score.items.append("x")


async def step_b(score: Order) -> None:
    score.items.append("b")


def family_and_child(reporter: Any) -> Cadence[Order]:
    """``parent``: a, c (the child cadence ``kid``: x), b, with ``reporter`` given to both."""
    child = Cadence("kid", Order()).with_reporter(reporter).then("x", step_x)
    return (
        Cadence("parent", Order())
        .with_reporter(reporter)
        .then("a", step_a)
        .child("c", child, lambda parent, kid: None)
        .then("b", step_b)
    )


def note_counts(registry: CollectorRegistry, prefix: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == f"{prefix}_note_duration_seconds_count":
                out[(sample.labels["cadence"], sample.labels["note"])] = sample.value
    return out


# -- bug 1: one buffer of reported steps per run ---------------------------------------------


async def test_prometheus_report_files_each_step_under_its_own_cadence() -> None:
    """A parent's steps reported before its child ran are not counted as the child's."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="fam", registry=registry)
    await family_and_child(reporter.report).run()
    assert note_counts(registry, "fam") == {
        ("kid", "x"): 1.0,
        ("parent", "a"): 1.0,
        ("parent", "c"): 1.0,
        ("parent", "b"): 1.0,
    }
    for cadence in ("parent", "kid"):
        labels = {"cadence": cadence}
        assert registry.get_sample_value("fam_cadence_runs_total", labels) == 1.0
        assert registry.get_sample_value("fam_cadence_duration_seconds_count", labels) == 1.0
    assert reporter._pending.frames.get() == ()  # every run's buffer went with its TOTAL


async def test_prometheus_report_twice_in_a_row_and_by_hand() -> None:
    """Runs one after the other in one task start empty; steps reported by hand (no run) go to
    the TOTAL reported next."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="seq", registry=registry)
    cadence = family_and_child(reporter.report)
    await cadence.run()
    await cadence.run()
    assert note_counts(registry, "seq")[("kid", "x")] == 2.0
    assert note_counts(registry, "seq")[("parent", "a")] == 2.0
    assert ("kid", "a") not in note_counts(registry, "seq")
    reporter.report("load", 0.1, None)
    reporter.report("save", 0.2, None)
    reporter.report("job:TOTAL", 0.3, None)
    counts = note_counts(registry, "seq")
    assert counts[("job", "load")] == 1.0 and counts[("job", "save")] == 1.0
    assert reporter._pending.frames.get() == ()


def spans_by_run(exporter: Any) -> dict[str, list[list[str]]]:
    """Each finished run span's name, with the names of the note spans under it."""
    finished = exporter.get_finished_spans()
    runs = [s for s in finished if s.name.startswith("cadence ")]
    assert all(run.parent is None for run in runs)
    out: dict[str, list[list[str]]] = {}
    for run in runs:
        notes = [
            s.name
            for s in finished
            if s.parent is not None and s.parent.span_id == run.context.span_id
        ]
        out.setdefault(run.name, []).append(notes)
    return out


async def test_opentelemetry_report_builds_each_run_from_its_own_steps(spans: Any) -> None:
    """The child's run span holds the child's step only; the parent's holds a, c and b."""
    provider, exporter = spans
    reporter = OpenTelemetryReporter(tracer_provider=provider, include_timing=False)
    await family_and_child(reporter.report).run()
    assert spans_by_run(exporter) == {
        "cadence kid": [["note x"]],
        "cadence parent": [["note a", "note c", "note b"]],
    }
    for span in exporter.get_finished_spans():
        if span.name == "note x":
            assert span.attributes["cadence.name"] == "kid"
        elif span.name.startswith("note "):
            assert span.attributes["cadence.name"] == "parent"
    assert reporter._reported.frames.get() == ()


async def test_opentelemetry_report_child_with_its_parents_name(spans: Any) -> None:
    """Runs are told apart by run, not by name: a child named as its parent, both reporting to
    one reporter, keeps its own steps."""
    provider, exporter = spans
    reporter = OpenTelemetryReporter(tracer_provider=provider, include_timing=False)
    child = Cadence("loop", Order()).with_reporter(reporter.report).then("x", step_x)
    parent = (
        Cadence("loop", Order())
        .with_reporter(reporter.report)
        .then("a", step_a)
        .child("c", child, lambda parent, kid: None)
        .then("b", step_b)
    )
    await parent.run()
    assert spans_by_run(exporter) == {"cadence loop": [["note x"], ["note a", "note c", "note b"]]}


async def test_both_reporters_in_one_callable_and_concurrent_families(spans: Any) -> None:
    """The audit's shape: one callable feeding both reporters, many families at once."""
    provider, exporter = spans
    registry = CollectorRegistry()
    prom = PrometheusReporter(prefix="many", registry=registry)
    otel = OpenTelemetryReporter(tracer_provider=provider, include_timing=False)

    def both(name: str, seconds: float, score: Any) -> None:
        prom.report(name, seconds, score)
        otel.report(name, seconds, score)

    cadence = family_and_child(both)
    await asyncio.gather(*(cadence.run(Order()) for _ in range(20)))
    assert note_counts(registry, "many") == {
        ("kid", "x"): 20.0,
        ("parent", "a"): 20.0,
        ("parent", "c"): 20.0,
        ("parent", "b"): 20.0,
    }
    runs = spans_by_run(exporter)
    assert runs["cadence kid"] == [["note x"]] * 20
    assert runs["cadence parent"] == [["note a", "note c", "note b"]] * 20


# -- bug 2: cancelled while a hook awaits in before_cadence / after_cadence ------------------


class Slow(CadenceHooks):
    """Awaits forever in one run-level hook; records what it is called with."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.waiting = asyncio.Event()
        self.calls: list[tuple[str, str | None]] = []

    async def _hang(self) -> None:
        self.waiting.set()
        await asyncio.Event().wait()

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.calls.append(("before_cadence", None))
        if self.where == "before_cadence":
            await self._hang()

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("after_cadence", type(error).__name__ if error else None))
        if self.where == "after_cadence":
            await self._hang()


class OpenSpans(SpanProcessor):
    """A span processor that knows which spans were started and not ended."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.open[span.context.span_id] = span.name

    def on_end(self, span: Any) -> None:
        self.open.pop(span.context.span_id, None)


@pytest.mark.parametrize("where", ["before_cadence", "after_cadence"])
@pytest.mark.parametrize("slow_first", [True, False], ids=["slow-first", "slow-last"])
async def test_a_run_cancelled_inside_a_run_hook_closes_gauge_and_span(
    spans: Any, where: str, slow_first: bool
) -> None:
    provider, exporter = spans
    still_open = OpenSpans()
    provider.add_span_processor(still_open)
    registry = CollectorRegistry()
    prom = PrometheusReporter(prefix="cx", registry=registry)
    otel = OpenTelemetryReporter(tracer_provider=provider, include_timing=False)
    slow = Slow(where)
    recorder = Recorder()
    hooks = [slow, prom, otel, recorder] if slow_first else [prom, otel, recorder, slow]
    cadence = Cadence("checkout", Order()).with_hooks(hooks).then("a", step_a)
    task = asyncio.ensure_future(cadence.run(Order()))
    await asyncio.wait_for(slow.waiting.wait(), 5)
    labels = {"cadence": "checkout"}
    if where == "before_cadence" and not slow_first:
        assert registry.get_sample_value("cx_cadence_runs_in_progress", labels) == 1.0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()  # the cancellation reaches the caller
    assert registry.get_sample_value("cx_cadence_runs_in_progress", labels) == 0.0
    assert registry.get_sample_value("cx_cadence_runs_total", labels) == 1.0
    assert still_open.open == {}
    (run_span,) = [s for s in exporter.get_finished_spans() if s.name == "cadence checkout"]
    if where == "before_cadence":
        # as a run cancelled mid-step: after_cadence hears the CancelledError; no step ran
        assert slow.calls == [("before_cadence", None), ("after_cadence", "CancelledError")]
        assert recorder.calls == [
            ("before_cadence", "checkout"),
            ("after_cadence", "checkout", "CancelledError"),
        ]
        assert run_span.attributes["error.type"].endswith("CancelledError")
        assert (
            registry.get_sample_value(
                "cx_cadence_failures_total", {"cadence": "checkout", "code": "CancelledError"}
            )
            == 1.0
        )
    else:
        assert slow.calls == [("before_cadence", None), ("after_cadence", None)]
        assert recorder.calls[-1] == ("after_cadence", "checkout", None)
        assert [s.name for s in exporter.get_finished_spans()].count("note a") == 1


async def test_a_lone_hook_cancelled_in_before_cadence_gets_after_cadence() -> None:
    """With one hooks object (no fan-out) the run's end is reported too, then it propagates."""
    slow = Slow("before_cadence")
    task = asyncio.ensure_future(Cadence("c", Order()).with_hooks(slow).then("a", step_a).run())
    await asyncio.wait_for(slow.waiting.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slow.calls == [("before_cadence", None), ("after_cadence", "CancelledError")]


async def test_a_timeout_around_a_run_stuck_in_before_cadence_still_times_out() -> None:
    """asyncio.timeout cancels through the hooks and turns it into TimeoutError as usual."""
    registry = CollectorRegistry()
    prom = PrometheusReporter(prefix="to", registry=registry)
    slow = Slow("before_cadence")
    cadence = Cadence("c", Order()).with_hooks([slow, prom]).then("a", step_a)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cadence.run(Order())
    assert registry.get_sample_value("to_cadence_runs_in_progress", {"cadence": "c"}) == 0.0


class Interrupted(BaseException):
    """A BaseException other than CancelledError (as KeyboardInterrupt is)."""


class Calls:
    def __init__(self, name: str, log: list[str], raises: BaseException | None = None) -> None:
        self.name, self.log, self.raises = name, log, raises

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.log.append(self.name)
        await asyncio.sleep(0)
        if self.raises is not None:
            raise self.raises


async def test_fan_out_calls_every_hook_then_raises_the_first_interruption(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    first, second = Interrupted("first"), Interrupted("second")
    manager = HooksManager(
        [
            Calls("one", log),
            Calls("two", log, first),
            Calls("three", log, RuntimeError("logged")),
            Calls("four", log, second),
            Calls("five", log),
        ]
    )
    with (
        caplog.at_level(logging.ERROR, logger="cadence.hooks"),
        pytest.raises(Interrupted) as raised,
    ):
        await manager.before_cadence("c", None)
    assert raised.value is first
    assert log == ["one", "two", "three", "four", "five"]
    assert [r.getMessage() for r in caplog.records] == [
        "hook Calls.before_cadence failed; the run continues"
    ]


async def test_fan_out_of_ordinary_failures_is_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    """Exceptions are logged and swallowed, as before: the fan-out returns every result."""
    log: list[str] = []
    manager = HooksManager([Calls("one", log, ValueError("x")), Calls("two", log)])
    with caplog.at_level(logging.ERROR, logger="cadence.hooks"):
        await manager.before_cadence("c", None)
    assert log == ["one", "two"]
    assert len(caplog.records) == 1


async def test_a_hook_interrupting_before_cadence_ends_the_run_with_it() -> None:
    """The run raises the hook's BaseException; every hook hears the run end with it."""
    recorder = Recorder()

    class Stop(CadenceHooks):
        async def before_cadence(self, cadence_name: str, score: Any) -> None:
            raise Interrupted("stop")

    cadence = Cadence("c", Order()).with_hooks([Stop(), recorder]).then("a", step_a)
    with pytest.raises(Interrupted):
        await cadence.run(Order())
    assert recorder.calls == [("before_cadence", "c"), ("after_cadence", "c", "Interrupted")]


def _same_name_family() -> tuple[Cadence[Order], dict[str, list[str]]]:
    """``orders``: a, c (a child cadence also named ``orders``: x), each with its own reporter."""
    got: dict[str, list[str]] = {"parent": [], "child": []}
    child = (
        Cadence("orders", Order())
        .with_reporter(lambda name, seconds, score: got["child"].append(name))
        .then("x", step_x)
    )
    parent = (
        Cadence("orders", Order())
        .with_reporter(lambda name, seconds, score: got["parent"].append(name))
        .then("a", step_a)
        .child("c", child, lambda parent, kid: None)
    )
    return parent, got


async def test_a_child_named_like_its_parent_reports_only_to_its_own_reporter() -> None:
    parent, got = _same_name_family()
    await parent.run()
    assert got == {"parent": ["a", "c", "orders:TOTAL"], "child": ["x", "orders:TOTAL"]}


async def test_same_named_families_run_concurrently_keep_their_reports_apart() -> None:
    parent, got = _same_name_family()
    await asyncio.gather(parent.run(), parent.run(), parent.run())
    assert sorted(got["parent"]) == sorted(["a", "c", "orders:TOTAL"] * 3)
    assert sorted(got["child"]) == sorted(["x", "orders:TOTAL"] * 3)
