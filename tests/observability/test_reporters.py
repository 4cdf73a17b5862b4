"""Reporters are hooks: the Reporter base, with_reporter, console and JSON reporters, and
lazy loading of the heavy reporters."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from cadence import Cadence, CadenceHooks, NoteError
from cadence.reporters import (
    ConsoleReporter,
    JsonReporter,
    Reporter,
    console_reporter,
    json_reporter,
)

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


class Collect(Reporter):
    """A reporter that only writes ``report``: what a new reporter takes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.seen: list[str] = []

    async def report(self, note_name: str, elapsed: float, score: object) -> None:
        assert elapsed >= 0
        self.seen.append(note_name)


def nested() -> Cadence[Order]:
    child = Cadence("child", Order()).then("inner", fetch)
    return (
        Cadence("parent", Order())
        .then("first", fetch)
        .child("sub", child, lambda parent, child_score: None)
        .sync("pair", [fetch, fetch])
    )


async def test_with_reporter_attaches_a_hook_that_reports_its_own_cadence() -> None:
    """with_reporter(fn) is a Reporter among the hooks; fn gets this cadence's steps and total."""
    seen: list[str] = []
    cadence = nested().with_reporter(lambda name, elapsed, score: seen.append(name))
    (reporter,) = cadence.hooks.hooks
    assert isinstance(reporter, Reporter) and isinstance(reporter, CadenceHooks)
    await cadence.run()
    assert seen == ["first", "sub", "pair", "parent:TOTAL"]


async def test_a_reporter_attached_as_hooks_also_reports_child_cadences() -> None:
    """with_hooks(reporter) reports every cadence it runs under, children included."""
    everywhere, parent_only = Collect(), Collect(cadence_name="parent")
    await nested().with_hooks(everywhere).with_hooks(parent_only).run()
    assert everywhere.seen == ["first", "inner", "child:TOTAL", "sub", "pair", "parent:TOTAL"]
    assert parent_only.seen == ["first", "sub", "pair", "parent:TOTAL"]


async def test_a_failing_reporter_is_logged_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reporter that raises is logged on cadence.reporters; the steps still run."""

    def broken(name: str, elapsed: float, score: object) -> None:
        raise RuntimeError("disk full")

    score = Order()
    with caplog.at_level("ERROR", logger="cadence.reporters"):
        await Cadence("c", score).with_reporter(broken).then("fetch", fetch).run()
    assert score.items == ["book"]
    assert [r.getMessage().split(" failed")[0] for r in caplog.records] == [
        f"reporter CallableReporter({broken!r})"
    ] * 2


async def test_failed_steps_are_not_reported_but_the_total_is() -> None:
    """A step that failed reaches no reporter; the run's total is reported all the same."""
    seen: list[str] = []

    async def bad(score: Order) -> None:
        raise ValueError("no stock")

    cadence = (
        Cadence("c", Order())
        .with_reporter(lambda name, elapsed, score: seen.append(name))
        .then("fetch", fetch)
        .then("bad", bad)
    )
    with pytest.raises(NoteError, match="no stock"):
        await cadence.run()
    assert seen == ["fetch", "c:TOTAL"]
