"""OpenTelemetry spans following the GenAI semantic conventions, when OpenTelemetry is installed.

The ``opentelemetry`` package is looked up once and imported only on the first call, so
``import cadence_llm`` stays free of it and a missing package costs one dictionary check.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import Any

from .messages import ModelRequest, ModelResponse

__all__ = ["end_span", "start_span", "use_span"]

_tracer: Any = None
_available: bool | None = None


def _get_tracer() -> Any:
    global _tracer, _available
    if _available is None:
        _available = importlib.util.find_spec("opentelemetry") is not None
    if not _available:
        return None
    if _tracer is None:
        from opentelemetry import trace

        # A ProxyTracer follows whatever provider the application installs later.
        _tracer = trace.get_tracer("cadence_llm")
    return _tracer


def start_span(system: str, model: str, request: ModelRequest, *, stream: bool) -> Any:
    """Start a ``chat {model}`` client span with the request attributes (None without OTel).

    The span is not made current: a stream's span lives across ``yield`` points, where
    attaching and detaching a context would cross asyncio contexts. Use :func:`use_span` to make
    it current around a plain call.
    """
    tracer = _get_tracer()
    if tracer is None:
        return None
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": system,
        "gen_ai.provider.name": system,
        "gen_ai.request.model": model,
    }
    if request.temperature is not None:
        attrs["gen_ai.request.temperature"] = request.temperature
    if request.max_tokens is not None:
        attrs["gen_ai.request.max_tokens"] = request.max_tokens
    if request.seed is not None:
        attrs["gen_ai.request.seed"] = request.seed
    if request.stop:
        attrs["gen_ai.request.stop_sequences"] = list(request.stop)
    if stream:
        attrs["gen_ai.request.stream"] = True
    from opentelemetry.trace import SpanKind

    return tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attrs)


@contextlib.contextmanager
def use_span(span: Any) -> Iterator[None]:
    """Make ``span`` current inside the block, so HTTP client spans nest under it."""
    if span is None:
        yield
        return
    from opentelemetry import trace

    with trace.use_span(
        span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    ):
        yield


def end_span(span: Any, response: ModelResponse | None, error: BaseException | None) -> None:
    """Put the response (or the error type) on ``span`` and end it."""
    if span is None:
        return
    if not span.is_recording():
        span.end()
        return
    if response is not None:
        span.set_attribute("gen_ai.response.model", response.model)
        if response.provider_id:
            span.set_attribute("gen_ai.response.id", response.provider_id)
        span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
        span.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", getattr(error, "code", None) or type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
    span.end()
