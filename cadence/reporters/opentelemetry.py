"""OpenTelemetry spans for cadence runs (needs ``opentelemetry-api``/``-sdk``; loaded when used).

Two ways to use it:

* ``with_hooks(reporter)`` — live spans: one per run, one per step and per group task,
  ``.sync`` tasks under their group step, a ``.child`` cadence's run under its step, retries
  as ``retry`` span events, failures recorded (exception event + ERROR status). While a note
  runs its span is current, so spans opened inside it nest under it.
* ``with_reporter(reporter.report)`` — the seed's form: spans are made from the reported
  timings when the run ends (one run span with one child per step). Failed steps are not
  reported to reporters, so use hooks to see errors. When the reporter is attached both ways,
  ``.report`` steps aside and nothing is recorded twice.

The resource attribute ``service.name`` belongs to your ``TracerProvider``
(``TracerProvider(resource=Resource.create({"service.name": ...}))``); ``service_name`` is
recorded on every run span as ``cadence.service``.

As in cadence-orchestration 0.7.2, ``include_state=True`` copies the score's simple fields onto
each note span (``score.<field>``), and ``include_timing`` (on by default) records each note's
duration with the OpenTelemetry metrics API (histogram ``cadence.step.duration``, counter
``cadence.step.count``; nothing is recorded unless you configure a ``MeterProvider``).
"""

from __future__ import annotations

import time
from typing import Any

from cadence._observe._reporter import TOTAL_SUFFIX, StepBuffer
from cadence._observe._tracing import TracingHooks, load_otel
from cadence._version import __version__

__all__ = ["OpenTelemetryReporter"]

_SIMPLE = (str, bool, int, float)


def _score_attributes(score: Any) -> dict[str, Any]:
    """``score.<field>`` for each public field holding a str/bool/int/float (``None`` as "null")."""
    if hasattr(score, "__dataclass_fields__"):
        names: Any = score.__dataclass_fields__
    elif isinstance(getattr(type(score), "model_fields", None), dict):
        names = type(score).model_fields
    else:
        names = getattr(score, "__dict__", {})
    attrs: dict[str, Any] = {}
    for name in names:
        if name.startswith("_"):
            continue
        value = getattr(score, name, None)
        if value is None:
            attrs[f"score.{name}"] = "null"
        elif isinstance(value, _SIMPLE):
            attrs[f"score.{name}"] = value
    return attrs


