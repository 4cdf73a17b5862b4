"""OpenTelemetry: the span tree of real runs, checked with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from cadence import Cadence, NoteError, ParallelNoteError, TracingHooks, note, testing
from cadence.reporters import OpenTelemetryReporter

from ._support import Order


async def validate(score: Order) -> None:
    score.status = "valid"


async def fetch(score: Order) -> None:
    score.items.append("book")


async def boom(score: Order) -> None:
    raise ValueError("card declined")


def tree(exporter: Any) -> list[Any]:
    """Finished spans as nested (name, status, [event names], [children]) in start order."""
    spans = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    ids = {s.context.span_id for s in spans}

    def build(parent_id: int | None) -> list[Any]:
        return [
            (
                s.name,
                s.status.status_code.name,
                [e.name for e in s.events],
                build(s.context.span_id),
            )
            for s in spans
            if (s.parent.span_id if s.parent is not None and s.parent.span_id in ids else None)
            == parent_id
        ]

    return build(None)


def by_name(exporter: Any, name: str) -> Any:
    return next(s for s in exporter.get_finished_spans() if s.name == name)


async def test_span_tree_of_a_run_with_sync_group_retry_and_failure(spans: Any) -> None:
    """One trace: run span > steps; .sync tasks under the group; a retry event; errors recorded."""
    provider, exporter = spans
    calls: list[int] = []

    @note(retry={"max_attempts": 3, "delay": 0.2})
    async def flaky(score: Order) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset by peer")

    reporter = OpenTelemetryReporter(service_name="shop", tracer_provider=provider)
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(reporter)
        .then("validate", validate)
        .sync("load", [fetch, flaky])
        .then("pay", boom)
    )
    with testing.testing_mode(attempts=None), pytest.raises(NoteError):
        await cadence.run(run_id="order-9")
    assert tree(exporter) == [
        (
            "cadence checkout",
            "ERROR",
            ["exception"],
            [
                ("note validate", "UNSET", [], []),
                (
                    "sync load",
                    "UNSET",
                    [],
                    [
                        ("note fetch", "UNSET", [], []),
                        ("note flaky", "UNSET", ["retry"], []),
                    ],
                ),
                ("note pay", "ERROR", ["exception"], []),
            ],
        )
    ]
    assert len({s.context.trace_id for s in exporter.get_finished_spans()}) == 1
    retry = by_name(exporter, "note flaky").events[0]
    assert retry.attributes["cadence.retry.attempt"] == 1
    assert retry.attributes["cadence.retry.max_attempts"] == 3
    assert retry.attributes["exception.type"] == "ConnectionError"
    pay = by_name(exporter, "note pay")
    assert pay.events[0].attributes["exception.type"] == "cadence.exceptions.NoteError"
    assert pay.attributes["error.type"] == "cadence.exceptions.NoteError"
    assert "card declined" in pay.status.description
    group = by_name(exporter, "sync load")
    assert group.attributes["cadence.group.kind"] == "sync"
    assert tuple(group.attributes["cadence.group.tasks"]) == ("fetch", "flaky")
    assert by_name(exporter, "note flaky").attributes["cadence.group"] == "load"
    assert by_name(exporter, "note flaky").attributes["cadence.task_index"] == 1
    run = by_name(exporter, "cadence checkout")
    assert run.attributes["cadence.service"] == "shop"
    assert run.attributes["cadence.run_id"] == "order-9"


async def test_child_cadence_span_is_a_child_of_its_step(spans: Any) -> None:
    """A .child cadence's run span hangs under the .child step's span."""
    provider, exporter = spans
    kid = Cadence("payment", Order()).then("authorize", validate)
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(OpenTelemetryReporter(tracer_provider=provider))
        .child("pay", kid, lambda parent, child: None)
    )
    await cadence.run()
    assert tree(exporter) == [
        (
            "cadence checkout",
            "UNSET",
            [],
            [
                (
                    "child pay",
                    "UNSET",
                    [],
                    [("cadence payment", "UNSET", [], [("note authorize", "UNSET", [], [])])],
                )
            ],
        )
    ]


async def test_spans_opened_inside_notes_nest_under_the_note(spans: Any) -> None:
    """A note's span is current while it runs, for async notes and for sync notes in threads."""
    provider, exporter = spans
    tracer = provider.get_tracer("app")

    async def call_api(score: Order) -> None:
        with tracer.start_as_current_span("http GET"):
            pass

    def query_db(score: Order) -> None:
        with tracer.start_as_current_span("db SELECT"):
            pass

    cadence = (
        Cadence("c", Order())
        .with_hooks(TracingHooks(provider.get_tracer("cadence")))
        .sync("io", [call_api, query_db])
    )
    await cadence.run()
    assert tree(exporter) == [
        (
            "cadence c",
            "UNSET",
            [],
            [
                (
                    "sync io",
                    "UNSET",
                    [],
                    [
                        ("note call_api", "UNSET", [], [("http GET", "UNSET", [], [])]),
                        ("note query_db", "UNSET", [], [("db SELECT", "UNSET", [], [])]),
                    ],
                )
            ],
        )
    ]


