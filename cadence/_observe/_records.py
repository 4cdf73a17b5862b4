"""The event records of ``cadence.events``: frozen, slotted dataclasses that are cheap to build.

A run with an event listener builds two records per step, so their construction is the
instrumented path's main cost. A ``@dataclass(frozen=True, slots=True)`` writes each field
through ``object.__setattr__``: about 1.3 µs for a 12-field record on a loaded 2-core machine,
against 0.15 µs for plain slot stores (``benchmarks/bench_hooks.py`` measures the whole path).
So the emitter builds a note or run record as a plain instance of :class:`Blank` — their
storage — and then gives it its record class, which adds no storage of its own (``__class__``
assignment between such layouts is allowed). The rarer records (retries, groups, spend) use
the keyword constructors below. The record classes are dataclasses over those
slots (``fields``, ``replace``, ``asdict``, equality, hashing, ``repr``, ``copy`` and pickling
work) and forbid assignment with ``FrozenInstanceError``, exactly as ``frozen=True`` would.

A record stores only what differs from note to note: its type, note name, duration, error
and clock reading. Where it sits (cadence name, run key, depth, group, task index, run id, the
wall-clock offset, and the empty metadata and spend) is one tuple, ``_place``, that every note
record made in the same scope shares, and those fields are properties that read it (a run
record has a place of its own). Seven slots instead of twenty-two make a record a third the
size (88 bytes by ``sys.getsizeof`` instead of 208), which is also cheaper to allocate and free.

The rarer record types (retries, groups, spend) add slots of their own for their extra fields
and are built by their keyword constructors; a field of a record class has no class-level
default (it would hide the slot), so defaults live in the keyword ``__init__`` users call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NO_METADATA",
    "Blank",
    "CadenceEvent",
    "GroupEvent",
    "NoteEvent",
    "RetryEvent",
    "SpendEvent",
]


class Blank:
    """Storage of note and run records; such a record is born as one of these, then sealed.

    A builder makes ``Blank()``, stores its five own fields, ``_place`` (and ``_stamp`` when the
    place has no wall-clock offset), then assigns ``__class__`` (``cadence.events._note_hook``
    and ``EventEmitter._run_record`` do this inline). Retry, group and spend records add slots
    for their own fields and are built by their keyword constructors.
    """

    __slots__ = (
        "_place",  # the fields a record shares with its scope's records: see CadenceEvent
        "_stamp",  # the wall-clock time when its place has no wall-clock offset
        "duration",
        "error",
        "event_type",
        "monotonic",
        "note_name",
    )


_new = object.__new__
_set = object.__setattr__


class _NoMetadata(dict[str, Any]):
    """An empty ``dict`` that refuses every change: one is shared by all of cadence's records.

    A ``dict`` (not a ``MappingProxyType``) so that ``dataclasses.asdict``, ``copy.deepcopy``,
    pickling and ``json.dumps`` of a record work; it pickles and copies as the one instance.
    Only that instance refuses changes: the fresh one ``asdict`` builds is the caller's.
    """

    __slots__ = ()

    def _guard(name: str) -> Any:  # type: ignore[misc]
        change = getattr(dict, name)

        def guarded(self: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if self is NO_METADATA:
                raise TypeError(
                    "an event's empty metadata is shared and read-only: "
                    "build the event with metadata={...} instead"
                )
            return change(self, *args, **kwargs)

        guarded.__name__ = name
        return guarded

    __setitem__ = _guard("__setitem__")
    __delitem__ = _guard("__delitem__")
    __ior__ = _guard("__ior__")
    clear = _guard("clear")
    pop = _guard("pop")
    popitem = _guard("popitem")
    setdefault = _guard("setdefault")
    update = _guard("update")
    del _guard

    def __reduce__(self) -> str:
        return "NO_METADATA"

    def __copy__(self) -> _NoMetadata:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NoMetadata:
        return self


NO_METADATA: Mapping[str, Any] = _NoMetadata()
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
        # Through the keyword constructor, so that a note record rebuilds its place.
        type(self).__init__(self, **state)


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
        spend: On ``cadence.completed``/``cadence.failed`` of a run with a ``Budget`` in
            force, the innermost budget's spend (a ``cadence.Spend``); on ``spend.recorded``
            the same as ``total``; else ``None``.
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
    spend: Any
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
        spend: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        meta = NO_METADATA if metadata is None else metadata
        place = (cadence_name, run_key, depth, None, None, None, run_id, meta, spend)
        _fill(self, event_type, note_name, duration, error, monotonic, timestamp, place)


def _fill(
    record: CadenceEvent,
    event_type: str,
    note_name: str | None,
    duration: float | None,
    error: BaseException | None,
    monotonic: float | None,
    timestamp: float | None,
    place: tuple[Any, ...],
) -> None:
    """Store a keyword-built record's own fields and its place (``timestamp`` kept as given)."""
    _set(record, "event_type", event_type)
    _set(record, "note_name", note_name)
    _set(record, "duration", duration)
    _set(record, "error", error)
    _set(record, "monotonic", time.perf_counter() if monotonic is None else monotonic)
    _set(record, "_stamp", time.time() if timestamp is None else timestamp)
    _set(record, "_place", place)


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
        run_key: str = "",
        run_id: str | None = None,
        depth: int = 0,
        timestamp: float | None = None,
        monotonic: float | None = None,
        note_name: str | None = None,
        duration: float | None = None,
        error: BaseException | None = None,
        spend: Any = None,
        metadata: Mapping[str, Any] | None = None,
        group: str | None = None,
        task_index: int | None = None,
    ) -> None:
        meta = NO_METADATA if metadata is None else metadata
        place = (cadence_name, run_key, depth, None, group, task_index, run_id, meta, spend)
        _fill(self, event_type, note_name, duration, error, monotonic, timestamp, place)


