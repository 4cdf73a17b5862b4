"""Console and JSON reporters, and lazy loading of the heavy reporters."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from cadence import Cadence
from cadence.reporters import ConsoleReporter, JsonReporter, console_reporter, json_reporter

from ._support import Order


async def fetch(score: Order) -> None:
    score.items.append("book")


async def test_console_reporter_lines() -> None:
    """One aligned line per step and a total line for the run."""
    out = io.StringIO()
    cadence = (
        Cadence("checkout", Order()).with_reporter(ConsoleReporter(stream=out)).then("fetch", fetch)
    )
    await cadence.run()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  fetch: ") and lines[0].endswith("ms")
    assert lines[1].startswith("[checkout] TOTAL: ") and lines[1].endswith("ms")
    with pytest.raises(ValueError, match="unit"):
        ConsoleReporter(unit="minutes")


async def test_json_reporter_lines() -> None:
    """One JSON object per line, with selected score fields."""
    out = io.StringIO()
    reporter = JsonReporter(stream=out, fields=("order_id", "items"))
    await Cadence("checkout", Order()).with_reporter(reporter).then("fetch", fetch).run()
    step, total = (json.loads(line) for line in out.getvalue().splitlines())
    assert step["note"] == "fetch" and step["order_id"] == "ORD-1" and step["items"] == ["book"]
    assert total["cadence"] == "checkout" and total["total"] is True
    assert isinstance(step["seconds"], float) and isinstance(step["ts"], float)


async def test_ready_made_reporter_functions(capsys: pytest.CaptureFixture[str]) -> None:
    """console_reporter and json_reporter write to stdout, as in 0.7.2."""
    await (
        Cadence("c", Order())
        .with_reporter(console_reporter)
        .with_reporter(json_reporter)
        .then("fetch", fetch)
        .run()
    )
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("  fetch: ")
    assert json.loads(lines[1])["note"] == "fetch"
    assert "[c] TOTAL: " in captured.out


def test_observability_modules_import_no_third_party_package() -> None:
    """Importing events, reporters, diagram and timeline loads neither Prometheus nor OpenTelemetry."""
    code = (
        "import sys\n"
        "import cadence.events, cadence.reporters, cadence.diagram, cadence.timeline\n"
        "from cadence import LoggingHooks, TimingHooks, TracingHooks\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('prometheus_client', 'opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_reporter_name() -> None:
    """A wrong name in cadence.reporters raises AttributeError."""
    import cadence.reporters

    with pytest.raises(AttributeError):
        _ = cadence.reporters.NoSuchReporter  # type: ignore[attr-defined]
