"""The event records of ``cadence.events``: frozen, slotted dataclasses that are cheap to build.

A run with an event listener builds two records per step, so their construction is the
instrumented path's main cost. A ``@dataclass(frozen=True, slots=True)`` writes each field
through ``object.__setattr__``: about 1.3 µs for a 12-field record on a loaded 2-core machine,
against 0.15 µs for plain slot stores (``benchmarks/bench_hooks.py`` measures the whole path).
So the emitter builds a note record as a plain instance of :class:`Blank` — the storage of
every record type — and then gives it its record class, which adds no storage of its own
(``__class__`` assignment between such layouts is allowed). The rarer records (runs, retries,
groups) use the keyword constructors below. The record classes are dataclasses over those
slots (``fields``, ``replace``, ``asdict``, equality, hashing and ``repr`` work) and forbid
assignment with ``FrozenInstanceError``, exactly as ``frozen=True`` would.

Record classes gain fields by adding a name to ``Blank.__slots__`` and an annotation here;
a field of a record class has no class-level default (it would hide the slot), so defaults
live in the keyword ``__init__`` users call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "NO_METADATA",
    "Blank",
    "CadenceEvent",
    "GroupEvent",
    "NoteEvent",
    "RetryEvent",
]


class Blank:
    """Storage for every record type; a record is born as one of these, then sealed.

    A builder makes ``object.__new__(Blank)``, stores every field of the record class it
    builds, then assigns ``__class__`` (``EventEmitter._note_record`` does this inline, the
    builders below for the rarer records).
    """

    __slots__ = (
        "attempt",
        "cadence_name",
        "depth",
        "duration",
        "error",
        "event_type",
        "group",
        "kind",
        "max_attempts",
        "metadata",
        "monotonic",
        "note_name",
        "run_id",
        "run_key",
        "task_index",
        "task_names",
        "timestamp",
    )


_new = object.__new__
_set = object.__setattr__

NO_METADATA: Mapping[str, Any] = MappingProxyType({})
"""The ``metadata`` of every event cadence emits itself (nothing: it is for user events)."""


class _Frozen(Blank):
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            _set(self, name, value)


@dataclass(init=False, unsafe_hash=True)
class CadenceEvent(_Frozen):
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
        timestamp: Wall-clock time, for logs: on cadence's own events the run's start
            (``time.time()``) plus the monotonic time since, so it never jumps within a run.
        monotonic: ``time.perf_counter()`` reading, for durations and timelines.
        note_name: The step or task for note, retry and group events; else ``None``.
        duration: Seconds, on completed and failed events.
        error: The exception, on failed and retry events.
        metadata: What the event's creator attached; empty on cadence's own events (kept for
            code written for cadence-orchestration 0.7.2, whose events had it too).
    """

    __slots__ = ()
    event_type: str
    cadence_name: str
    run_key: str
    run_id: str | None
    depth: int
    timestamp: float
    monotonic: float
    note_name: str | None
    duration: float | None
    error: BaseException | None
    metadata: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)

    def __init__(
        self,
        event_type: str,
        cadence_name: str,
        *,
        run_key: str = "",
        run_id: str | None = None,
        depth: int = 0,
        timestamp: float | None = None,
        monotonic: float | None = None,
        note_name: str | None = None,
        duration: float | None = None,
        error: BaseException | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        _set(self, "event_type", event_type)
        _set(self, "cadence_name", cadence_name)
        _set(self, "run_key", run_key)
        _set(self, "run_id", run_id)
        _set(self, "depth", depth)
        _set(self, "timestamp", time.time() if timestamp is None else timestamp)
        _set(self, "monotonic", time.perf_counter() if monotonic is None else monotonic)
        _set(self, "note_name", note_name)
        _set(self, "duration", duration)
        _set(self, "error", error)
        _set(self, "metadata", NO_METADATA if metadata is None else metadata)


@dataclass(init=False, unsafe_hash=True)
class NoteEvent(CadenceEvent):
    """A step, or a task inside a group, started or ended (``note.*``).

    Attributes:
        group: The enclosing ``.sync``/``.split`` step for a task, else ``None``.
        task_index: The task's position in a ``.sync`` group, else ``None``.
    """

    __slots__ = ()
    group: str | None
    task_index: int | None

    def __init__(
        self,
        event_type: str,
        cadence_name: str,
        *,
        group: str | None = None,
        task_index: int | None = None,
        **common: Any,
    ) -> None:
        super().__init__(event_type, cadence_name, **common)
        _set(self, "group", group)
        _set(self, "task_index", task_index)


@dataclass(init=False, unsafe_hash=True)
class RetryEvent(NoteEvent):
    """Attempt ``attempt`` of ``max_attempts`` failed with ``error``; another one follows."""

    __slots__ = ()
    attempt: int
    max_attempts: int

    def __init__(
        self, event_type: str, cadence_name: str, *, attempt: int, max_attempts: int, **note: Any
    ) -> None:
        super().__init__(event_type, cadence_name, **note)
        _set(self, "attempt", attempt)
        _set(self, "max_attempts", max_attempts)


@dataclass(init=False, unsafe_hash=True)
class GroupEvent(NoteEvent):
    """A ``.sync``/``.split``/``.child`` step started or ended its tasks (``group.*``).

    Attributes:
        kind: ``"sync"``, ``"split"`` or ``"child"``.
        task_names: The tasks the group runs (the chosen branch for a split).
    """

    __slots__ = ()
    kind: str
    task_names: tuple[str, ...]

    def __init__(
        self,
        event_type: str,
        cadence_name: str,
        *,
        kind: str,
        task_names: tuple[str, ...] = (),
        **note: Any,
    ) -> None:
        super().__init__(event_type, cadence_name, **note)
        _set(self, "kind", kind)
        _set(self, "task_names", task_names)