PLACE_FIELDS = (
    "cadence_name",
    "run_key",
    "depth",
    None,  # the wall-clock offset: read by ``timestamp``
    "group",
    "task_index",
    "run_id",
    "metadata",
    "spend",
)
"""The layout of a note record's ``_place`` (``cadence.events.Place``)."""


def _place_field(owner: type, index: int, name: str) -> None:
    def get(self: Any) -> Any:
        return self._place[index]

    get.__name__ = name
    get.__qualname__ = f"{owner.__name__}.{name}"
    doc = "Read from the record's place (a note record shares it with its scope's records)."
    setattr(owner, name, property(get, doc=doc))


def _timestamp(self: Any) -> float:
    offset = self._place[3]
    return self._stamp if offset is None else self.monotonic + offset  # type: ignore[no-any-return]


# Set after @dataclass has collected the fields, so that it takes none of these for a default.
# A run record has no group or task index: those two are NoteEvent's.
for _index, _name in enumerate(PLACE_FIELDS):
    if _name is not None:
        _place_field(NoteEvent if _name in ("group", "task_index") else CadenceEvent, _index, _name)
CadenceEvent.timestamp = property(_timestamp, doc="Wall-clock time: see CadenceEvent.")  # type: ignore[assignment]
del _index, _name


@dataclass(init=False, unsafe_hash=True)
class RetryEvent(NoteEvent):
    """Attempt ``attempt`` of ``max_attempts`` failed with ``error``; another one follows."""

    __slots__ = ("attempt", "max_attempts")
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

    __slots__ = ("kind", "task_names")
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


@dataclass(init=False, unsafe_hash=True)
class SpendEvent(NoteEvent):
    """A model request or a turn's tool calls were charged to the run's budget (``spend.recorded``).

    Attributes:
        charge: What the call used (a ``cadence.Spend``).
        total: The budget's spend after it (``spend`` carries the same value).
    """

    __slots__ = ("charge", "total")
    charge: Any
    total: Any

    def __init__(
        self, event_type: str, cadence_name: str, *, charge: Any, total: Any, **note: Any
    ) -> None:
        note.pop("spend", None)  # always ``total`` (``replace`` and pickling pass it too)
        super().__init__(event_type, cadence_name, spend=total, **note)
        _set(self, "charge", charge)
        _set(self, "total", total)
