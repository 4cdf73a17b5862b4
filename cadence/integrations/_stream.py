"""A run's events as Server-Sent Events, with the run tied to the connection.

The run executes in its own task; hooks attached to that run only push its lifecycle into a
queue the response drains. Notes can add their own events (model tokens, progress) with
:func:`publish_event`. Closing the stream -- the client hung up, the server shuts down --
cancels the run and waits for it to end, so no run outlives its connection.

Frames (``text/event-stream``), each with an increasing ``id``:

* ``run_started`` ``{"cadence", "run_id"}``
* ``note_started`` / ``note_completed`` / ``note_failed`` ``{"note", "group", "duration"?, "code"?}``;
  ``note_suspended`` for a wait step at which the run parks
* ``retry`` ``{"note", "attempt", "max_attempts", "code"}``
* ``spend`` ``{"note", "charge", "total"}`` after each model request or tool batch charged to
  the run's ``Budget`` (each a ``Spend`` as an object)
* anything a note publishes, e.g. ``token`` ``{"text": "..."}``
* finally ``result`` (the response JSON), ``waiting`` (the run parked at a wait: the body of
  the ``202`` answer, ``{"status": "waiting", "run_id", "cadence", "waits"}``) or ``error`` (a
  problem document), then the stream ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from cadence._observe._base import CadenceHooks, is_parked
from cadence.exceptions import CadenceError, RunSuspended
from cadence.integrations._common import suspended_body
from cadence.integrations._encode import to_jsonable

__all__ = ["EventRelay", "RunStream", "is_streamed", "publish_event", "sse_frame"]

_current_relay: ContextVar[EventRelay | None] = ContextVar("cadence_sse_relay", default=None)
_DONE = object()


def _json_text(data: Any) -> str:
    """``data`` as one line of JSON (a str is taken as text already)."""
    return data if isinstance(data, str) else json.dumps(to_jsonable(data), separators=(",", ":"))


def sse_frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One SSE frame; ``data`` is sent as a single line of JSON."""
    text = _json_text(data)
    head = f"id: {event_id}\n" if event_id is not None else ""
    lines = "".join(f"data: {line}\n" for line in text.split("\n"))
    return f"{head}event: {event}\n{lines}\n".encode()


def _safe_frame(event: str, data: Any, event_id: int) -> bytes | None:
    """``sse_frame``, or ``None`` (logged) for a lifecycle event whose data has no JSON form."""
    try:
        return sse_frame(event, data, event_id)
    except (TypeError, ValueError):
        logging.getLogger("cadence.integrations").warning(
            "dropped SSE event %r: its data has no JSON form", event, exc_info=True
        )
        return None


def is_streamed() -> bool:
    """Whether the current run is being streamed (so notes can stream what they produce)."""
    return _current_relay.get() is not None


def publish_event(event: str, data: Any = None) -> bool:
    """Send a custom event (a model token, progress) to the stream of the current run.

    Callable from async notes and from sync notes running in threads. Returns ``False`` (and
    does nothing) when the run is not being streamed, so notes can call it unconditionally.
    """
    relay = _current_relay.get()
    if relay is None:
        return False
    # Encode now, in the note: a value with no JSON form fails the note that published it
    # (naming its path), instead of breaking the stream later without an `error` frame.
    relay.push(event, _json_text(data))
    return True


