"""Reporters are hooks: ``Reporter`` turns ``after_note``/``after_cadence`` into ``report()`` calls.

A reporter receives ``report(note_name, seconds, score)`` after each step that completed and
once more with ``"<cadence>:TOTAL"`` when the run ends (also when it failed). Tasks inside a
group are not reported separately (their step is). ``Cadence.with_reporter(fn)`` wraps a plain
callable in a :class:`CallableReporter` bound to that cadence, so only its own steps reach
``fn`` (not even those of a child cadence that has the same name); a ``Reporter`` attached
with ``with_hooks`` also reports child cadences' steps.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from cadence._context import current_note
from cadence._observe._base import CadenceHooks
from cadence._observe._track import RunFrame, Tracker

__all__ = ["TOTAL_SUFFIX", "CallableReporter", "Reporter", "StepBuffer"]

logger = logging.getLogger("cadence.reporters")

TOTAL_SUFFIX = ":TOTAL"


class Reporter(CadenceHooks):
    """Base class of reporters: override :meth:`report` (sync or async).

    Args:
        cadence_name: Report only the steps and the total of the cadence with this name
            (``None``: of every cadence the reporter is attached to, child cadences included).
    """

    def __init__(self, *, cadence_name: str | None = None) -> None:
        self.cadence_name = cadence_name

    def report(self, note_name: str, elapsed: float, score: Any) -> Any:
        """Receive one step's time, or the run's as ``"<cadence>:TOTAL"``."""
        raise NotImplementedError(f"{type(self).__name__} must define report()")

    def __call__(self, note_name: str, elapsed: float, score: Any) -> Any:
        """A reporter is also a reporter callable: ``with_reporter(ConsoleReporter())``."""
        return self.report(note_name, elapsed, score)

    async def _deliver(self, note_name: str, elapsed: float, score: Any) -> None:
        try:
            result = self.report(note_name, elapsed, score)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("reporter %r failed for %s; the run continues", self, note_name)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report a top-level step that completed."""
        if error is not None:
            return
        scope = current_note()
        if scope is None or scope.group is not None:
            return
        if self.cadence_name is not None and scope.cadence_name != self.cadence_name:
            return
        await self._deliver(note_name, duration, score)

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report the run's total as ``"<cadence>:TOTAL"``."""
        if self.cadence_name is None or cadence_name == self.cadence_name:
            await self._deliver(f"{cadence_name}{TOTAL_SUFFIX}", duration, score)


class CallableReporter(Reporter):
    """A plain ``reporter(note_name, seconds, score)`` callable as a reporter (``with_reporter``)."""

    def __init__(self, fn: Callable[[str, float, Any], Any], *, cadence_name: str | None) -> None:
        super().__init__(cadence_name=cadence_name)
        self.fn = fn
        # The runs of its cadence's name in this context. A cadence's hooks reach its child
        # cadences, so a child named like its parent is seen here as a second, nested run: its
        # steps and TOTAL belong to the child's own reporter, not to this one.
        self._runs = Tracker(f"reporter_{id(self):x}")

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Note that a run of the bound cadence's name started (to tell a same-named child)."""
        if cadence_name == self.cadence_name:
            self._runs.enter_run(cadence_name)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report a top-level step of the bound cadence (not of a child of the same name)."""
        if len(self._runs.frames.get()) <= 1:
            await super().after_note(note_name, score, duration, error)

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report the bound cadence's total (not a same-named child's)."""
        if cadence_name == self.cadence_name:
            nested = len(self._runs.frames.get()) > 1
            self._runs.exit_run(cadence_name)
            if nested:
                return
        await super().after_cadence(cadence_name, score, duration, error)

    def report(self, note_name: str, elapsed: float, score: Any) -> Any:
        """Call the wrapped function."""
        return self.fn(note_name, elapsed, score)

    def __repr__(self) -> str:
        return f"CallableReporter({self.fn!r})"


class StepBuffer:
    """The steps given to a reporter's ``report()``, kept per run until its ``"<cadence>:TOTAL"``.

    A reporter that records a run as a whole (``PrometheusReporter``, ``OpenTelemetryReporter``)
    learns the run's cadence only from the TOTAL, so it keeps the steps until then. They are
    kept per run, in a :class:`Tracker` (a ``ContextVar`` stack: concurrent runs never mix): a
    step joins the buffer of the run reporting it (``current_note()``, one scope per run), so a
    child cadence reporting to the same reporter gets a buffer of its own on top of its
    parent's, and its TOTAL takes its steps only. A TOTAL takes the innermost buffer of its
    cadence; steps reported by hand, outside any run, go to the TOTAL reported next.
    """

    __slots__ = ("_tracker", "frames")

    def __init__(self, owner: str) -> None:
        self._tracker = Tracker(owner)
        self.frames = self._tracker.frames
        """The stack of buffers (read it, never set it)."""

    def add(self, item: Any) -> None:
        """Keep one reported step for the run reporting it."""
        scope = current_note()
        for frame in reversed(self.frames.get()):
            if type(frame) is RunFrame and frame.data["scope"] is scope:
                break
        else:
            frame = self._tracker.enter_run(scope.cadence_name if scope is not None else "")
            frame.data["scope"] = scope
            frame.data["steps"] = []
        frame.data["steps"].append(item)

    def take(self, cadence_name: str) -> list[Any]:
        """The steps kept for the run of ``cadence_name`` that ends now, and forget them."""
        frame, _ = self._tracker.exit_run(cadence_name)
        if frame is None:
            top = self._tracker.top()
            if type(top) is RunFrame and top.data["scope"] is None:  # reported by hand
                frame, _ = self._tracker.exit_run(top.cadence_name)
        return frame.data["steps"] if frame is not None else []
