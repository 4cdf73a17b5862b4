"""Ready-made hooks: logging, timing, in-process metrics, debugging and tracing.

Each one is a ``CadenceHooks`` subclass overriding only the calls it needs (the runner skips
the rest), and none keeps per-run state on the instance that concurrent runs could trample:
where a run has to be told apart from another, the per-context ``Tracker`` does it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from cadence._context import current_note
from cadence._observe._base import DONE, CadenceHooks, is_failure, is_parked
from cadence._observe._tracing import TracingHooks
from cadence._observe._track import Tracker

__all__ = [
    "DebugHooks",
    "LoggingHooks",
    "MetricsHooks",
    "NoteTiming",
    "TimingHooks",
    "TracingHooks",
]


def _where() -> str:
    scope = current_note()
    if scope is None or scope.group is None:
        return ""
    if scope.task_index is None:
        return f" [{scope.group}]"
    return f" [{scope.group}#{scope.task_index}]"


def _level(value: int | str, option: str) -> int:
    if isinstance(value, str):
        levels = logging.getLevelNamesMapping()
        if value.upper() not in levels:
            raise ValueError(f"LoggingHooks({option}=...): unknown level {value!r}; e.g. 'INFO'")
        return levels[value.upper()]
    return value


class LoggingHooks(CadenceHooks):
    """Log each run, step, task and retry through the standard ``logging`` module.

    Records carry ``extra`` fields (``cadence_name``, ``note_name``, ``duration``) for
    structured log handlers. Whether the logger is enabled for ``level`` is looked up when a
    run starts (a level changed mid-run applies from the next run on); with logging off the
    hook tells the runner so (:meth:`wants_notes`), and a step that succeeds costs it no call
    at all. Failures are checked against ``error_level`` each time.

    Args:
        logger_name: Logger to write to.
        level: Level of start and completion records (an ``int`` or a name like ``"INFO"``).
        error_level: Level of failure records (retries log at ``WARNING``).
    """

    def __init__(
        self,
        logger_name: str = "cadence",
        level: int | str = logging.INFO,
        error_level: int | str = logging.ERROR,
    ) -> None:
        self.logger = logging.getLogger(logger_name)
        self.level = _level(level, "level")
        self.error_level = _level(error_level, "error_level")
        self._on = self.logger.isEnabledFor(self.level)

    # Plain methods, so the runner awaits nothing for them. They return DONE, which code that
    # awaits them (as it would the coroutines of CadenceHooks) accepts.

    def before_cadence(self, cadence_name: str, score: Any) -> Awaitable[None]:  # type: ignore[override]
        """Log the start of a run."""
        self._on = on = self.logger.isEnabledFor(self.level)
        if on:
            self.logger.log(
                self.level,
                "[%s] Starting cadence",
                cadence_name,
                extra={"cadence_name": cadence_name},
            )
        return DONE

    def after_cadence(  # type: ignore[override]
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> Awaitable[None]:
        """Log the end of a run, at ``error_level`` when it failed."""
        extra = {"cadence_name": cadence_name, "duration": duration}
        if is_parked(error):
            if self.logger.isEnabledFor(self.level):
                self.logger.log(
                    self.level,
                    "[%s] Cadence parked at a wait after %.3fs",
                    cadence_name,
                    duration,
                    extra=extra,
                )
        elif error is not None:
            if self.logger.isEnabledFor(self.error_level):
                self.logger.log(
                    self.error_level,
                    "[%s] Cadence failed after %.3fs: %s",
                    cadence_name,
                    duration,
                    error,
                    extra=extra,
                )
        elif self.logger.isEnabledFor(self.level):
            self.logger.log(
                self.level, "[%s] Cadence completed in %.3fs", cadence_name, duration, extra=extra
            )
        return DONE

    def wants_notes(self) -> bool:
        """Whether the logger is enabled for ``level``: if not, the run's successful steps and
        tasks log nothing, and the runner need not call this hook for them."""
        return self.logger.isEnabledFor(self.level)

    def before_note(self, note_name: str, score: Any) -> Awaitable[None]:  # type: ignore[override]
        """Log that a step or task started (with its group)."""
        if self._on:
            self.logger.log(
                self.level, "  \u2192 %s%s", note_name, _where(), extra={"note_name": note_name}
            )
        return DONE

    def after_note(  # type: ignore[override]
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> Awaitable[None]:
        """Log that a step or task ended, at ``error_level`` when it failed."""
        if is_parked(error):
            if self._on:
                self.logger.log(
                    self.level,
                    "  \u2016 %s parked the run after %.3fs",
                    note_name,
                    duration,
                    extra={"note_name": note_name, "duration": duration},
                )
        elif error is not None:
            if self.logger.isEnabledFor(self.error_level):
                self.logger.log(
                    self.error_level,
                    "  \u2717 %s failed after %.3fs: %s",
                    note_name,
                    duration,
                    error,
                    extra={"note_name": note_name, "duration": duration},
                )
        elif self._on:
            self.logger.log(
                self.level,
                "  \u2713 %s (%.3fs)",
                note_name,
                duration,
                extra={"note_name": note_name, "duration": duration},
            )
        return DONE

    def on_retry(  # type: ignore[override]
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> Awaitable[None]:
        """Log a retry at ``WARNING``."""
        if self.logger.isEnabledFor(logging.WARNING):
            self.logger.warning(
                "  retry %s after attempt %d/%d: %s: %s",
                note_name,
                attempt,
                max_attempts,
                type(error).__name__,
                error,
                extra={"note_name": note_name, "attempt": attempt},
            )
        return DONE


@dataclass(frozen=True, slots=True)
class NoteTiming:
    """How long one step or task of the last run took."""

    name: str
    duration: float
    depth: int
    group: str | None = None
    failed: bool = False


class TimingHooks(CadenceHooks):
    """Collect how long each step and task of the most recent run took.

    Example:
        ``timing = TimingHooks()``; after ``await cadence.with_hooks(timing).run()``,
        ``print(timing.get_report())`` shows each note's seconds and share of the total.
    """

    def __init__(self) -> None:
        self._tracker = Tracker(f"timing_{id(self):x}")
        self._cadence_name: str | None = None
        self._timings: list[NoteTiming] = []
        self._total = 0.0

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Start a fresh record when a top-level run begins."""
        run = self._tracker.enter_run(cadence_name)
        if run.depth == 0:
            run.data["timings"] = []

    async def before_note(self, note_name: str, score: Any) -> None:
        """Remember the note's group and nesting depth."""
        self._tracker.enter_note(note_name)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Record the note's duration."""
        note = self._tracker.exit_note(note_name)
        run = note.run if note is not None else self._tracker.run()
        if run is None:
            return
        root = run
        while root.parent is not None and root.parent.run is not None:
            root = root.parent.run
        depth = run.depth + (1 if note is not None and note.group is not None else 0)
        root.data.setdefault("timings", []).append(
            NoteTiming(note_name, duration, depth, note.group if note else None, is_failure(error))
        )

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Publish the finished top-level run's timings."""
        run, _ = self._tracker.exit_run(cadence_name)
        if run is None or run.depth != 0:
            return
        self._cadence_name = cadence_name
        self._timings = list(run.data.get("timings", ()))
        self._total = duration

    @property
    def cadence_name(self) -> str | None:
        """Name of the last finished run's cadence."""
        return self._cadence_name

    @property
    def timings(self) -> tuple[NoteTiming, ...]:
        """Every step and task of the last run, in completion order."""
        return tuple(self._timings)

    @property
    def note_times(self) -> dict[str, float]:
        """Seconds per note name for the last run (a name seen twice keeps the last)."""
        return {t.name: t.duration for t in self._timings}

    @property
    def total_duration(self) -> float:
        """Seconds the last run took."""
        return self._total

    def get_report(self) -> str:
        """A plain-text table of the last run: seconds and share of the total per note."""
        lines = [f"=== Timing Report: {self._cadence_name or '(no run yet)'} ==="]
        width = max((len(t.name) + 2 * t.depth for t in self._timings), default=5)
        for t in self._timings:
            share = t.duration / self._total * 100 if self._total > 0 else 0.0
            label = "  " * t.depth + t.name
            flag = "  FAILED" if t.failed else ""
            lines.append(f"  {label:<{width}}  {t.duration:8.4f}s  {share:5.1f}%{flag}")
        lines.append(f"  {'TOTAL:':<{width}}  {self._total:8.4f}s")
        return "\n".join(lines)


