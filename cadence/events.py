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

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from inspect import isawaitable
from typing import Any

from cadence._context import NoteScope, note_var
from cadence._observe._base import DONE, CadenceHooks, is_parked, is_stray_cancel
from cadence._observe._records import (
    NO_METADATA,
    Blank,
    CadenceEvent,
    GroupEvent,
    NoteEvent,
    RetryEvent,
    SpendEvent,
)
from cadence._observe._track import RunFrame, Tracker
from cadence.budget import Spend, current_accounts

__all__ = [
    "ALL",
    "CADENCE_COMPLETED",
    "CADENCE_FAILED",
    "CADENCE_STARTED",
    "CADENCE_SUSPENDED",
    "EVENT_TYPES",
    "GROUP_COMPLETED",
    "GROUP_FAILED",
    "GROUP_STARTED",
    "NOTE_COMPLETED",
    "NOTE_FAILED",
    "NOTE_RETRYING",
    "NOTE_STARTED",
    "NOTE_SUSPENDED",
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
_wall = time.time
_mono = time.perf_counter
_scope = note_var.get

CADENCE_STARTED = "cadence.started"
CADENCE_COMPLETED = "cadence.completed"
CADENCE_FAILED = "cadence.failed"
CADENCE_SUSPENDED = "cadence.suspended"
NOTE_STARTED = "note.started"
NOTE_COMPLETED = "note.completed"
NOTE_FAILED = "note.failed"
NOTE_SUSPENDED = "note.suspended"
NOTE_RETRYING = "note.retrying"
GROUP_STARTED = "group.started"
GROUP_COMPLETED = "group.completed"
GROUP_FAILED = "group.failed"
SPEND_RECORDED = "spend.recorded"
ALL = "*"

EVENT_TYPES: tuple[str, ...] = (
    CADENCE_STARTED,
    CADENCE_COMPLETED,
    CADENCE_FAILED,
    CADENCE_SUSPENDED,
    NOTE_STARTED,
    NOTE_COMPLETED,
    NOTE_FAILED,
    NOTE_SUSPENDED,
    NOTE_RETRYING,
    GROUP_STARTED,
    GROUP_COMPLETED,
    GROUP_FAILED,
    SPEND_RECORDED,
)


Place = tuple[str, str, int, "float | None", "str | None", "int | None", "str | None", Any, None]
"""Where a note record sits: ``(cadence_name, run_key, depth, wall_offset, group, task_index,
run_id, metadata, spend)`` (``_records.PLACE_FIELDS``), the ``_place`` its record shares with
the other records of its scope; a ``wall_offset`` of ``None`` (no run frame) means "read the
wall clock"."""

_UNSEEN: tuple[Any, Any] = (object(), None)
"""``EventEmitter._seen`` before a note hook has placed a scope (matches no scope)."""

EventListener = Callable[[CadenceEvent], Any]
"""A listener: a function or coroutine function taking one event record."""

Route = tuple[EventListener, tuple[EventListener, ...]]
"""The listeners of one event type as ``(first, rest)``: most routes have one listener, and
calling it needs no loop."""


def _check_type(event_type: str) -> None:
    if event_type != ALL and event_type not in EVENT_TYPES:
        raise ValueError(
            f"unknown event type {event_type!r}; use one of {', '.join(EVENT_TYPES)} or '*' "
            "(the constants live in cadence.events, e.g. NOTE_COMPLETED)"
        )


def _note_hook(started: str | None) -> Callable[..., Awaitable[None]]:
    """``EventEmitter.before_note`` (``started`` is ``NOTE_STARTED``) or ``after_note`` (``None``).

    One body for both, so that neither pays an extra call: this runs twice per observed step,
    and building the record is most of an instrumented step's cost. The record is born a
    ``Blank``, gets its own five fields by plain slot stores and the scope's shared ``Place``
    (which ``EventEmitter._place`` works out once per scope), and is then sealed into a
    ``NoteEvent`` (see ``cadence._observe._records``).
    """

    def hook(
        self: EventEmitter,
        note_name: str,
        score: Any,
        duration: float | None = None,
        error: BaseException | None = None,
    ) -> Awaitable[None]:
        if started is not None:
            event_type = started
            route = self._started
        elif error is None:
            event_type = NOTE_COMPLETED
            route = self._completed
        elif is_parked(error):  # the run parks at a wait: no failure
            event_type = NOTE_SUSPENDED
            route = self._routes.get(NOTE_SUSPENDED)
        else:
            event_type = NOTE_FAILED
            route = self._failed
        if route is None:
            return DONE
        e: Any = Blank()
        e.event_type = event_type
        e.note_name = note_name
        e.duration = duration
        e.error = error
        scope = _scope()
        if scope is not None and scope.note_name == note_name:
            # The runner read the clock as the note started and for its duration: the same
            # readings, so that a note's two records are exactly ``duration`` apart.
            if started is not None:
                now = scope.started
            elif duration is not None:
                now = scope.started + duration
            else:
                now = _mono()
            # Where the scope's records sit is the same for every call made in it (a run's
            # scope is set after its frame is pushed and reset before it is popped, and a group
            # task's scope lives inside its run), so it is worked out once per scope.
            seen = self._seen
            place = seen[1] if seen[0] is scope else self._place(scope)
        else:  # a call from outside the runner, or about another note than the scope's
            now = _mono()
            place = self._place(scope, own=False)
        e.monotonic = now
        e._place = place
        if place[3] is None:  # no run frame: the wall clock, read now
            e._stamp = _wall()
        e.__class__ = NoteEvent
        first, rest = route
        try:
            result = first(e)
        except Exception:
            _listener_failed(first, e)
        except asyncio.CancelledError as exc:
            _stray(exc, first, e)
        else:
            if result is not None and isawaitable(result):
                return _settle(result, first, rest, e)
        return _send(rest, e) if rest else DONE

    if started is not None:
        hook.__name__ = hook.__qualname__ = "before_note"
        hook.__doc__ = "Emit ``note.started``."
    else:
        hook.__name__ = hook.__qualname__ = "after_note"
        hook.__doc__ = "Emit ``note.completed``, ``note.failed`` or ``note.suspended``."
    hook.__qualname__ = f"EventEmitter.{hook.__name__}"
    return hook


class EventEmitter(CadenceHooks):
    """Hooks that emit frozen event records to registered listeners.

    Example:
        ``emitter.on(NOTE_FAILED, alert).on("*", audit)``, then
        ``Cadence(...).with_hooks(emitter)``. Listeners run in registration order, type-specific
        ones before ``"*"`` ones, and are awaited when they return an awaitable.

    A record is built only for an event type some listener is registered for; the routes
    (listeners per type, ``"*"`` included) are worked out when listeners change, not per event.
    """

    def __init__(self) -> None:
        self._listeners: dict[str, tuple[EventListener, ...]] = {}
        self._routes: dict[str, Route] = {}
        self._started: Route | None = None
        self._completed: Route | None = None
        self._failed: Route | None = None
        self._tracker = Tracker(f"events_{id(self):x}")
        self._frames = self._tracker.frames
        self._seen: tuple[Any, Any] = _UNSEEN  # (scope, its Place): see _note_hook
        # The task names of the groups under way, by _group_key, for their end records.
        self._groups: dict[tuple[str, int, str], tuple[str, ...]] = {}

    def on(self, event_type: str, listener: EventListener) -> EventEmitter:
        """Register ``listener`` for ``event_type`` (or ``"*"`` for every event); chainable."""
        _check_type(event_type)
        if not callable(listener):
            raise TypeError(f"EventEmitter.on({event_type!r}, ...): listener must be callable")
        self._listeners[event_type] = (*self._listeners.get(event_type, ()), listener)
        self._reroute()
        return self

    def off(self, event_type: str, listener: EventListener) -> EventEmitter:
        """Remove ``listener`` from ``event_type``; removing an absent listener does nothing."""
        _check_type(event_type)
        kept = tuple(f for f in self._listeners.get(event_type, ()) if f is not listener)
        if kept:
            self._listeners[event_type] = kept
        else:
            self._listeners.pop(event_type, None)
        self._reroute()
        return self

    def wants_notes(self) -> bool:
        """``False`` while no listener wants ``note.started`` or ``note.completed``.

        Then a run whose listeners are all for run-level events (``cadence.*``, retries,
        groups, spend) costs its steps no hook call; a failed step still reaches
        ``after_note`` and so ``note.failed``. Asked as each run starts: a note listener
        registered while a run is in flight is heard from the next run on.
        """
        return self._started is not None or self._completed is not None

    def listeners(self, event_type: str) -> tuple[EventListener, ...]:
        """The listeners registered for ``event_type`` (not counting ``"*"``)."""
        return self._listeners.get(event_type, ())

    def _reroute(self) -> None:
        """Work out the routes after a listener change (subclasses shape them in ``_route``)."""
        self._routes = routes = self._route()
        # The note routes, read by the two hooks that run for every step.
        self._started = routes.get(NOTE_STARTED)
        self._completed = routes.get(NOTE_COMPLETED)
        self._failed = routes.get(NOTE_FAILED)

    def _route(self) -> dict[str, Route]:
        """Each event type's listeners: its own, then the ``"*"`` ones."""
        star = self._listeners.get(ALL, ())
        routes = {}
        for event_type in EVENT_TYPES:
            listeners = self._listeners.get(event_type, ()) + star
            if listeners:
                routes[event_type] = (listeners[0], listeners[1:])
        return routes

    async def emit(self, event: CadenceEvent) -> None:
        """Deliver ``event`` to its listeners, logging and skipping any listener that raises."""
        route = self._routes.get(event.event_type)
        if route is not None:
            await _deliver(route, event)

    # -- hooks ------------------------------------------------------------------------------
    # Plain methods, not coroutines: each builds its record only when a listener wants it and
    # returns ``DONE`` unless an async listener is still to be awaited, so a step observed by
    # plain-function listeners costs the runner no coroutine at all. (``DONE`` is awaitable:
    # code that awaits these methods, as it would a ``CadenceHooks`` coroutine, still works.)

    def before_cadence(self, cadence_name: str, score: Any) -> Awaitable[None]:  # type: ignore[override]
        """Emit ``cadence.started``."""
        run = self._tracker.enter_run(cadence_name)
        route = self._routes.get(CADENCE_STARTED)
        if route is None:
            return DONE
        return _deliver(route, self._run_record(CADENCE_STARTED, run, cadence_name, None, None))

    def after_cadence(  # type: ignore[override]
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> Awaitable[None]:
        """Emit ``cadence.completed``, ``cadence.failed``, or ``cadence.suspended`` for a run
        that parks at a wait."""
        run, _ = self._tracker.exit_run(cadence_name)
        self._seen = _UNSEEN  # holds no finished run's scope (nor its score)
        if error is None:
            event_type = CADENCE_COMPLETED
        else:
            event_type = CADENCE_SUSPENDED if is_parked(error) else CADENCE_FAILED
        route = self._routes.get(event_type)
        if route is None:
            return DONE
        accounts = current_accounts()  # the run's budget, still in force here
        spend = accounts[-1].spent if accounts else None
        record = self._run_record(event_type, run, cadence_name, duration, error, spend)
        return _deliver(route, record)

    # Plain functions returning Awaitable[None], where CadenceHooks has coroutine functions.
    before_note = _note_hook(NOTE_STARTED)  # type: ignore[assignment]
    after_note = _note_hook(None)  # type: ignore[assignment]

    def on_retry(  # type: ignore[override]
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> Awaitable[None]:
        """Emit ``note.retrying``."""
        route = self._routes.get(NOTE_RETRYING)
        if route is None:
            return DONE
        fields = self._placed(NOTE_RETRYING, note_name, None, error)
        return _deliver(route, RetryEvent(**fields, attempt=attempt, max_attempts=max_attempts))

    def on_spend(self, note_name: str, charge: Spend, total: Spend) -> Awaitable[None]:  # type: ignore[override]
        """Emit ``spend.recorded``."""
        route = self._routes.get(SPEND_RECORDED)
        if route is None:
            return DONE
        fields = self._placed(SPEND_RECORDED, note_name, None, None)
        return _deliver(route, SpendEvent(**fields, charge=charge, total=total))

    def before_group(  # type: ignore[override]
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> Awaitable[None]:
        """Emit ``group.started``."""
        names = tuple(task_names)
        if GROUP_COMPLETED in self._routes or GROUP_FAILED in self._routes:
            self._groups[self._group_key(group_name)] = names  # for the group's end record
        route = self._routes.get(GROUP_STARTED)
        if route is None:
            return DONE
        fields = self._placed(GROUP_STARTED, group_name, None, None)
        return _deliver(route, GroupEvent(**fields, kind=kind, task_names=names))

    def after_group(  # type: ignore[override]
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> Awaitable[None]:
        """Emit ``group.completed`` or ``group.failed``."""
        event_type = GROUP_FAILED if error is not None else GROUP_COMPLETED
        names = self._groups.pop(self._group_key(group_name), ()) if self._groups else ()
        route = self._routes.get(event_type)
        if route is None:
            return DONE
        fields = self._placed(event_type, group_name, duration, error)
        return _deliver(route, GroupEvent(**fields, kind=kind, task_names=names))

    def _group_key(self, group_name: str) -> tuple[str, int, str]:
        """A group's key in ``_groups``: its name in the innermost run (concurrent runs have
        their own run key; a ``.child`` cadence shares its parent's, one level deeper)."""
        runs = self._frames.get()  # run frames only, as in _place
        run: Any = runs[-1] if runs else None
        return (run.key, run.depth, group_name) if run is not None else ("", 0, group_name)

    # -- the fields every record shares --------------------------------------------------------

    def _place(self, scope: NoteScope | None, own: bool = True) -> Place:
        """Where a note record made in the runner's ``scope`` sits.

        ``own``: the scope is about the record's note, so the record takes its group, task index
        and run id, and the answer is kept in ``_seen`` for the scope's later records (the note
        hooks read ``_seen`` inline before calling this).
        """
        seen = self._seen
        if own and seen[0] is scope:
            return seen[1]  # type: ignore[no-any-return]
        runs = self._frames.get()  # this emitter keeps run frames only: the last is innermost
        run: Any = runs[-1] if runs else None
        if own and scope is not None:
            group, index, run_id = scope.group, scope.task_index, scope.run_id
        else:
            group = index = run_id = None
        if run is not None:
            if run_id is None:
                run_id = run.run_id
            elif run.run_id is None:
                run.run_id = run_id  # the run's later events carry it too
            place: Place = (
                run.cadence_name,
                run.key,
                run.depth,
                run.wall_offset,
                group,
                index,
                run_id,
                NO_METADATA,
                None,
            )
        else:
            name = scope.cadence_name if scope is not None else ""
            place = (name, "", 0, None, group, index, run_id, NO_METADATA, None)
        if own and scope is not None:
            self._seen = (scope, place)
        return place

    @staticmethod
    def _run_record(
        event_type: str,
        run: RunFrame | None,
        cadence_name: str,
        duration: float | None,
        error: BaseException | None,
        spend: Spend | None = None,
    ) -> CadenceEvent:
        now = _mono()
        e: Any = Blank()  # built and sealed as the note hooks build theirs
        e.event_type = event_type
        e.note_name = None
        e.duration = duration
        e.error = error
        e.monotonic = now
        if run is not None:
            key, run_id, depth, offset = run.key, run.run_id, run.depth, run.wall_offset
        else:
            key, run_id, depth, offset = "", None, 0, None
            e._stamp = _wall()
        e._place = (cadence_name, key, depth, offset, None, None, run_id, NO_METADATA, spend)
        e.__class__ = CadenceEvent
        record: CadenceEvent = e
        return record

    def _placed(
        self,
        event_type: str,
        note_name: str,
        duration: float | None,
        error: BaseException | None,
    ) -> dict[str, Any]:
        """A retry, spend or group record's fields, placed as the note hooks place theirs."""
        now = _mono()
        scope = _scope()
        own = scope is not None and scope.note_name == note_name
        cadence_name, run_key, depth, offset, group, index, run_id, _, _ = self._place(scope, own)
        return {
            "event_type": event_type,
            "cadence_name": cadence_name,
            "run_key": run_key,
            "run_id": run_id,
            "depth": depth,
            "timestamp": _wall() if offset is None else now + offset,
            "monotonic": now,
            "note_name": note_name,
            "duration": duration,
            "error": error,
            "group": group,
            "task_index": index,
        }


def _deliver(route: Route, event: CadenceEvent) -> Awaitable[None]:
    """Call a route's listeners in order; what is left to await, or ``DONE``."""
    first, rest = route
    try:
        result = first(event)
    except Exception:
        _listener_failed(first, event)
    except asyncio.CancelledError as exc:
        _stray(exc, first, event)
    else:
        if result is not None and isawaitable(result):
            return _settle(result, first, rest, event)
    return _send(rest, event) if rest else DONE


def _send(listeners: tuple[EventListener, ...], event: CadenceEvent) -> Awaitable[None]:
    """Call ``listeners`` in order until one returns an awaitable; then :func:`_settle`."""
    for index, listener in enumerate(listeners):
        try:
            result = listener(event)
        except Exception:
            _listener_failed(listener, event)
            continue
        except asyncio.CancelledError as exc:
            _stray(exc, listener, event)
            continue
        if result is not None and isawaitable(result):
            return _settle(result, listener, listeners[index + 1 :], event)
    return DONE


async def _settle(
    pending: Awaitable[Any],
    owner: EventListener,
    rest: tuple[EventListener, ...],
    event: CadenceEvent,
) -> None:
    """Await what listener ``owner`` returned, then call ``rest`` in order, awaiting each."""
    try:
        await pending
    except Exception:
        _listener_failed(owner, event)
    except asyncio.CancelledError as exc:
        _stray(exc, owner, event)
    for listener in rest:
        try:
            result = listener(event)
            if result is not None and isawaitable(result):
                await result
        except Exception:
            _listener_failed(listener, event)
        except asyncio.CancelledError as exc:
            _stray(exc, listener, event)


def _listener_failed(listener: EventListener, event: CadenceEvent) -> None:
    logger.exception(
        "event listener %r failed on %s; the run continues", listener, event.event_type
    )


def _stray(error: asyncio.CancelledError, listener: EventListener, event: CadenceEvent) -> None:
    """A listener raised ``CancelledError``: re-raise a real cancellation of the run; a stray
    one (the listener awaited something cancelled elsewhere) is the listener's failure."""
    if not is_stray_cancel(error):
        raise error
    _listener_failed(listener, event)
