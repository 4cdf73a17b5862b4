"""Structured lifecycle events: register listeners instead of subclassing hooks.

``EventEmitter`` is a hooks object (attach it with ``Cadence.with_hooks``) that turns each hook
call into a frozen event record and hands it to the listeners registered for its type, or for
``"*"``. Listeners may be plain functions or coroutines. A listener that raises is logged on the
``cadence.events`` logger and skipped; the run and the other listeners go on unaffected.

Event types (the values are stable strings, handy in logs)::

    cadence.started  cadence.completed  cadence.failed       CadenceEvent
    note.started     note.completed     note.failed          NoteEvent
    note.retrying                                            RetryEvent
    group.started    group.completed    group.failed         GroupEvent
    spend.recorded                                           SpendEvent

Every event carries ``run_key``, which tells concurrent runs apart even when they have no
``run_id``, and ``depth`` (0 for the top-level run, 1 inside a ``.child`` cadence, ...).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType
from typing import Any

from cadence._track import Tracker
from cadence.budget import Spend, current_accounts
from cadence.hooks import CadenceHooks

__all__ = [
    "ALL",
    "CADENCE_COMPLETED",
    "CADENCE_FAILED",
    "CADENCE_STARTED",
    "EVENT_TYPES",
    "GROUP_COMPLETED",
    "GROUP_FAILED",
    "GROUP_STARTED",
    "NOTE_COMPLETED",
    "NOTE_FAILED",
    "NOTE_RETRYING",
    "NOTE_STARTED",
    "SPEND_RECORDED",
    "CadenceEvent",
    "EventEmitter",
    "EventListener",
    "GroupEvent",
    "NoteEvent",
    "RetryEvent",
    "SpendEvent",
]

logger = logging.getLogger("cadence.events")

CADENCE_STARTED = "cadence.started"
CADENCE_COMPLETED = "cadence.completed"
CADENCE_FAILED = "cadence.failed"
NOTE_STARTED = "note.started"
NOTE_COMPLETED = "note.completed"
NOTE_FAILED = "note.failed"
NOTE_RETRYING = "note.retrying"
GROUP_STARTED = "group.started"
GROUP_COMPLETED = "group.completed"
GROUP_FAILED = "group.failed"
SPEND_RECORDED = "spend.recorded"
ALL = "*"
_NO_METADATA: Mapping[str, Any] = MappingProxyType({})

EVENT_TYPES: tuple[str, ...] = (
    CADENCE_STARTED,
    CADENCE_COMPLETED,
    CADENCE_FAILED,
    NOTE_STARTED,
    NOTE_COMPLETED,
    NOTE_FAILED,
    NOTE_RETRYING,
    GROUP_STARTED,
    GROUP_COMPLETED,
    GROUP_FAILED,
    SPEND_RECORDED,
)


@dataclass(frozen=True, slots=True)
class CadenceEvent:
    """A run started or ended (``cadence.*``); the base of every event record.

    ``event_type`` and ``cadence_name`` may be given positionally (as in 0.7.2); every other
    field is keyword-only.

    Attributes:
        event_type: One of ``EVENT_TYPES``.
        cadence_name: The cadence the event belongs to (a child cadence's own name inside it).
        run_key: Identifies the top-level run; shared by the run's child cadences.
        run_id: The run's id when it has one (checkpointed runs, web requests), else ``None``;
            known from the run's first note on (a top-level ``cadence.started`` has ``None``).
        depth: 0 for the top-level run, +1 per enclosing ``.child`` step.
        timestamp: Wall-clock time (``time.time()``), for logs.
        monotonic: ``time.perf_counter()`` reading, for durations and timelines.
        note_name: The step or task for note, retry and group events; else ``None``.
        duration: Seconds, on completed and failed events.
        error: The exception, on failed and retry events.
        spend: On ``cadence.completed``/``cadence.failed`` of a run with a ``Budget`` in
            force, the innermost budget's spend (a ``cadence.Spend``); else ``None``.
        metadata: What the event's creator attached; empty on cadence's own events (kept for
            code written for cadence-orchestration 0.7.2, whose events had it too).
    """

    event_type: str
    cadence_name: str
    _: KW_ONLY
    run_key: str = ""
    run_id: str | None = None
    depth: int = 0
    timestamp: float = field(default_factory=time.time)
    monotonic: float = field(default_factory=time.perf_counter)
    note_name: str | None = None
    duration: float | None = None
    error: BaseException | None = None
    spend: Spend | None = None
    metadata: Mapping[str, Any] = field(
        default_factory=lambda: _NO_METADATA, repr=False, compare=False
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteEvent(CadenceEvent):
    """A step, or a task inside a group, started or ended (``note.*``).

    Attributes:
        group: The enclosing ``.sync``/``.split`` step for a task, else ``None``.
        task_index: The task's position in a ``.sync`` group, else ``None``.
    """

    group: str | None = None
    task_index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryEvent(NoteEvent):
    """Attempt ``attempt`` of ``max_attempts`` failed with ``error``; another one follows."""

    attempt: int
    max_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupEvent(NoteEvent):
    """A ``.sync``/``.split``/``.child`` step started or ended its tasks (``group.*``).

    Attributes:
        kind: ``"sync"``, ``"split"`` or ``"child"``.
        task_names: The tasks the group runs (the chosen branch for a split).
    """

    kind: str
    task_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SpendEvent(NoteEvent):
    """A model request or a turn's tool calls were charged to the run's budget (``spend.recorded``).

    Attributes:
        charge: What the call used (a ``cadence.Spend``).
        total: The budget's spend after it (``spend`` carries the same value).
    """

    charge: Spend
    total: Spend


EventListener = Callable[[CadenceEvent], Any]
"""A listener: a function or coroutine function taking one event record."""


def _check_type(event_type: str) -> None:
    if event_type != ALL and event_type not in EVENT_TYPES:
        raise ValueError(
            f"unknown event type {event_type!r}; use one of {', '.join(EVENT_TYPES)} or '*' "
            "(the constants live in cadence.events, e.g. NOTE_COMPLETED)"
        )


def _stamp(run: Any, cadence_name: str | None = None) -> dict[str, Any]:
    """The fields every event record carries: which run it belongs to, and when it happened."""
    return {
        "cadence_name": cadence_name
        if cadence_name is not None
        else (run.cadence_name if run else ""),
        "run_key": run.key if run else "",
        "run_id": run.run_id if run else None,
        "depth": run.depth if run else 0,
        "timestamp": time.time(),
        "monotonic": time.perf_counter(),
    }


class EventEmitter(CadenceHooks):
    """Hooks that emit frozen event records to registered listeners.

    Example:
        ``emitter.on(NOTE_FAILED, alert).on("*", audit)``, then
        ``Cadence(...).with_hooks(emitter)``. Listeners run in registration order, type-specific
        ones before ``"*"`` ones, and are awaited when they return an awaitable.
    """

    def __init__(self) -> None:
        self._listeners: dict[str, list[EventListener]] = {}
        self._tracker = Tracker(f"events_{id(self):x}")

    def on(self, event_type: str, listener: EventListener) -> EventEmitter:
        """Register ``listener`` for ``event_type`` (or ``"*"`` for every event); chainable."""
        _check_type(event_type)
        if not callable(listener):
            raise TypeError(f"EventEmitter.on({event_type!r}, ...): listener must be callable")
        self._listeners.setdefault(event_type, []).append(listener)
        return self

    def off(self, event_type: str, listener: EventListener) -> EventEmitter:
        """Remove ``listener`` from ``event_type``; removing an absent listener does nothing."""
        _check_type(event_type)
        kept = [f for f in self._listeners.get(event_type, ()) if f is not listener]
        if kept:
            self._listeners[event_type] = kept
        else:
            self._listeners.pop(event_type, None)
        return self

    def listeners(self, event_type: str) -> tuple[EventListener, ...]:
        """The listeners registered for ``event_type`` (not counting ``"*"``)."""
        return tuple(self._listeners.get(event_type, ()))

    def _wants(self, event_type: str) -> bool:
        """Whether an event of this type would reach anyone (lets hooks skip building it)."""
        listeners = self._listeners
        return event_type in listeners or ALL in listeners

    async def emit(self, event: CadenceEvent) -> None:
        """Deliver ``event`` to its listeners, logging and skipping any listener that raises."""
        for key in (event.event_type, ALL):
            for listener in tuple(self._listeners.get(key, ())):
                try:
                    result = listener(event)
                    if result is not None and inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception(
                        "event listener %r failed on %s; the run continues",
                        listener,
                        event.event_type,
                    )

    # -- hooks ------------------------------------------------------------------------------

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Emit ``cadence.started``."""
        run = self._tracker.enter_run(cadence_name)
        if self._wants(CADENCE_STARTED):
            await self.emit(
                CadenceEvent(
                    event_type=CADENCE_STARTED,
                    **_stamp(run, cadence_name),
                )
            )

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Emit ``cadence.completed`` or ``cadence.failed`` (after notes left open, if any)."""
        run, leftovers = self._tracker.exit_run(cadence_name)
        for note in reversed(leftovers):  # a cancelled run does not close its current note
            if self._wants(NOTE_FAILED):
                await self.emit(
                    self._note_event(
                        NOTE_FAILED,
                        note.name,
                        note.run,
                        note.group,
                        note.task_index,
                        time.perf_counter() - note.started,
                        error,
                    )
                )
        event_type = CADENCE_FAILED if error is not None else CADENCE_COMPLETED
        if self._wants(event_type):
            accounts = current_accounts()
            await self.emit(
                CadenceEvent(
                    event_type=event_type,
                    **_stamp(run, cadence_name),
                    duration=duration,
                    error=error,
                    spend=accounts[-1].spent if accounts else None,
                )
            )

    async def before_note(self, note_name: str, score: Any) -> None:
        """Emit ``note.started``."""
        note = self._tracker.enter_note(note_name)
        if self._wants(NOTE_STARTED):
            await self.emit(
                self._note_event(NOTE_STARTED, note_name, note.run, note.group, note.task_index)
            )

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Emit ``note.completed`` or ``note.failed``."""
        note = self._tracker.exit_note(note_name)
        event_type = NOTE_FAILED if error is not None else NOTE_COMPLETED
        if self._wants(event_type):
            run = note.run if note else self._tracker.run()
            group = note.group if note else None
            index = note.task_index if note else None
            await self.emit(
                self._note_event(event_type, note_name, run, group, index, duration, error)
            )

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Emit ``note.retrying``."""
        if not self._wants(NOTE_RETRYING):
            return
        await self.emit(
            RetryEvent(
                event_type=NOTE_RETRYING,
                **self._at_note(note_name),
                error=error,
                attempt=attempt,
                max_attempts=max_attempts,
            )
        )

    async def on_spend(self, note_name: str, charge: Spend, total: Spend) -> None:
        """Emit ``spend.recorded``."""
        if not self._wants(SPEND_RECORDED):
            return
        await self.emit(
            SpendEvent(
                event_type=SPEND_RECORDED,
                **self._at_note(note_name),
                spend=total,
                charge=charge,
                total=total,
            )
        )

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Emit ``group.started``."""
        if self._wants(GROUP_STARTED):
            await self.emit(self._group_event(GROUP_STARTED, group_name, kind, task_names))

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Emit ``group.completed`` or ``group.failed``."""
        event_type = GROUP_FAILED if error is not None else GROUP_COMPLETED
        if self._wants(event_type):
            await self.emit(
                self._group_event(event_type, group_name, kind, (), duration=duration, error=error)
            )

    # -- record builders --------------------------------------------------------------------

    def _at_note(self, note_name: str) -> dict[str, Any]:
        """The fields locating an event inside the open note ``note_name`` (retries, spend)."""
        note = self._tracker.find_note(note_name)
        return {
            **_stamp(note.run if note else self._tracker.run()),
            "note_name": note_name,
            "group": note.group if note else None,
            "task_index": note.task_index if note else None,
        }

    def _note_event(
        self,
        event_type: str,
        note_name: str,
        run: Any,
        group: str | None,
        index: int | None,
        duration: float | None = None,
        error: BaseException | None = None,
    ) -> NoteEvent:
        return NoteEvent(
            event_type=event_type,
            **_stamp(run),
            note_name=note_name,
            group=group,
            task_index=index,
            duration=duration,
            error=error,
        )

    def _group_event(
        self,
        event_type: str,
        group_name: str,
        kind: str,
        task_names: Sequence[str],
        *,
        duration: float | None = None,
        error: BaseException | None = None,
    ) -> GroupEvent:
        run = self._tracker.run()
        return GroupEvent(
            event_type=event_type,
            **_stamp(run),
            note_name=group_name,
            kind=kind,
            task_names=tuple(task_names),
            duration=duration,
            error=error,
        )
