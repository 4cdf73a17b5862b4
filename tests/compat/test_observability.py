"""0.7.2's hooks, reporters, Prometheus and OpenTelemetry names keep working."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cadence import (
    Cadence,
    DebugHooks,
    LoggingHooks,
    NoteError,
    Score,
    TimingHooks,
    console_reporter,
    json_reporter,
)
from cadence.hooks import after_note, before_note, on_error


@dataclass
class Cart(Score):
    total: float = 0.0
    label: str = "cart"
    note: str | None = None


async def price(score: Cart) -> None:
    score.total = 42.0


async def boom(score: Cart) -> None:
    raise ValueError("declined")


def test_one_callback_hook_factories() -> None:
    """before_note / after_note / on_error wrap one function (sync or async) as hooks."""
    seen: list[Any] = []

    async def started(name: str, score: Cart) -> None:
        seen.append(("before", name))

    hooks = [
        before_note(started),
        after_note(lambda name, score, seconds, error: seen.append(("after", name, error))),
        on_error(lambda name, score, error: True),  # True: suppress and go on
    ]
    result = (
        Cadence("c", Cart()).with_hooks(hooks).then("pay", boom).then("price", price).run_sync()
    )
    assert result.total == 42.0
    assert seen[0] == ("before", "pay") and seen[1][:2] == ("after", "pay")
    assert isinstance(seen[1][2], NoteError) and seen[-1] == ("after", "price", None)
    with pytest.raises(TypeError, match="takes a function"):
        before_note("not callable")  # type: ignore[arg-type]


def test_logging_hooks_write_072_messages(caplog: pytest.LogCaptureFixture) -> None:
    """LoggingHooks logs 0.7.2's lines; levels may be given positionally or by name."""
    flow = Cadence("log_test", Cart()).with_hooks(LoggingHooks("cadence", "INFO")).then("a", price)
    with caplog.at_level(logging.INFO, logger="cadence"):
        flow.run_sync()
    assert caplog.messages[0] == "[log_test] Starting cadence"
    assert "  \u2192 a" in caplog.messages
    assert any(m.startswith("  \u2713 a (") for m in caplog.messages)
    assert caplog.messages[-1].startswith("[log_test] Cadence completed in ")
    assert LoggingHooks("x", logging.DEBUG).level == logging.DEBUG
    with pytest.raises(ValueError, match="unknown level"):
        LoggingHooks(level="LOUD")


def test_timing_report_has_a_total_line() -> None:
    """TimingHooks.get_report() names the cadence, each note, and a TOTAL: line."""
    timing = TimingHooks()
    Cadence("report_test", Cart()).with_hooks(timing).then("step1", price).run_sync()
    report = timing.get_report()
    assert report.splitlines()[0] == "=== Timing Report: report_test ==="
    assert "step1" in report and report.splitlines()[-1].lstrip().startswith("TOTAL:")


def test_debug_hooks_072_options() -> None:
    """DebugHooks(show_score, show_timing) takes 0.7.2's options positionally."""
    out = io.StringIO()
    hooks = DebugHooks(False, False, stream=out)
    Cadence("dbg", Cart()).with_hooks(hooks).then("a", price).run_sync()
    text = out.getvalue()
    assert "ok a changed: {'total': '42.0'}" in text
    assert " ms" not in text and "score:" not in text


def test_console_and_json_reporters_print_072_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """console_reporter and json_reporter print 0.7.2's lines and keys on stdout."""
    console_reporter("fetch_data", 0.04523, None)
    console_reporter("checkout:TOTAL", 0.23456, None)
    json_reporter("fetch_data", 0.045678, None)
    json_reporter("checkout:TOTAL", 0.23456, None)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["  fetch_data: 45.23ms", "[checkout] TOTAL: 234.56ms"]
    step, total = json.loads(lines[2]), json.loads(lines[3])
    assert (step["beat"], step["elapsed_ms"], step["type"]) == ("fetch_data", 45.68, "beat")
    assert (total["beat"], total["type"]) == ("checkout", "cadence_total")
    from cadence.reporters.console import json_reporter as from_console

    assert from_console is json_reporter


