"""The seed README's observability examples run as written (with stand-ins for its I/O)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from cadence import Cadence, CadenceHooks, LoggingHooks, Score, TimingHooks, to_dot, to_mermaid
from cadence.events import CADENCE_FAILED, NOTE_COMPLETED, EventEmitter


@dataclass
class MyScore(Score):
    done: int = 0


async def do_work(score: MyScore) -> None:
    score.done += 1


async def test_seed_logging_and_timing_hooks(caplog: pytest.LogCaptureFixture) -> None:
    """with_hooks([LoggingHooks(), TimingHooks()]) before any step, as in the seed."""
    cadence = (
        Cadence("monitored", MyScore())
        .with_hooks([LoggingHooks(), TimingHooks()])
        .then("note1", do_work)
    )
    with caplog.at_level(logging.INFO, logger="cadence"):
        result = await cadence.run()
    assert result.done == 1
    assert "[monitored] Starting cadence" in caplog.messages


async def test_seed_custom_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's MyHooks subclass prints and alerts."""
    alerts: list[str] = []

    def alert_team(message: str) -> None:
        alerts.append(message)

    class MyHooks(CadenceHooks):
        async def before_note(self, note_name: str, score: Any) -> None:
            print(f"Starting: {note_name}")

        async def after_note(
            self, note_name: str, score: Any, duration: float, error: BaseException | None = None
        ) -> None:
            print(f"Completed: {note_name} in {duration:.2f}s")

        async def on_error(self, note_name: str, score: Any, error: BaseException) -> None:
            alert_team(f"Error in {note_name}: {error}")

    async def broken(score: MyScore) -> None:
        raise RuntimeError("down")

    cadence = Cadence("c", MyScore()).with_hooks(MyHooks()).then("note1", do_work)
    await cadence.run()
    assert capsys.readouterr().out == "Starting: note1\nCompleted: note1 in 0.00s\n"
    with pytest.raises(Exception, match="down"):
        await Cadence("c", MyScore()).with_hooks(MyHooks()).then("bad", broken).run()
    assert alerts and alerts[0].startswith("Error in bad:")


async def test_seed_prometheus_reporter_on_the_default_registry() -> None:
    """PrometheusReporter(prefix=...) with .report works on the default registry."""
    from cadence.reporters import PrometheusReporter

    reporter = PrometheusReporter(prefix=f"myapp_{uuid.uuid4().hex[:6]}")
    cadence = Cadence("tracked", MyScore()).with_reporter(reporter.report).then("note1", do_work)
    await cadence.run()
    assert f'{reporter.prefix}_cadence_runs_total{{cadence="tracked"}} 1.0' in reporter.scrape()


async def test_seed_opentelemetry_reporter_without_a_configured_provider() -> None:
    """OpenTelemetryReporter(service_name=...) works even before the app configures tracing."""
    from cadence.reporters import OpenTelemetryReporter

    reporter = OpenTelemetryReporter(service_name="my-service")
    cadence = Cadence("traced", MyScore()).with_reporter(reporter.report).then("note1", do_work)
    assert (await cadence.run()).done == 1
    hooked = Cadence("traced", MyScore()).with_hooks(reporter).then("note1", do_work)
    assert (await hooked.run()).done == 1


async def test_seed_event_emitter(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's EventEmitter example."""
    audit: list[Any] = []
    alerts: list[str] = []
    emitter = EventEmitter()
    emitter.on(NOTE_COMPLETED, lambda e: print(f"{e.note_name} done in {e.duration:.2f}s"))
    emitter.on(CADENCE_FAILED, lambda e: alerts.append(f"{e.cadence_name} failed: {e.error}"))
    emitter.on("*", lambda e: audit.append(e))
    cadence = (
        Cadence("checkout", MyScore())
        .with_hooks(emitter)
        .then("validate", do_work)
        .then("charge", do_work)
    )
    await cadence.run()
    assert capsys.readouterr().out == "validate done in 0.00s\ncharge done in 0.00s\n"
    assert len(audit) == 6 and alerts == []


def test_seed_diagrams() -> None:
    """to_mermaid and to_dot import from cadence and return text."""
    my_cadence = Cadence("c", MyScore()).then("note1", do_work)
    assert to_mermaid(my_cadence).startswith("flowchart TD")
    assert to_dot(my_cadence).startswith('digraph "c"')
