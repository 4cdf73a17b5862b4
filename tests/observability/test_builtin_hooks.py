"""LoggingHooks, TimingHooks, MetricsHooks and DebugHooks."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

import cadence
from cadence import (
    Cadence,
    DebugHooks,
    LoggingHooks,
    MetricsHooks,
    NoteError,
    TimingHooks,
    note,
    testing,
)

from ._support import Order


async def fetch(score: Order) -> None:
    score.items.append("book")


async def price(score: Order) -> None:
    score.total = 12.5


async def boom(score: Order) -> None:
    raise ValueError("declined")


def test_builtin_hooks_are_exported_from_cadence_and_hooks() -> None:
    """The seed imports the built-in hooks from cadence; cadence.hooks has them too."""
    from cadence import hooks

    for name in ("LoggingHooks", "TimingHooks", "MetricsHooks", "DebugHooks", "TracingHooks"):
        assert name in cadence.__all__
        assert getattr(cadence, name) is getattr(hooks, name)


async def test_logging_hooks_log_runs_notes_groups_and_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LoggingHooks logs start/end of the run and of each note, with the group of tasks."""
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(LoggingHooks())
        .sync("load", [fetch, price])
        .then("pay", boom)
    )
    with caplog.at_level(logging.INFO, logger="cadence"), pytest.raises(NoteError):
        await cadence.run()
    messages = [r.getMessage() for r in caplog.records if r.name == "cadence"]
    assert messages[0] == "[checkout] Starting cadence"
    assert "  \u2192 fetch [load#0]" in messages
    assert "  \u2192 price [load#1]" in messages
    assert any(m.startswith("  \u2713 load (") for m in messages)
    assert any(m.startswith("  \u2717 pay failed after") and "declined" in m for m in messages)
    assert messages[-1].startswith("[checkout] Cadence failed after")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].note_name == "pay"  # type: ignore[attr-defined]


async def test_logging_hooks_log_retries_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Each retry is one WARNING naming the attempt."""
    calls: list[int] = []

    @note(retry=2)
    async def flaky(score: Order) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset")

    cadence = Cadence("r", Order()).with_hooks(LoggingHooks()).then("call", flaky)
    with caplog.at_level(logging.INFO, logger="cadence"), testing.testing_mode(attempts=None):
        await cadence.run()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["  retry call after attempt 1/2: ConnectionError: reset"]


async def test_logging_hooks_silent_when_logger_disabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the logger above the level nothing is logged."""
    cadence = Cadence("q", Order()).with_hooks(LoggingHooks("quiet.logger")).then("f", fetch)
    logging.getLogger("quiet.logger").setLevel(logging.CRITICAL)
    try:
        with caplog.at_level(logging.DEBUG):
            await cadence.run()
    finally:
        logging.getLogger("quiet.logger").setLevel(logging.NOTSET)
    assert [r for r in caplog.records if r.name == "quiet.logger"] == []


async def test_logging_hooks_see_a_level_change_from_the_next_run_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The INFO check is made when a run starts; failures are checked at each failure."""
    name = "switch.logger"
    cadence = Cadence("s", Order()).with_hooks(LoggingHooks(name)).then("f", fetch)
    logger = logging.getLogger(name)
    try:
        logger.setLevel(logging.WARNING)
        with caplog.at_level(logging.DEBUG):
            await cadence.run()
            assert [r for r in caplog.records if r.name == name] == []
            logger.setLevel(logging.INFO)
            await cadence.run()
    finally:
        logger.setLevel(logging.NOTSET)
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    assert messages[:2] == ["[s] Starting cadence", "  \u2192 f"] and len(messages) == 4


async def test_logging_hooks_off_still_log_a_failed_step_and_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With INFO off the runner skips the hook on steps that succeed (wants_notes() is False),
    but a failed step and a failed group task still reach it and log at ERROR."""
    name = "half.logger"
    hooks = LoggingHooks(name)
    cadence = Cadence("h", Order()).with_hooks(hooks).then("f", fetch).sync("g", [price, boom])
    logging.getLogger(name).setLevel(logging.WARNING)
    try:
        assert hooks.wants_notes() is False
        with caplog.at_level(logging.DEBUG), pytest.raises(NoteError):
            await cadence.run()
    finally:
        logging.getLogger(name).setLevel(logging.NOTSET)
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    assert [m.split(" failed after")[0] for m in messages] == [
        "  \u2717 boom",
        "  \u2717 g",
        "[h] Cadence",
    ]
    assert all(r.levelno == logging.ERROR for r in caplog.records if r.name == name)