class _Stats:
    __slots__ = ("count", "failures", "max", "total")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, duration: float, failed: bool) -> None:
        self.count += 1
        self.failures += failed
        self.total += duration
        self.max = max(self.max, duration)

    def as_dict(self) -> dict[str, Any]:
        success = self.count - self.failures
        return {
            "success": success,
            "failure": self.failures,
            "total": self.count,
            "success_rate": success / self.count if self.count else 0.0,
            "avg_duration": self.total / self.count if self.count else 0.0,
            "max_duration": self.max,
        }


class MetricsHooks(CadenceHooks):
    """In-process counters and durations per cadence and per note, across all runs.

    For a dashboard use ``PrometheusReporter`` instead; this is for tests, admin pages and
    quick looks: ``get_metrics()`` returns plain dictionaries.
    """

    def __init__(self) -> None:
        self._cadences: dict[str, _Stats] = {}
        self._notes: dict[str, _Stats] = {}
        self._retries: dict[str, int] = {}

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Count the run and add its duration."""
        stats = self._cadences.get(cadence_name) or self._cadences.setdefault(
            cadence_name, _Stats()
        )
        stats.add(duration, is_failure(error))

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Count the note and add its duration."""
        stats = self._notes.get(note_name) or self._notes.setdefault(note_name, _Stats())
        stats.add(duration, is_failure(error))

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Count the retry."""
        self._retries[note_name] = self._retries.get(note_name, 0) + 1

    def get_metrics(self) -> dict[str, Any]:
        """``{"cadences": {name: stats}, "notes": {name: stats}, "retries": {note: n}}``.

        Each stats dict has ``success``, ``failure``, ``total``, ``success_rate``,
        ``avg_duration`` and ``max_duration`` (seconds).
        """
        return {
            "cadences": {k: v.as_dict() for k, v in self._cadences.items()},
            "notes": {k: v.as_dict() for k, v in self._notes.items()},
            "retries": dict(self._retries),
        }

    def reset(self) -> None:
        """Forget everything collected so far."""
        self._cadences.clear()
        self._notes.clear()
        self._retries.clear()


def _snapshot(score: Any, limit: int) -> dict[str, str]:
    if hasattr(score, "__dict__"):
        items = vars(score).items()
    else:
        names: Sequence[str] = getattr(type(score), "__slots__", ())
        items = ((n, getattr(score, n, None)) for n in names)
    out = {}
    for key, value in items:
        if key.startswith("_"):
            continue
        text = repr(value)
        out[key] = text if len(text) <= limit else text[: limit - 3] + "..."
    return out


class DebugHooks(CadenceHooks):
    """Print each note with the score fields it changed, for following a run by eye.

    Args:
        show_score: Also print the full score when a run starts and ends.
        show_timing: Print how long each note and the run took.
        stream: Where to write (default ``sys.stderr``).
        max_repr: Truncate each value's ``repr`` to this many characters.
    """

    def __init__(
        self,
        show_score: bool = True,
        show_timing: bool = True,
        *,
        stream: IO[str] | None = None,
        max_repr: int = 80,
    ) -> None:
        self._stream = stream
        self._show_score = show_score
        self._show_timing = show_timing
        self._max_repr = max_repr
        self._tracker = Tracker(f"debug_{id(self):x}")

    def _write(self, text: str) -> None:
        print(text, file=self._stream or sys.stderr, flush=True)

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Print the run's start (and its score)."""
        run = self._tracker.enter_run(cadence_name)
        pad = "  " * run.depth
        self._write(f"{pad}[{cadence_name}] start")
        if self._show_score:
            self._write(f"{pad}  score: {_snapshot(score, self._max_repr)}")

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Print the run's end (and its score)."""
        run, _ = self._tracker.exit_run(cadence_name)
        pad = "  " * (run.depth if run else 0)
        status = (
            "parked at a wait"
            if is_parked(error)
            else f"FAILED: {error!r}"
            if error is not None
            else "done"
        )
        took = f" in {duration * 1000:.2f} ms" if self._show_timing else ""
        self._write(f"{pad}[{cadence_name}] {status}{took}")
        if self._show_score:
            self._write(f"{pad}  score: {_snapshot(score, self._max_repr)}")

    async def before_note(self, note_name: str, score: Any) -> None:
        """Remember the score as the note found it."""
        note = self._tracker.enter_note(note_name, _snapshot(score, self._max_repr))
        depth = (note.run.depth if note.run else 0) + (note.group is not None)
        self._write(f"{'  ' * depth}  -> {note_name}{_where()}")

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Print what the note changed, or how it failed."""
        note = self._tracker.exit_note(note_name)
        depth = (note.run.depth if note and note.run else 0) + bool(note and note.group)
        pad = "  " * depth
        if error is not None:
            took = f" after {duration * 1000:.2f} ms" if self._show_timing else ""
            if is_parked(error):
                self._write(f"{pad}  || {note_name} parked the run{took}")
            else:
                self._write(f"{pad}  x {note_name} failed{took}: {error!r}")
            return
        before: dict[str, str] = note.payload if note is not None else {}
        after = _snapshot(score, self._max_repr)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        took = f" ({duration * 1000:.2f} ms)" if self._show_timing else ""
        self._write(f"{pad}  ok {note_name}{took} changed: {changed or '{}'}")

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Print the retry."""
        self._write(f"    retry {note_name} ({attempt}/{max_attempts}): {error!r}")
