"""A human-readable reporter: one line per step, and the run's total, on a text stream."""

from __future__ import annotations

import sys
from typing import IO, Any

from cadence._observe._reporter import TOTAL_SUFFIX, Reporter

__all__ = ["ConsoleReporter", "console_reporter"]


class ConsoleReporter(Reporter):
    """Print ``  validate: 12.31ms`` per step and ``[checkout] TOTAL: 40.02ms`` at the end.

    The lines are those of cadence-orchestration 0.7.2's ``console_reporter``.

    Use it with ``with_reporter(ConsoleReporter())`` (this cadence's steps) or as hooks with
    ``with_hooks(ConsoleReporter())`` (child cadences' steps too).

    Args:
        stream: Where to write; ``sys.stdout`` (looked up at each call) when omitted.
        unit: ``"ms"`` or ``"s"``.
    """

    def __init__(self, *, stream: IO[str] | None = None, unit: str = "ms") -> None:
        super().__init__()
        if unit not in ("ms", "s"):
            raise ValueError(f"unit must be 'ms' or 's', got {unit!r}")
        self._stream = stream
        self._unit = unit

    def _format(self, seconds: float) -> str:
        return f"{seconds * 1000:.2f}ms" if self._unit == "ms" else f"{seconds:.4f}s"

    def report(self, note_name: str, elapsed: float, score: Any) -> None:
        """Write one line for a step, or the total line for ``"<cadence>:TOTAL"``."""
        stream = self._stream or sys.stdout
        if note_name.endswith(TOTAL_SUFFIX):
            line = f"[{note_name[: -len(TOTAL_SUFFIX)]}] TOTAL: {self._format(elapsed)}"
        else:
            line = f"  {note_name}: {self._format(elapsed)}"
        print(line, file=stream, flush=True)


def console_reporter(note_name: str, elapsed: float, score: Any) -> None:
    """A ready-made ``ConsoleReporter()`` writing to stdout: ``with_reporter(console_reporter)``."""
    _DEFAULT.report(note_name, elapsed, score)


_DEFAULT = ConsoleReporter()


def __getattr__(name: str) -> Any:
    # 0.7.2 defined json_reporter in this module; it lives in cadence.reporters.json now.
    if name == "json_reporter":
        from cadence.reporters.json import json_reporter

        return json_reporter
    raise AttributeError(f"module 'cadence.reporters.console' has no attribute {name!r}")