class OpenTelemetryReporter(TracingHooks):
    """Spans for runs and notes, as hooks or as a ``with_reporter`` callable.

    Args:
        service_name: Recorded as ``cadence.service`` on run spans.
        include_state: Copy the score's simple fields onto note spans (``score.<field>``).
        include_timing: Record note durations as OpenTelemetry metrics.
        tracer_name: Instrumentation scope of the spans (default ``"cadence"``).
        meter_name: Instrumentation scope of the metrics (default ``service_name``).
        tracer_provider: Where spans go; the global provider when omitted.
        meter_provider: Where the ``include_timing`` metrics go; the global provider when omitted.
        attach: Make note spans current while notes run (see ``TracingHooks``).
    """

    def __init__(
        self,
        service_name: str = "cadence",
        include_state: bool = False,
        include_timing: bool = True,
        tracer_name: str | None = None,
        meter_name: str | None = None,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        attach: bool = True,
    ) -> None:
        trace, _ = load_otel()
        provider = trace.get_tracer_provider() if tracer_provider is None else tracer_provider
        if not callable(getattr(provider, "get_tracer", None)):
            hint = (
                "; for a tracer use TracingHooks(tracer)"
                if callable(getattr(provider, "start_span", None))
                else ""
            )
            raise TypeError(
                f"tracer_provider must be an OpenTelemetry TracerProvider, got {provider!r}{hint}"
            )
        super().__init__(provider.get_tracer(tracer_name or "cadence", __version__), attach=attach)
        self.service_name = service_name
        self.include_state = bool(include_state)
        self.include_timing = bool(include_timing)
        self._reported = StepBuffer(f"otel_report_{id(self):x}")
        self._duration: Any = None
        self._count: Any = None
        if self.include_timing:
            from opentelemetry import metrics

            meters = metrics.get_meter_provider() if meter_provider is None else meter_provider
            if not callable(getattr(meters, "get_meter", None)):
                raise TypeError(
                    f"meter_provider must be an OpenTelemetry MeterProvider, got {meters!r}; "
                    "or pass include_timing=False"
                )
            meter = meters.get_meter(meter_name or service_name)
            self._duration = meter.create_histogram(
                "cadence.step.duration", unit="s", description="Duration of cadence notes."
            )
            self._count = meter.create_counter(
                "cadence.step.count", description="Notes that finished."
            )

    def _measure(self, cadence: str, note: str, seconds: float) -> None:
        if self._duration is not None:
            labels = {"flow": cadence, "step": note}
            self._duration.record(seconds, attributes=labels)
            self._count.add(1, attributes=labels)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Add the score's fields (``include_state``) and metrics, then close the note's span."""
        note = self._tracker.find_note(note_name)
        if note is not None and note.payload is not None and self.include_state:
            note.payload[0].set_attributes(_score_attributes(score))
        run = note.run if note is not None else self._tracker.run()
        self._measure(run.cadence_name if run is not None else "", note_name, duration)
        await super().after_note(note_name, score, duration, error)

    def _run_attributes(self) -> dict[str, Any]:
        return {"cadence.service": self.service_name}

    def report(self, note_name: str, elapsed: float, score: Any) -> None:
        """``with_reporter`` entry: build the run's spans from its reported timings."""
        if self._tracker.run() is not None or (
            note_name.endswith(TOTAL_SUFFIX)
            and self._tracker.just_closed(note_name[: -len(TOTAL_SUFFIX)])
        ):
            return  # attached as hooks too: live spans already cover this run
        now = time.time_ns()
        if not note_name.endswith(TOTAL_SUFFIX):
            # Kept per run until its TOTAL (a child cadence reporting here too keeps its own).
            attrs = _score_attributes(score) if self.include_state else {}
            self._reported.add((note_name, now - int(elapsed * 1e9), now, attrs, elapsed))
            return
        cadence = note_name[: -len(TOTAL_SUFFIX)]
        notes = self._reported.take(cadence)
        start = now - int(elapsed * 1e9)
        if notes:
            start = min(start, notes[0][1])
        run_span = self._tracer.start_span(
            f"cadence {cadence}",
            start_time=start,
            attributes={"cadence.name": cadence, "cadence.service": self.service_name},
        )
        parent = self._trace.set_span_in_context(run_span)
        for name, begin, end, attrs, seconds in notes:
            span = self._tracer.start_span(
                f"note {name}",
                context=parent,
                start_time=begin,
                attributes={"cadence.name": cadence, "cadence.note": name, **attrs},
            )
            span.end(end_time=end)
            self._measure(cadence, name, seconds)
        run_span.end(end_time=now)

    __call__ = report


def __getattr__(name: str) -> Any:
    if name == "HAS_OTEL":  # 0.7.2's flag, worked out on use: importing this module imports
        import importlib  # nothing outside the standard library

        try:
            importlib.import_module("opentelemetry.trace")
            importlib.import_module("opentelemetry.metrics")
        except ImportError:
            return False
        return True
    # 0.7.2 names kept in cadence._compat.opentelemetry (see docs/migrating.md).
    if name in ("TracingContext", "opentelemetry_reporter"):
        from cadence._compat import bound, opentelemetry

        if name == "TracingContext":
            return opentelemetry.TracingContext
        return bound(opentelemetry.opentelemetry_reporter, reporter_class=OpenTelemetryReporter)
    raise AttributeError(f"module 'cadence.reporters.opentelemetry' has no attribute {name!r}")
