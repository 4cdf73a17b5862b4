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
"""

from __future__ import annotations

import time
from typing import Any

from cadence._observe._reporter import TOTAL_SUFFIX
from cadence._observe._tracing import TracingHooks, load_otel
from cadence._observe._track import Tracker
from cadence._version import __version__

__all__ = ["OpenTelemetryReporter"]


class OpenTelemetryReporter(TracingHooks):
    """Spans for runs and notes, as hooks or as a ``with_reporter`` callable.

    Args:
        service_name: Recorded as ``cadence.service`` on run spans.
        tracer_provider: Where spans go; the global provider when omitted.
        attach: Make note spans current while notes run (see ``TracingHooks``).
    """

    def __init__(
        self,
        service_name: str = "cadence",
        *,
        tracer_provider: Any = None,
        attach: bool = True,
    ) -> None:
        trace, _ = load_otel()
        provider = trace.get_tracer_provider() if tracer_provider is None else tracer_provider
        super().__init__(provider.get_tracer("cadence", __version__), attach=attach)
        self.service_name = service_name
        self._reported = Tracker(f"otel_report_{id(self):x}")

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
        buffered = self._reported.run()
        if not note_name.endswith(TOTAL_SUFFIX):
            if buffered is None:
                buffered = self._reported.enter_run("")
            buffered.data.setdefault("notes", []).append((note_name, now - int(elapsed * 1e9), now))
            return
        notes = buffered.data.get("notes", []) if buffered is not None else []
        if buffered is not None:
            self._reported.exit_run("")
        cadence = note_name[: -len(TOTAL_SUFFIX)]
        start = now - int(elapsed * 1e9)
        if notes:
            start = min(start, notes[0][1])
        run_span = self._tracer.start_span(
            f"cadence {cadence}",
            start_time=start,
            attributes={"cadence.name": cadence, "cadence.service": self.service_name},
        )
        parent = self._trace.set_span_in_context(run_span)
        for name, begin, end in notes:
            span = self._tracer.start_span(
                f"note {name}",
                context=parent,
                start_time=begin,
                attributes={"cadence.name": cadence, "cadence.note": name},
            )
            span.end(end_time=end)
        run_span.end(end_time=now)

    __call__ = report