class EventRelay(CadenceHooks):
    """Hooks for one streamed run: each lifecycle call becomes a queued event."""

    def __init__(self, queue: asyncio.Queue[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._queue = queue
        self._loop = loop
        self._thread = threading.get_ident()
        self._groups: list[str] = []

    def push(self, event: str, data: Any) -> None:
        """Queue an event from any thread."""
        if threading.get_ident() == self._thread:
            self._queue.put_nowait((event, data))
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (event, data))

    def _where(self, note_name: str) -> dict[str, Any]:
        return {"note": note_name, "group": self._groups[-1] if self._groups else None}

    async def before_note(self, note_name: str, score: Any) -> None:
        """``note_started``."""
        self.push("note_started", self._where(note_name))

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """``note_completed``, ``note_failed``, or ``note_suspended`` (the run parks here)."""
        data = {**self._where(note_name), "duration": round(duration, 6)}
        if error is None:
            self.push("note_completed", data)
        elif is_parked(error):
            self.push("note_suspended", data)
        else:
            data["code"] = error.code if isinstance(error, CadenceError) else "NOTE_ERROR"
            self.push("note_failed", data)

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Track the enclosing group for the events of its tasks."""
        self._groups.append(group_name)

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Leave the group."""
        if self._groups:
            self._groups.pop()

    async def on_spend(self, note_name: str, charge: Any, total: Any) -> None:
        """``spend``."""
        self.push("spend", {"note": note_name, "charge": charge, "total": total})

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """``retry``."""
        code = error.code if isinstance(error, CadenceError) else type(error).__name__
        self.push(
            "retry",
            {"note": note_name, "attempt": attempt, "max_attempts": max_attempts, "code": code},
        )


class RunStream:
    """Runs a cadence in a task and yields its events as SSE frames.

    Args:
        run: Starts the run with the given per-run hooks; returns the final score.
        render_result: Final score -> JSON-able response body.
        render_error: Failure -> problem document (a dict).
        cadence_name: For the ``run_started`` event.
        run_id: For the ``run_started`` event.
        ping_interval: Seconds between keep-alive comments while nothing happens (``None``: off).
    """

    def __init__(
        self,
        run: Callable[[Sequence[Any]], Awaitable[Any]],
        *,
        render_result: Callable[[Any], Awaitable[Any]],
        render_error: Callable[[BaseException], dict[str, Any]],
        cadence_name: str,
        run_id: str | None,
        ping_interval: float | None = 15.0,
    ) -> None:
        self._run = run
        self._render_result = render_result
        self._render_error = render_error
        self._cadence_name = cadence_name
        self._run_id = run_id
        self._ping = ping_interval
        self._task: asyncio.Task[Any] | None = None

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The run's task once streaming started."""
        return self._task

    async def _execute(self, relay: EventRelay) -> Any:
        _current_relay.set(relay)  # this task's own context: visible to its notes only
        return await self._run([relay])

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """Start the run and yield its SSE frames until it ends."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        relay = EventRelay(queue, loop)
        seq = 0
        yield sse_frame("run_started", {"cadence": self._cadence_name, "run_id": self._run_id}, seq)
        self._task = loop.create_task(
            self._execute(relay), name=f"cadence-sse:{self._cadence_name}"
        )
        self._task.add_done_callback(lambda _: queue.put_nowait(_DONE))
        while True:
            try:
                async with asyncio.timeout(self._ping):
                    item = await queue.get()
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if item is _DONE:
                # Events a sync note published from its thread may still be on their way.
                while not queue.empty():
                    extra = queue.get_nowait()
                    if extra is not _DONE:
                        frame = _safe_frame(extra[0], extra[1], seq + 1)
                        if frame is not None:
                            seq += 1
                            yield frame
                break
            frame = _safe_frame(item[0], item[1], seq + 1)
            if frame is not None:
                seq += 1
                yield frame
        seq += 1
        try:
            score = self._task.result()
            body = await self._render_result(score)
        except RunSuspended as parked:  # parked at a wait: what the 202 answer says, no error
            yield sse_frame("waiting", suspended_body(parked), seq)
            return
        except Exception as exc:
            yield self._error_frame(exc, seq)
            return
        yield sse_frame("result", body, seq)

    def _error_frame(self, error: BaseException, event_id: int) -> bytes:
        """The ``error`` frame; a generic 500 problem if rendering the error failed too (an
        ``errors=`` handler that raised), so the stream still ends with an ``error`` event."""
        try:
            return sse_frame("error", self._render_error(error), event_id)
        except Exception:
            logging.getLogger("cadence.integrations").exception(
                "cadence run of %r failed, and so did rendering its error", self._cadence_name
            )
        generic = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "the run failed",
            "code": "INTERNAL_ERROR",
            "cadence": self._cadence_name,
        }
        return sse_frame("error", generic, event_id)

    async def aclose(self) -> None:
        """Cancel the run if it is still going and wait until it has ended."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task})
