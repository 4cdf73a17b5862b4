"""A run parked at a ``.wait`` is no failure for any built-in hook, reporter or event; a store
failing as a run ends still reaches ``after_cadence``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cadence import Cadence, CadenceHooks, RunSuspended, Score, Signal
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.events import EventEmitter
from cadence.hooks import LoggingHooks, MetricsHooks, TimingHooks
from cadence.reporters import OpenTelemetryReporter, PrometheusReporter


@dataclass
class S(Score):
    v: Any = None


def _parking(*hooks: Any) -> Cadence[S]:
    return (
        Cadence("refund", S())
        .with_checkpoint(InMemoryCheckpointStore())
        .with_hooks(list(hooks))
        .then("check", lambda s: None)
        .wait("approval", Signal("ok"), into="v")
    )


async def test_park_is_not_a_failure_metric() -> None:
    """Prometheus counts no failure for a parked run, and its in-progress gauge goes back."""
    reg = CollectorRegistry()
    c = (
        Cadence("refund", S())
        .with_checkpoint(InMemoryCheckpointStore())
        .with_hooks(PrometheusReporter(prefix="park", registry=reg))
        .wait("approval", Signal("ok"), into="v")
    )
    with pytest.raises(RunSuspended):
        await c.run(S(), run_id="r")
    labels = {"cadence": "refund", "code": "RUN_SUSPENDED"}
    assert reg.get_sample_value("park_cadence_failures_total", labels) is None
    assert reg.get_sample_value("park_cadence_runs_in_progress", {"cadence": "refund"}) == 0


async def test_store_failure_at_end_reaches_after_cadence() -> None:
    """The store failing while closing the run (Redis gone): after_cadence still hears the run
    end, with that error, so gauges and spans are closed."""

    class Broken(InMemoryCheckpointStore):
        # Redis gone: every write fails, also the ones that close the run.
        async def complete_run(self, *a: Any, **k: Any) -> None:
            raise ConnectionError("store down")

        async def record_failure(self, *a: Any, **k: Any) -> None:
            raise ConnectionError("store down")

        async def release_lease(self, *a: Any, **k: Any) -> None:
            raise ConnectionError("store down")

    ended: list[Any] = []

    class H(CadenceHooks):
        async def after_cadence(self, cadence_name, score, duration, error=None):  # type: ignore[override]
            ended.append(error)

    c = Cadence("j", S()).with_checkpoint(Broken()).with_hooks(H()).then("a", lambda s: None)
    with pytest.raises(ConnectionError):
        await c.run(S(), run_id="r")
    assert len(ended) == 1 and isinstance(ended[0], ConnectionError)


async def test_a_parked_run_emits_suspended_events_not_failures() -> None:
    """The emitter says cadence.suspended and note.suspended for the park, never *.failed."""
    events: list[Any] = []
    with pytest.raises(RunSuspended):
        await _parking(EventEmitter().on("*", events.append)).run(S(), run_id="r")
    types = [e.event_type for e in events]
    assert types[-2:] == ["note.suspended", "cadence.suspended"]
    assert "note.failed" not in types and "cadence.failed" not in types
    assert events[-2].note_name == "approval"


async def test_logging_hooks_log_a_park_as_info_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LoggingHooks: "parked" at its level, nothing at ERROR."""
    with caplog.at_level(logging.INFO, logger="cadence"), pytest.raises(RunSuspended):
        await _parking(LoggingHooks()).run(S(), run_id="r")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("parked" in r.getMessage() for r in caplog.records)


async def test_timing_and_metrics_hooks_count_no_failure_for_a_park() -> None:
    """TimingHooks marks no timing failed; MetricsHooks counts no failure."""
    timing, metrics = TimingHooks(), MetricsHooks()
    with pytest.raises(RunSuspended):
        await _parking(timing, metrics).run(S(), run_id="r")
    assert timing.timings and not any(t.failed for t in timing.timings)
    counted = metrics.get_metrics()
    assert counted["notes"]["approval"]["failure"] == 0
    assert counted["cadences"]["refund"]["failure"] == 0


async def test_otel_spans_of_a_parked_run_are_not_errors(spans: tuple[Any, Any]) -> None:
    """The run span and the wait step's span stay unset (not ERROR) and say suspended."""
    from opentelemetry.trace import StatusCode

    provider, exporter = spans
    with pytest.raises(RunSuspended):
        await _parking(OpenTelemetryReporter(tracer_provider=provider)).run(S(), run_id="r")
    finished = exporter.get_finished_spans()
    assert finished
    assert all(span.status.status_code is not StatusCode.ERROR for span in finished)
    assert any(span.attributes.get("cadence.suspended") for span in finished)
