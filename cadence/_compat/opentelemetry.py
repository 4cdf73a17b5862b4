"""0.7.2's OpenTelemetry extras: ``opentelemetry_reporter()`` and ``TracingContext``.

Both are deprecated and reached as ``cadence.reporters.opentelemetry.<name>``. In 0.7.2 the
span a ``TracingContext`` opened was never made current, so the runs inside it were not its
children; here it is current while the block runs, which is what its documentation promised.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from cadence._compat import deprecated

__all__ = ["TracingContext", "opentelemetry_reporter"]


def opentelemetry_reporter(
    service_name: str = "cadence",
    include_state: bool = False,
    include_timing: bool = True,
    *,
    reporter_class: Any,
) -> Any:
    """Deprecated: an ``OpenTelemetryReporter``; construct it directly instead.

    (``cadence.reporters.opentelemetry`` hands in ``reporter_class`` when the name is looked up.)
    """
    deprecated("opentelemetry_reporter(...)", "OpenTelemetryReporter(...)")
    return reporter_class(service_name, include_state, include_timing)


class TracingContext:
    """Deprecated: a span around a block (``with TracingContext("checkout", {...}):``).

    Use ``tracer.start_as_current_span(name, attributes=...)`` from OpenTelemetry itself.

    Args:
        operation_name: The span's name.
        attributes: Attributes set when the span starts.
        service_name: Name of the tracer (instrumentation scope) the span comes from.
        tracer_provider: Where the span goes; the global provider when omitted.
    """

    def __init__(
        self,
        operation_name: str,
        attributes: dict[str, Any] | None = None,
        service_name: str = "cadence",
        *,
        tracer_provider: Any = None,
    ) -> None:
        deprecated("TracingContext(...)", "tracer.start_as_current_span(...)")
        from cadence._observe._tracing import load_otel

        self._trace, self._context = load_otel()
        self.operation_name = operation_name
        self.attributes: dict[str, Any] = dict(attributes or {})
        provider = self._trace.get_tracer_provider() if tracer_provider is None else tracer_provider
        self._tracer = provider.get_tracer(service_name)
        self._span: Any = None
        self._token: Any = None

    def __enter__(self) -> TracingContext:
        self._span = self._tracer.start_span(self.operation_name, attributes=self.attributes)
        self._token = self._context.attach(self._trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span, self._span = self._span, None
        if self._token is not None:
            self._context.detach(self._token)
            self._token = None
        if span is None:
            return
        status = self._trace.StatusCode.OK
        if exc is not None:
            span.record_exception(exc)
            status = self._trace.StatusCode.ERROR
        span.set_status(self._trace.Status(status, None if exc is None else str(exc)))
        span.end()

    def set_attribute(self, key: str, value: Any) -> None:
        """Set an attribute on the open span."""
        if self._span is not None:
            self._span.set_attribute(key, value)

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        """Add an event to the open span."""
        if self._span is not None:
            self._span.add_event(name, attributes=attributes or {})
