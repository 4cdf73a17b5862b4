"""Per-run bookkeeping shared by the observability hooks (events, tracing, metrics, timelines).

A hooks object is called by every run of every cadence it is attached to, possibly many runs at
once. To know which run (and which note) a call belongs to, each observer keeps a small stack
of frames in its own ``ContextVar``: ``before_cadence`` pushes a run frame, ``before_note`` a
note frame, and the matching ``after_*`` pops it. The runner calls hooks in the task executing
the note, and ``.sync`` tasks copy the context when they start, so every task sees its own
stack on top of the group's: concurrent runs and parallel tasks never see each other's frames.
A child cadence's run frame sits on top of the parent's note frame, which gives nesting.

The stacks are immutable tuples: setting a new tuple in a task never changes what another task
sees, and nothing needs resetting by hand.
"""

from __future__ import annotations

import itertools
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cadence._context import current_note

__all__ = ["NoteFrame", "RunFrame", "Tracker"]

_counter = itertools.count(1)
_PREFIX = f"{os.getpid():x}"


def new_run_key() -> str:
    """A process-unique key for a run: cheap, sortable, readable in logs."""
    return f"{_PREFIX}-{next(_counter)}"


@dataclass(slots=True, eq=False)
class RunFrame:
    """One run of a cadence as an observer sees it (mutable: shared by the run's tasks)."""

    key: str
    cadence_name: str
    depth: int
    started: float
    parent: NoteFrame | None = None
    run_id: str | None = None
    data: dict[Any, Any] = field(default_factory=dict)
    wall_offset: float = 0.0
    """``time.time() - time.perf_counter()`` when the run started: a reading of the monotonic
    clock plus this is the wall-clock time, without a second clock call per event."""


@dataclass(slots=True, eq=False)
class NoteFrame:
    """One executing step or group task, with whatever the observer attached (``payload``)."""

    name: str
    run: RunFrame | None
    group: str | None
    task_index: int | None
    started: float
    payload: Any = None


Frame = RunFrame | NoteFrame


class Tracker:
    """A per-observer stack of run and note frames, kept in a ``ContextVar``."""

    __slots__ = ("_closed", "_var", "frames")

    def __init__(self, owner: str) -> None:
        self._var: ContextVar[tuple[Frame, ...]] = ContextVar(f"cadence_track_{owner}", default=())
        self.frames = self._var
        """The stack itself, for observers on a hot path (read it, never set it)."""
        self._closed: ContextVar[str | None] = ContextVar(f"cadence_closed_{owner}", default=None)

    def just_closed(self, cadence_name: str) -> bool:
        """Whether the last run popped in this context was ``cadence_name`` (asked once).

        A hooks object that is also given to ``with_reporter`` gets the run's reported total
        after its own ``after_cadence``; this tells it that the hooks already recorded the run.
        """
        if self._closed.get() != cadence_name:
            return False
        self._closed.set(None)
        return True

    def run(self) -> RunFrame | None:
        """The innermost run in this context."""
        stack = self._var.get()
        if stack:
            top = stack[-1]
            if type(top) is RunFrame:  # the usual case for observers that keep no note frames
                return top
        for frame in reversed(stack):
            if type(frame) is RunFrame:
                return frame
        return None

    def note(self) -> NoteFrame | None:
        """The innermost executing note in this context."""
        for frame in reversed(self._var.get()):
            if type(frame) is NoteFrame:
                return frame
        return None

    def top(self) -> Frame | None:
        """The innermost frame, run or note."""
        stack = self._var.get()
        return stack[-1] if stack else None

    def enter_run(self, cadence_name: str) -> RunFrame:
        """Push a run frame; a run started inside a note is that note's child run."""
        stack = self._var.get()
        parent_run = None
        parent_note = None
        for frame in reversed(stack):
            if type(frame) is NoteFrame and parent_note is None:
                parent_note = frame
            elif type(frame) is RunFrame:
                parent_run = frame
                break
        started = time.perf_counter()
        if parent_run is None:
            run = RunFrame(new_run_key(), cadence_name, 0, started)
        else:
            run = RunFrame(
                parent_run.key,
                cadence_name,
                parent_run.depth + 1,
                started,
                parent_note,
                parent_run.run_id,
            )
        run.wall_offset = time.time() - started
        self._var.set((*stack, run))
        return run

    def exit_run(self, cadence_name: str) -> tuple[RunFrame | None, list[NoteFrame]]:
        """Pop the innermost run named ``cadence_name``; also return notes left open above it.

        Notes are left open when a run is cancelled mid-step (the runner does not report the
        interrupted note), so observers can close them.
        """
        stack = self._var.get()
        for i in range(len(stack) - 1, -1, -1):
            frame = stack[i]
            if type(frame) is RunFrame and frame.cadence_name == cadence_name:
                self._var.set(stack[:i])
                self._closed.set(cadence_name)
                leftovers = [f for f in stack[i + 1 :] if type(f) is NoteFrame]
                return frame, leftovers
        return None, []

    def enter_note(self, note_name: str, payload: Any = None) -> NoteFrame:
        """Push a note frame for ``note_name``, with its group and index from the runner."""
        var = self._var
        stack = var.get()
        # The innermost run is the top frame (a step) or the top note's run (a group task).
        top = stack[-1] if stack else None
        run = top if isinstance(top, RunFrame) else top.run if top is not None else None
        scope = current_note()
        if scope is not None and scope.note_name == note_name:
            group = scope.group
            index = scope.task_index
            if run is not None and run.run_id is None:
                run.run_id = scope.run_id
        else:
            group = index = None
        note = NoteFrame(note_name, run, group, index, time.perf_counter(), payload)
        var.set((*stack, note))
        return note

    def exit_note(self, note_name: str) -> NoteFrame | None:
        """Pop the innermost note named ``note_name`` (and anything left open above it)."""
        stack = self._var.get()
        if stack:
            top = stack[-1]
            if type(top) is NoteFrame and top.name == note_name:  # the usual case
                self._var.set(stack[:-1])
                return top
        for i in range(len(stack) - 1, -1, -1):
            frame = stack[i]
            if type(frame) is NoteFrame and frame.name == note_name:
                self._var.set(stack[:i])
                return frame
            if type(frame) is RunFrame:
                return None
        return None

    def find_note(self, note_name: str) -> NoteFrame | None:
        """The innermost open note named ``note_name`` in this context."""
        for frame in reversed(self._var.get()):
            if type(frame) is NoteFrame and frame.name == note_name:
                return frame
        return None
