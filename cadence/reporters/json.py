"""A machine-readable reporter: one JSON object per line, for log shippers.

Each line is ``{"ts": ..., "note": "validate", "seconds": 0.0123, ...}`` for a step and
``{"ts": ..., "cadence": "checkout", "seconds": 0.04, "total": true, ...}`` for a run's total.
The lines also carry cadence-orchestration 0.7.2's keys, ``"beat"`` (the note, or the cadence for
the total), ``"elapsed_ms"`` (rounded to 0.01) and ``"type"`` (``"beat"`` or
``"cadence_total"``), so log parsers written for 0.7.2 keep working.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

from cadence._observe._reporter import TOTAL_SUFFIX, Reporter

__all__ = ["JsonReporter", "json_reporter"]


class JsonReporter(Reporter):
    """Write one JSON line per report (``with_reporter(JsonReporter())`` or ``with_hooks``).

    Args:
        stream: Where to write; ``sys.stdout`` (looked up at each call) when omitted.
        fields: Names of score attributes to copy into each line (values must be JSON-able;
            anything else is written as its ``repr``).
    """

    def __init__(self, *, stream: IO[str] | None = None, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._stream = stream
        self._fields = tuple(fields)

    def record(self, note_name: str, elapsed: float, score: Any) -> dict[str, Any]:
        """The dictionary :meth:`report` writes (handy for tests and custom sinks)."""
        line: dict[str, Any] = {"ts": round(time.time(), 6)}
        if note_name.endswith(TOTAL_SUFFIX):
            cadence = note_name[: -len(TOTAL_SUFFIX)]
            line.update(cadence=cadence, seconds=elapsed, total=True)
            line.update(beat=cadence, elapsed_ms=round(elapsed * 1000, 2), type="cadence_total")
        else:
            line.update(note=note_name, seconds=elapsed)
            line.update(beat=note_name, elapsed_ms=round(elapsed * 1000, 2), type="beat")
        for name in self._fields:
            line[name] = getattr(score, name, None)
        return line

    def report(self, note_name: str, elapsed: float, score: Any) -> None:
        """Write the line for one report."""
        text = json.dumps(self.record(note_name, elapsed, score), default=repr)
        print(text, file=self._stream or sys.stdout, flush=True)


def json_reporter(note_name: str, elapsed: float, score: Any) -> None:
    """A ready-made ``JsonReporter()`` writing to stdout: ``with_reporter(json_reporter)``."""
    JsonReporter().report(note_name, elapsed, score)