async def test_timing_hooks_report_every_note_of_the_last_run() -> None:
    """TimingHooks keeps each step and task of the last run and formats a report."""
    timing = TimingHooks()
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(timing)
        .then("fetch", fetch)
        .sync("both", [price, fetch])
    )
    await cadence.run()
    assert [(t.name, t.group, t.depth) for t in timing.timings] == [
        ("fetch", None, 0),
        ("price", "both", 1),
        ("fetch", "both", 1),
        ("both", None, 0),
    ]
    assert timing.cadence_name == "checkout"
    assert set(timing.note_times) == {"fetch", "price", "both"}
    assert timing.total_duration >= sum(t.duration for t in timing.timings if t.group is None)
    report = timing.get_report()
    assert report.splitlines()[0] == "=== Timing Report: checkout ==="
    assert "    price" in report
    assert report.splitlines()[-1].lstrip().startswith("TOTAL")


async def test_timing_hooks_concurrent_runs_do_not_mix() -> None:
    """Concurrent runs each collect their own notes; the report shows one whole run."""
    timing = TimingHooks()

    async def wait(score: Order) -> None:
        await asyncio.sleep(0.001)

    cadence = Cadence("c", Order()).with_hooks(timing).then("a", wait).then("b", wait)
    await asyncio.gather(*(cadence.run(Order()) for _ in range(4)))
    assert [t.name for t in timing.timings] == ["a", "b"]


async def test_metrics_hooks_count_success_failure_and_retries() -> None:
    """MetricsHooks aggregates counts, rates and durations across runs."""
    metrics = MetricsHooks()
    ok = Cadence("ok", Order()).with_hooks(metrics).then("fetch", fetch)
    bad = Cadence("bad", Order()).with_hooks(metrics).then("fetch", fetch).then("pay", boom)
    await ok.run()
    await ok.run()
    with pytest.raises(NoteError):
        await bad.run()
    data = metrics.get_metrics()
    assert data["cadences"]["ok"]["success"] == 2
    assert data["cadences"]["bad"]["failure"] == 1
    assert data["notes"]["fetch"]["total"] == 3
    assert data["notes"]["pay"]["success_rate"] == 0.0
    assert data["retries"] == {}
    metrics.reset()
    assert metrics.get_metrics()["cadences"] == {}


async def test_debug_hooks_show_what_each_note_changed() -> None:
    """DebugHooks prints each note with the score fields it changed."""
    out = io.StringIO()
    cadence = (
        Cadence("dbg", Order())
        .with_hooks(DebugHooks(stream=out, show_score=False))
        .then("fetch", fetch)
        .then("price", price)
    )
    await cadence.run()
    lines = out.getvalue().splitlines()
    assert lines[0] == "[dbg] start"
    assert any("ok fetch" in line and "'items': \"['book']\"" in line for line in lines)
    assert any("ok price" in line and "'total': '12.5'" in line for line in lines)
    assert lines[-1].startswith("[dbg] done in")


async def test_debug_hooks_show_failures() -> None:
    """DebugHooks prints the failing note's error."""
    out = io.StringIO()
    cadence = Cadence("dbg", Order()).with_hooks(DebugHooks(stream=out)).then("pay", boom)
    with pytest.raises(NoteError):
        await cadence.run()
    text = out.getvalue()
    assert "x pay failed" in text and "declined" in text
    assert "[dbg] FAILED" in text
