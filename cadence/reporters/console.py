"""A human-readable reporter: one line per step, and the run's total, on a text stream."""

from __future__ import annotations

import sys
from typing import IO, Any

from cadence._observe._reporter import TOTAL_SUFFIX, Reporter

__all__ = ["ConsoleReporter", "console_reporter"]


class ConsoleReporter(Reporter):
    """Print ``  validate          12.31 ms`` per step and ``checkout total 40.02 ms`` at the end.

    Use it with ``with_reporter(ConsoleReporter())`` (this cadence's steps) or as hooks with
    ``with_hooks(ConsoleReporter())`` (child cadences' steps too).

    Args:
        stream: Where to write; ``sys.stderr`` (looked up at each call) when omitted.
        unit: ``"ms"`` or ``"s"``.
    """

    def __init__(self, *, stream: IO[str] | None = None, unit: str = "ms") -> None:
        super().__init__()
        if unit not in ("ms", "s"):
            raise ValueError(f"unit must be 'ms' or 's', got {unit!r}")
        self._stream = stream
        self._unit = unit

    def _format(self, seconds: float) -> str:
        return f"{seconds * 1000:9.2f} ms" if self._unit == "ms" else f"{seconds:9.4f} s"

    def report(self, note_name: str, elapsed: float, score: Any) -> None:
        """Write one line for a step, or the total line for ``"<cadence>:TOTAL"``."""
        stream = self._stream or sys.stderr
        if note_name.endswith(TOTAL_SUFFIX):
            line = f"{note_name[: -len(TOTAL_SUFFIX)]} total {self._format(elapsed).strip()}"
        else:
            line = f"  {note_name:<24} {self._format(elapsed)}"
        print(line, file=stream, flush=True)


def console_reporter(note_name: str, elapsed: float, score: Any) -> None:
    """A ready-made ``ConsoleReporter()`` writing to stderr: ``with_reporter(console_reporter)``."""
    _DEFAULT.report(note_name, elapsed, score)


_DEFAULT = ConsoleReporter()