async def test_a_run_inside_a_request_span_joins_its_trace(spans: Any) -> None:
    """A run started while a span is current becomes that span's child."""
    provider, exporter = spans
    cadence = Cadence("c", Order()).with_hooks(OpenTelemetryReporter(tracer_provider=provider))
    cadence.then("v", validate)
    with provider.get_tracer("web").start_as_current_span("POST /orders"):
        await cadence.run()
    assert tree(exporter) == [
        (
            "POST /orders",
            "UNSET",
            [],
            [("cadence c", "UNSET", [], [("note v", "UNSET", [], [])])],
        )
    ]


async def test_cancelled_sync_task_span_is_ended(spans: Any) -> None:
    """A task cancelled because a sibling failed still gets its span ended, marked cancelled."""
    provider, exporter = spans
    never = asyncio.Event()

    async def hang(score: Order) -> None:
        await never.wait()

    cadence = (
        Cadence("c", Order())
        .with_hooks(OpenTelemetryReporter(tracer_provider=provider))
        .sync("g", [hang, boom])
    )
    with pytest.raises(ParallelNoteError):
        await cadence.run()
    hang_span = by_name(exporter, "note hang")
    assert hang_span.attributes["cadence.cancelled"] is True
    assert hang_span.status.status_code is StatusCode.ERROR
    assert by_name(exporter, "note boom").status.status_code is StatusCode.ERROR
    assert len(exporter.get_finished_spans()) == 4


async def test_concurrent_runs_make_separate_traces(spans: Any) -> None:
    """Concurrent runs of one definition produce one trace each, never mixing spans."""
    provider, exporter = spans

    async def wait(score: Order) -> None:
        await asyncio.sleep(0.001)

    cadence = (
        Cadence("c", Order())
        .with_hooks(OpenTelemetryReporter(tracer_provider=provider))
        .then("a", wait)
        .then("b", wait)
    )
    await asyncio.gather(*(cadence.run(Order()) for _ in range(3)))
    finished = exporter.get_finished_spans()
    assert len(finished) == 9
    traces: dict[int, list[str]] = {}
    for s in finished:
        traces.setdefault(s.context.trace_id, []).append(s.name)
    assert sorted(sorted(v) for v in traces.values()) == [["cadence c", "note a", "note b"]] * 3


async def test_seed_report_form_builds_spans_from_timings(spans: Any) -> None:
    """with_reporter(reporter.report) yields a run span with one child span per step."""
    provider, exporter = spans
    reporter = OpenTelemetryReporter(service_name="my-service", tracer_provider=provider)
    cadence = (
        Cadence("traced", Order())
        .with_reporter(reporter.report)
        .then("note1", validate)
        .then("note2", fetch)
    )
    await cadence.run()
    assert tree(exporter) == [
        (
            "cadence traced",
            "UNSET",
            [],
            [("note note1", "UNSET", [], []), ("note note2", "UNSET", [], [])],
        )
    ]
    run = by_name(exporter, "cadence traced")
    for child in ("note note1", "note note2"):
        span = by_name(exporter, child)
        assert run.start_time <= span.start_time <= span.end_time <= run.end_time


async def test_reporter_used_both_ways_does_not_duplicate(spans: Any) -> None:
    """Attached as hooks and as reporter, the run is traced once."""
    provider, exporter = spans
    reporter = OpenTelemetryReporter(tracer_provider=provider)
    cadence = (
        Cadence("c", Order())
        .with_hooks(reporter)
        .with_reporter(reporter.report)
        .then("v", validate)
    )
    await cadence.run()
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["cadence c", "note v"]


def test_tracing_hooks_reject_a_non_tracer() -> None:
    """TracingHooks needs a tracer and says so."""
    with pytest.raises(TypeError, match="tracer"):
        TracingHooks(object())
