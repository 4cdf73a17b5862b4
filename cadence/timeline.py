"""A run as a picture: record a run's events, write a self-contained HTML timeline.

::

    recorder = RunRecorder()
    await cadence.with_hooks(recorder).run()
    write_timeline(recorder, "run.html")   # open it in any browser; no network needed

Each step and group task is a bar on a time axis; tasks running at the same time sit in
separate lanes; failed notes are red, notes cut short (by a failing sibling, or because the run
was cancelled) are hatched grey, retries are marked on their bar; hovering a bar shows its
details. The file has no scripts, fonts or styles from elsewhere: it opens offline and can be
attached to a bug report.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence._observe._timeline_html import render_html
from cadence.budget import Spend
from cadence.events import (
    CADENCE_COMPLETED,
    CADENCE_FAILED,
    CADENCE_STARTED,
    CADENCE_SUSPENDED,
    EVENT_TYPES,
    GROUP_STARTED,
    NOTE_COMPLETED,
    NOTE_FAILED,
    NOTE_RETRYING,
    NOTE_STARTED,
    NOTE_SUSPENDED,
    SPEND_RECORDED,
    CadenceEvent,
    EventEmitter,
    Route,
)

__all__ = [
    "Bar",
    "RunRecorder",
    "event_to_dict",
    "load_events",
    "timeline_command",
    "write_timeline",
]


# How a top-level run ends: completed, failed, or parked at a wait (it returned to its caller
# with RunSuspended, and a resume is a run of its own).
_RUN_ENDS = (CADENCE_COMPLETED, CADENCE_FAILED, CADENCE_SUSPENDED)


class RunRecorder(EventEmitter):
    """Hooks that keep every event of the most recent runs, for timelines and tests.

    Events are grouped by run (``run_key``), so concurrent runs of one cadence do not mix.
    Listeners registered with ``on`` still fire.

    Args:
        max_runs: How many finished runs to keep; the oldest finished run is dropped first
            (runs still in flight are always kept; a run parked at a wait has finished).
    """

    def __init__(self, *, max_runs: int = 20) -> None:
        super().__init__()
        if max_runs < 1:
            raise ValueError(f"max_runs must be >= 1, got {max_runs}")
        self._max_runs = max_runs
        self._runs: OrderedDict[str, list[CadenceEvent]] = OrderedDict()
        self._finished: list[str] = []
        self._reroute()

    def _route(self) -> dict[str, Route]:
        # The recorder receives every event type first, before any registered listener.
        routes = super()._route()
        return {
            event_type: (
                self._keep,
                (route[0], *route[1]) if (route := routes.get(event_type)) else (),
            )
            for event_type in EVENT_TYPES
        }

    def _keep(self, event: CadenceEvent) -> None:
        events = self._runs.get(event.run_key)
        if events is None:
            events = self._runs[event.run_key] = []
        events.append(event)
        if (
            event.depth == 0
            and event.event_type in _RUN_ENDS
            and event.run_key not in self._finished
        ):
            self._finished.append(event.run_key)
            # Evict the oldest finished runs; runs still in flight are never cut short.
            while len(self._runs) > self._max_runs and len(self._finished) > 1:
                del self._runs[self._finished.pop(0)]

    @property
    def run_keys(self) -> tuple[str, ...]:
        """Keys of the runs kept, oldest first."""
        return tuple(self._runs)

    @property
    def events(self) -> tuple[CadenceEvent, ...]:
        """Events of the most recently finished run (or of the latest run if none finished).

        A run parked at a ``.wait`` has finished too: its events are the ones drawn.
        """
        if self._finished:
            return tuple(self._runs[self._finished[-1]])
        if self._runs:
            return tuple(next(reversed(self._runs.values())))
        return ()

    def events_for(self, run_key: str) -> tuple[CadenceEvent, ...]:
        """Events of one run."""
        return tuple(self._runs.get(run_key, ()))

    def clear(self) -> None:
        """Forget every recorded run."""
        self._runs.clear()
        self._finished.clear()

    def save(self, path: str | Path) -> Path:
        """Write the last run's events as JSON (``cadence timeline events.json`` reads it)."""
        target = Path(path)
        target.write_text(
            json.dumps([event_to_dict(e) for e in self.events], indent=1), encoding="utf-8"
        )
        return target