def test_a_reporter_written_for_072_gets_each_note_and_the_total() -> None:
    """A reporter with 0.7.2's parameter names gets (name, seconds, score) per note, then TOTAL."""
    calls: list[tuple[str, float, Any]] = []

    def reporter(beat_name: str, elapsed: float, context: Any) -> None:
        calls.append((beat_name, elapsed, context))

    result = Cadence("cart", Cart()).with_reporter(reporter).then("price", price).run_sync()
    assert [name for name, _, _ in calls] == ["price", "cart:TOTAL"]
    assert all(elapsed >= 0 for _, elapsed, _ in calls) and calls[0][2] is result


@pytest.fixture
def registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def samples(registry: Any, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_prometheus_track_active_flows(registry: Any) -> None:
    """track_active_flows=False leaves the runs-in-progress gauge alone; True counts runs."""
    from cadence.reporters import PrometheusReporter

    quiet = PrometheusReporter("quiet", track_active_flows=False, registry=registry)
    assert quiet.track_active_flows is False
    Cadence("c", Cart()).with_hooks(quiet).then("a", price).run_sync()
    assert samples(registry, "quiet_cadence_runs_in_progress") == {}
    loud = PrometheusReporter("loud", registry=registry)
    assert loud.track_active_flows is True
    Cadence("c", Cart()).with_hooks(loud).then("a", price).run_sync()
    assert samples(registry, "loud_cadence_runs_in_progress") == {(("cadence", "c"),): 0.0}


def test_prometheus_072_methods_and_factory_warn(registry: Any) -> None:
    """flow_started, record_error and prometheus_reporter still count, each with a warning."""
    from cadence.reporters.prometheus import PrometheusReporter, prometheus_reporter

    reporter = PrometheusReporter("old", registry=registry)
    with pytest.warns(DeprecationWarning, match=r"with_hooks\(reporter\)"):
        reporter.flow_started("checkout")
    assert samples(registry, "old_cadence_runs_in_progress") == {(("cadence", "checkout"),): 1.0}
    reporter("checkout:TOTAL", 0.5, None)  # the TOTAL report ends the run flow_started began
    assert samples(registry, "old_cadence_runs_in_progress") == {(("cadence", "checkout"),): 0.0}
    with pytest.warns(DeprecationWarning, match=r"with_hooks\(reporter\)"):
        reporter.record_error("checkout", "pay", ValueError("x"))
    failures = samples(registry, "old_note_failures_total")
    assert failures == {(("cadence", "checkout"), ("code", "ValueError"), ("note", "pay")): 1.0}
    with pytest.warns(DeprecationWarning, match=r"PrometheusReporter\(prefix\)"):
        made = prometheus_reporter("cadence")
    assert isinstance(made, PrometheusReporter)


async def test_metrics_middleware_serves_metrics_and_passes_the_rest(registry: Any) -> None:
    """MetricsMiddleware answers its path with the exposition text; other paths reach the app."""
    from prometheus_client import Counter

    from cadence.reporters.prometheus import MetricsMiddleware

    Counter("compat_hits", "Hits.", registry=registry).inc()
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = MetricsMiddleware(app, path="/metrics", registry=registry)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        metrics = await client.get("/metrics")
        other = await client.get("/api/data")
    assert metrics.status_code == 200 and "compat_hits_total 1.0" in metrics.text
    assert other.status_code == 204 and reached == ["/api/data"]
    with pytest.raises(ValueError, match="start with '/'"):
        MetricsMiddleware(app, path="metrics")


@pytest.fixture
def otel() -> Iterator[tuple[Any, Any, Any, Any]]:
    """(tracer provider, span exporter, meter provider, metric reader), all in memory."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    meters = MeterProvider(metric_readers=[reader])
    yield tracers, exporter, meters, reader
    tracers.shutdown()
    meters.shutdown()


def metric_points(reader: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


@pytest.mark.parametrize("attach", ["hooks", "reporter"])
def test_otel_include_state_and_timing(otel: tuple[Any, Any, Any, Any], attach: str) -> None:
    """include_state puts score fields on note spans; include_timing records step metrics."""
    from cadence.reporters import OpenTelemetryReporter

    tracers, exporter, meters, reader = otel
    reporter = OpenTelemetryReporter(
        "shop", include_state=True, tracer_provider=tracers, meter_provider=meters
    )
    assert (reporter.include_state, reporter.include_timing) == (True, True)
    flow = Cadence("checkout", Cart())
    flow = flow.with_hooks(reporter) if attach == "hooks" else flow.with_reporter(reporter)
    flow.then("price", price).run_sync()
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "note price"]
    assert span.attributes["score.total"] == 42.0 and span.attributes["score.note"] == "null"
    points = metric_points(reader)
    (count,) = points["cadence.step.count"]
    assert count.value == 1 and dict(count.attributes) == {"flow": "checkout", "step": "price"}
    assert points["cadence.step.duration"][0].count == 1


def test_otel_072_helpers_warn_and_tracing_context_is_the_parent(
    otel: tuple[Any, Any, Any, Any],
) -> None:
    """opentelemetry_reporter and TracingContext warn; runs inside a TracingContext nest under it."""
    from cadence.reporters.opentelemetry import (
        OpenTelemetryReporter,
        TracingContext,
        opentelemetry_reporter,
    )

    tracers, exporter, _, _ = otel
    with pytest.warns(DeprecationWarning, match=r"OpenTelemetryReporter\(\.\.\.\)"):
        assert isinstance(opentelemetry_reporter("svc"), OpenTelemetryReporter)
    reporter = OpenTelemetryReporter(include_timing=False, tracer_provider=tracers)
    flow = Cadence("checkout", Cart()).with_hooks(reporter).then("price", price)
    with pytest.warns(DeprecationWarning, match=r"start_as_current_span"):
        context = TracingContext("request", {"order_id": "A1"}, tracer_provider=tracers)
    with context as ctx:
        ctx.set_attribute("user", "ada")
        ctx.add_event("received")
        flow.run_sync()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    outer = spans["request"]
    assert outer.attributes["order_id"] == "A1" and outer.attributes["user"] == "ada"
    assert spans["cadence checkout"].parent.span_id == outer.context.span_id
    with pytest.warns(DeprecationWarning):
        failing = TracingContext("failing", tracer_provider=tracers)
    with pytest.raises(ValueError), failing:
        raise ValueError("boom")
    failed = next(s for s in exporter.get_finished_spans() if s.name == "failing")
    assert not failed.status.is_ok and failed.events[0].name == "exception"


def test_event_records_have_072_fields() -> None:
    """Events carry 0.7.2's fields and are built as 0.7.2 built them; cadence's leave metadata empty."""
    from cadence.events import NOTE_COMPLETED, CadenceEvent, EventEmitter

    made = CadenceEvent(NOTE_COMPLETED, "c", note_name="price", metadata={"source": "test"})
    assert (made.event_type, made.cadence_name, made.note_name) == (NOTE_COMPLETED, "c", "price")
    assert made.timestamp > 0 and made.metadata == {"source": "test"}
    assert dict(CadenceEvent(NOTE_COMPLETED, "c").metadata) == {}
    seen: list[Any] = []
    emitter = EventEmitter().on(NOTE_COMPLETED, seen.append)
    Cadence("c", Cart()).with_hooks(emitter).then("price", price).run_sync()
    (event,) = seen
    assert (event.note_name, dict(event.metadata)) == ("price", {})
    assert event.duration is not None and event.error is None
