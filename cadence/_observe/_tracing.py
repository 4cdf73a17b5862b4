"""Spans for runs and notes through an OpenTelemetry tracer (``TracingHooks``).

One span per run and one per step or group task; a ``.sync`` group's tasks are children of the
group step's span, a ``.child`` cadence's run span is a child of the ``.child`` step's span, and
a top-level run is a child of whatever span is current when ``run()`` is called (a web request,
say). While a note runs its span is the current span, so spans the note opens itself (an HTTP
client, an LLM call) nest under it. Retries become span events; failures are recorded on the
span (``record_exception`` and an ERROR status).

The ``opentelemetry`` API is imported when a ``TracingHooks`` is created, never by
``import cadence``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cadence._observe._base import CadenceHooks, is_parked
from cadence._observe._track import NoteFrame, RunFrame, Tracker

__all__ = ["TracingHooks", "load_otel"]

logger = logging.getLogger("cadence.tracing")

_INSTALL = "pip install 'cadence-orchestration[opentelemetry]'"


def load_otel() -> tuple[Any, Any]:
    """Import ``opentelemetry.trace`` and ``opentelemetry.context`` or say how to install them."""
    try:
        from opentelemetry import context, trace
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"OpenTelemetry tracing needs the opentelemetry packages: {_INSTALL}"
        ) from exc
    return trace, context


def _type_name(error: BaseException) -> str:
    """The exception's fully qualified class name, as OpenTelemetry records it."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _error_attrs(error: BaseException) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "exception.type": _type_name(error),
        "exception.message": str(error),
    }
    code = getattr(error, "code", None)
    if isinstance(code, str):
        attrs["cadence.error.code"] = code
    return attrs