def event_to_dict(event: CadenceEvent | dict[str, Any]) -> dict[str, Any]:
    """A JSON-able dict of an event; the error becomes ``{"type", "message", "code"}``."""
    if isinstance(event, dict):
        return dict(event)
    out: dict[str, Any] = {}
    for name in _fields(type(event)):
        value = getattr(event, name)
        if name == "metadata" and not value:  # cadence's own events never fill it
            continue
        if isinstance(value, BaseException):
            value = {
                "type": type(value).__name__,
                "message": str(value),
                "code": _error_code(value),
            }
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Spend):
            value = dataclasses.asdict(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def _error_code(error: BaseException) -> str | int | float | None:
    """The error's ``code`` when it is plain data: some libraries' errors have a ``code()``
    method instead (gRPC's ``RpcError``), which ``RunRecorder.save`` could not write as JSON."""
    code = getattr(error, "code", None)
    return code if isinstance(code, (str, int, float)) else None


def _fields(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in getattr(klass, "__dataclass_fields__", {}):
            if name not in names:
                names.append(name)
    return names


def load_events(path: str | Path) -> list[dict[str, Any]]:
    """Read events written by :meth:`RunRecorder.save`.

    Raises:
        ValueError: The file is not JSON, or not a list of event records (each a JSON object
            with a string ``event_type`` and ``cadence_name`` and a numeric ``monotonic``).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not a JSON file of events ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of events")
    return [_checked_event(e, f"{path}: event #{i}") for i, e in enumerate(data)]


def _checked_event(event: Any, where: str) -> dict[str, Any]:
    """``event`` as a dict, refused (ValueError) when it lacks what a timeline reads."""
    if not isinstance(event, dict):
        raise ValueError(f"{where} is a {type(event).__name__}, not a JSON object")
    for key in ("event_type", "cadence_name"):
        if not isinstance(event.get(key), str):
            raise ValueError(f"{where} has no string {key!r}")
    t = event.get("monotonic")
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        raise ValueError(f"{where} has no numeric 'monotonic' time")
    return dict(event)


@dataclass
class Bar:
    """One note on the timeline; times are seconds from the start of the run."""

    name: str
    cadence: str
    depth: int
    group: str | None
    task_index: int | None
    start: float
    end: float | None = None
    status: str = "running"  # ok | failed | cancelled | waiting (the run parked here)
    kind: str = "step"  # step | task | sync | split | child | map | wait
    error: str | None = None
    retries: list[dict[str, Any]] = field(default_factory=list)
    lane: int = 0
    spend: dict[str, float] | None = None  # budget charges made by the note itself


def _error_text(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('message')}"
    return f"{type(error).__name__}: {error}"


def _parked(event: dict[str, Any]) -> bool:
    """Whether an event is a run parking at a wait, not a failure (``*.suspended``; recordings
    made before those types have a ``*.failed`` whose error code is ``RUN_SUSPENDED``)."""
    if event.get("event_type") in (CADENCE_SUSPENDED, NOTE_SUSPENDED):
        return True
    error = event.get("error")
    return isinstance(error, dict) and error.get("code") == "RUN_SUSPENDED"


def _cancelled(event: dict[str, Any]) -> bool:
    """Whether a ``*.failed`` event is a cancellation (the caller cancelled the run, or its
    ``asyncio.timeout`` ran out), drawn as cut short rather than as a failure."""
    error = event.get("error")
    return isinstance(error, dict) and error.get("type") == "CancelledError"


def build_bars(events: Sequence[dict[str, Any]]) -> tuple[list[Bar], dict[str, Any]]:
    """Pair start/end events into bars, mark retries, assign lanes; also return run info."""
    if not events:
        raise ValueError(
            "no events to draw: attach a RunRecorder with with_hooks() and run the cadence"
        )
    ordered = sorted(events, key=lambda e: e["monotonic"])
    t0 = ordered[0]["monotonic"]
    info: dict[str, Any] = {
        "cadence": ordered[0]["cadence_name"],
        "status": "running",
        "duration": None,
    }
    bars: list[Bar] = []
    open_bars: dict[tuple[Any, ...], list[Bar]] = {}
    end_time = ordered[-1]["monotonic"] - t0
    for e in ordered:
        t = e["monotonic"] - t0
        kind = e["event_type"]
        key = (
            e.get("cadence_name"),
            e.get("depth"),
            e.get("note_name"),
            e.get("group"),
            e.get("task_index"),
        )
        if kind == CADENCE_STARTED and e.get("depth") == 0:
            info["cadence"] = e["cadence_name"]
        elif kind in (CADENCE_COMPLETED, CADENCE_FAILED, CADENCE_SUSPENDED) and e.get("depth") == 0:
            info["status"] = "ok" if kind == CADENCE_COMPLETED else "failed"
            info["duration"] = e.get("duration")
            info["error"] = _error_text(e.get("error"))
            if _parked(e):
                info["status"] = "waiting"
            elif _cancelled(e):
                info["status"], info["error"] = "cancelled", None
            info["spend"] = e.get("spend")
            end_time = t
        elif kind == NOTE_STARTED:
            bar = Bar(
                e["note_name"],
                e["cadence_name"],
                e.get("depth") or 0,
                e.get("group"),
                e.get("task_index"),
                t,
                kind="task" if e.get("group") else "step",
            )
            bars.append(bar)
            open_bars.setdefault(key, []).append(bar)
        elif kind in (NOTE_COMPLETED, NOTE_FAILED, NOTE_SUSPENDED):
            stack = open_bars.get(key)
            if stack:
                bar = stack.pop()
                bar.end = t
                bar.status = "ok" if kind == NOTE_COMPLETED else "failed"
                bar.error = _error_text(e.get("error"))
                if _parked(e):
                    bar.status, bar.error = "waiting", "parked until resumed"
                elif _cancelled(e):
                    bar.status, bar.error = "cancelled", None
        elif kind == NOTE_RETRYING:
            stack = open_bars.get(key) or next(
                (s for k, s in open_bars.items() if s and k[2] == e.get("note_name")), None
            )
            if stack:
                stack[-1].retries.append(
                    {
                        "t": t,
                        "attempt": e.get("attempt"),
                        "max_attempts": e.get("max_attempts"),
                        "error": _error_text(e.get("error")),
                    }
                )
        elif kind == SPEND_RECORDED:
            stack = open_bars.get(key)
            if stack and isinstance(e.get("charge"), dict):
                bar = stack[-1]
                bar.spend = bar.spend or {}
                for name, value in e["charge"].items():
                    bar.spend[name] = bar.spend.get(name, 0) + value
        elif kind == GROUP_STARTED:
            step_key = (e.get("cadence_name"), e.get("depth"), e.get("note_name"), None, None)
            stack = open_bars.get(step_key)
            if stack:
                stack[-1].kind = e.get("kind") or "step"
    for bar in bars:
        if bar.end is None:
            bar.end = max(end_time, bar.start)
            bar.status = "cancelled"
    _assign_lanes(bars)
    info["total"] = max([end_time] + [b.end or 0.0 for b in bars])
    return bars, info


def _assign_lanes(bars: list[Bar]) -> None:
    """Put each bar in the lowest lane free at its start.

    Two heaps rather than a scan of every lane per bar: a ``.map`` of 10,000 items run at once
    has 10,000 lanes, and the scan made drawing it take seconds (quadratic). Bars come in start
    order, so a lane once free stays free until it is given out again.
    """
    busy: list[tuple[float, int]] = []  # (end, lane) of the lanes in use
    free: list[int] = []  # lanes whose bar has ended, lowest first
    lanes = 0
    for bar in sorted(bars, key=lambda b: (b.start, b.depth, b.task_index or 0)):
        while busy and busy[0][0] <= bar.start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            bar.lane = heapq.heappop(free)
        else:
            bar.lane, lanes = lanes, lanes + 1
        heapq.heappush(busy, (bar.end if bar.end is not None else bar.start, bar.lane))


def _as_dicts(source: Any) -> list[dict[str, Any]]:
    if isinstance(source, RunRecorder):
        return [event_to_dict(e) for e in source.events]
    if isinstance(source, (str, Path)):
        return _one_run(load_events(source))
    if isinstance(source, Iterable):
        return _one_run(
            [_checked_event(event_to_dict(e), f"event #{i}") for i, e in enumerate(source)]
        )
    raise TypeError(
        f"expected a RunRecorder, a list of events or a JSON path, got {type(source).__name__}"
    )


def _one_run(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the events of one run: the last one that finished, else the last one seen."""
    keys = [e.get("run_key") for e in events]
    if len(set(keys)) <= 1:
        return events
    finished = [
        e.get("run_key") for e in events if e.get("depth") == 0 and e.get("event_type") in _RUN_ENDS
    ]
    chosen = finished[-1] if finished else keys[-1]
    return [e for e in events if e.get("run_key") == chosen]


def write_timeline(source: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write a self-contained HTML timeline of one run and return its path.

    Args:
        source: A ``RunRecorder`` (its last finished run), a list of event records or dicts,
            or the path of a JSON file written by ``RunRecorder.save``. A list holding
            several runs is drawn for the last run that finished (or parked at a wait).
        path: The ``.html`` file to write.
        title: Page title; defaults to the cadence's name.
    """
    bars, info = build_bars(_as_dicts(source))
    target = Path(path)
    target.write_text(render_html(bars, info, title=title), encoding="utf-8")
    return target


def timeline_command(target: str, *, output: str | Path = "timeline.html") -> Path:
    """Entry point for ``cadence timeline TARGET [--output PATH]``.

    ``TARGET`` is either a JSON file of events (``RunRecorder.save``) or ``module:attribute``
    naming a cadence, which is run once on its own score with a ``RunRecorder`` attached (the
    run's failure, if any, is drawn, not raised).
    """
    if target.endswith(".json") or Path(target).is_file():
        return write_timeline(target, output)
    import asyncio

    from cadence.diagram import load_cadence

    cadence = load_cadence(target)
    recorder = RunRecorder()
    cadence.hooks.add(recorder)
    failure: Exception | None = None
    try:
        asyncio.run(cadence.run())
    except Exception as exc:  # the timeline shows what failed
        failure = exc
    finally:
        cadence.hooks.remove(recorder)
    if failure is not None and not recorder.events:
        # It failed before its first event (e.g. a .wait without a checkpoint store): there
        # is nothing to draw, and the reason must not be lost.
        raise ValueError(
            f"cadence {cadence.name!r} failed before it started, so there is no timeline: "
            f"{type(failure).__name__}: {failure}"
        ) from failure
    return write_timeline(recorder, output)