class TracingHooks(CadenceHooks):
    """Hooks that open an OpenTelemetry span per run and per note.

    Args:
        tracer: An OpenTelemetry ``Tracer`` (``trace.get_tracer("myapp")``).
        attach: Make each note's span the current span while the note runs (default), so
            spans opened inside the note become its children.
    """

    def __init__(self, tracer: Any, *, attach: bool = True) -> None:
        if tracer is None or not callable(getattr(tracer, "start_span", None)):
            raise TypeError(
                f"TracingHooks needs an OpenTelemetry tracer (trace.get_tracer(...)), got {tracer!r}"
            )
        self._trace, self._context = load_otel()
        self._tracer = tracer
        self._attach = attach
        self._tracker = Tracker(f"tracing_{id(self):x}")

    @property
    def tracer(self) -> Any:
        """The tracer spans are created with."""
        return self._tracer

    # -- span plumbing ----------------------------------------------------------------------

    def _parent_context(self, *, run: bool = False) -> Any:
        """A context holding the innermost open span of this context's stack, if any.

        For a run started inside a note (``run=True``) the current span wins when the note
        opened it itself (``with tracer.start_as_current_span("batch"): await other.run()``):
        with ``attach`` the note's span is current while it runs, so a current span of the same
        trace that is not the note's was opened inside the note, and the run belongs under it.
        """
        frame = self._tracker.top()
        span = None
        if isinstance(frame, NoteFrame) and frame.payload is not None:
            span = frame.payload[0]
        elif isinstance(frame, RunFrame):
            span = frame.data.get("span")
        if span is None:
            return None
        if run and self._attach:
            current = self._trace.get_current_span()
            inner = current.get_span_context()
            if (
                current is not span
                and inner.is_valid
                and inner.trace_id == span.get_span_context().trace_id
            ):
                return None  # start_span's default: the current context
        return self._trace.set_span_in_context(span)

    def _start(self, name: str, parent: Any, attributes: dict[str, Any]) -> tuple[Any, Any]:
        span = self._tracer.start_span(name, context=parent, attributes=attributes)
        token = None
        if self._attach:
            token = self._context.attach(self._trace.set_span_in_context(span))
        return span, token

    def _detach(self, token: Any) -> None:
        if token is not None:
            try:
                self._context.detach(token)
            except Exception:  # pragma: no cover - a foreign context; never break the run
                logger.debug("could not detach a span context", exc_info=True)

    def _finish(self, span: Any, error: BaseException | None) -> None:
        if is_parked(error):
            span.set_attribute("cadence.suspended", True)  # parked at a wait: not an error
            error = None
        if error is not None:
            span.record_exception(error)
            span.set_attribute("error.type", _type_name(error))
            span.set_status(
                self._trace.Status(self._trace.StatusCode.ERROR, f"{type(error).__name__}: {error}")
            )
        span.end()

    # -- hooks ------------------------------------------------------------------------------

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Open the run's span (a child of the ``.child`` step, or of the current span)."""
        parent = self._parent_context(run=True)
        run = self._tracker.enter_run(cadence_name)
        attrs: dict[str, Any] = {
            "cadence.name": cadence_name,
            "cadence.run_key": run.key,
            "cadence.depth": run.depth,
        }
        attrs.update(self._run_attributes())
        span, token = self._start(f"cadence {cadence_name}", parent, attrs)
        run.data["span"] = span
        run.data["token"] = token
        run.data["open"] = {}

    def _run_attributes(self) -> dict[str, Any]:
        return {}

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Close notes a cancellation left open, then the run's span."""
        run, leftovers = self._tracker.exit_run(cadence_name)
        if run is None:
            return
        open_notes: dict[int, NoteFrame] = run.data.get("open", {})
        for note in reversed(leftovers):
            open_notes.pop(id(note), None)
            span, token = note.payload
            self._detach(token)
            self._finish(span, error)
        for note in list(open_notes.values()):  # tasks of another asyncio task: end only
            self._finish(note.payload[0], error)
        open_notes.clear()
        self._detach(run.data.get("token"))
        span = run.data.get("span")
        if span is not None:
            if run.run_id is not None:
                span.set_attribute("cadence.run_id", run.run_id)
            self._finish(span, error)

    async def before_note(self, note_name: str, score: Any) -> None:
        """Open the note's span under the run's (or the group step's) span."""
        parent = self._parent_context()
        note = self._tracker.enter_note(note_name)
        attrs: dict[str, Any] = {"cadence.note": note_name}
        run = note.run
        if run is not None:
            attrs["cadence.name"] = run.cadence_name
            if run.run_id is not None:
                attrs["cadence.run_id"] = run.run_id
        if note.group is not None:
            attrs["cadence.group"] = note.group
        if note.task_index is not None:
            attrs["cadence.task_index"] = note.task_index
        note.payload = self._start(f"note {note_name}", parent, attrs)
        if run is not None:
            run.data.setdefault("open", {})[id(note)] = note

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Close the note's span, recording ``error`` when it failed."""
        note = self._tracker.exit_note(note_name)
        if note is None or note.payload is None:
            return
        if note.run is not None:
            note.run.data.get("open", {}).pop(id(note), None)
        span, token = note.payload
        self._detach(token)
        self._finish(span, error)

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Add a ``retry`` event to the note's span."""
        note = self._tracker.find_note(note_name)
        if note is None:
            run = self._tracker.run()
            candidates = run.data.get("open", {}).values() if run is not None else ()
            note = next((n for n in candidates if n.name == note_name), None)
        if note is None or note.payload is None:
            return
        attrs = {"cadence.retry.attempt": attempt, "cadence.retry.max_attempts": max_attempts}
        attrs.update(_error_attrs(error))
        note.payload[0].add_event("retry", attributes=attrs)

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Rename the step's span after its kind (``sync fetch``) and list its tasks."""
        note = self._tracker.find_note(group_name)
        if note is None or note.payload is None:
            return
        span = note.payload[0]
        span.update_name(f"{kind} {group_name}")
        span.set_attribute("cadence.group.kind", kind)
        span.set_attribute("cadence.group.tasks", [str(t) for t in task_names])

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """End the spans of tasks the group cancelled (they never report ``after_note``)."""
        run = self._tracker.run()
        if run is None:
            return
        open_notes: dict[int, NoteFrame] = run.data.get("open", {})
        for key, note in list(open_notes.items()):
            if note.group == group_name:
                del open_notes[key]
                span = note.payload[0]
                span.set_attribute("cadence.cancelled", True)
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, "cancelled"))
                span.end()
