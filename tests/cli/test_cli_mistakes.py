"""Mistakes around `timeline`, `wake` and `--registry`: one line on stderr, exit 1, no traceback."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from cli_support import cadence

from cadence.timeline import RunRecorder

APP = """
from dataclasses import dataclass

from cadence import Approval, Cadence


@dataclass
class S:
    x: int = 0


async def inc(score):
    score.x += 1


flow = Cadence("flow", S()).then("inc", inc)
parks = Cadence("parks", S()).then("inc", inc).wait("approve", Approval())
"""


@pytest.fixture
def app(workdir):
    """A module `tlapp` with a plain cadence and one that needs a checkpoint store to run."""
    (workdir / "tlapp.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    (workdir / "regboom.py").write_text("raise TypeError('bad registry module')\n")
    return workdir


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "event #0 is a int, not a JSON object"),
        ('[{"x": 1}]', "event #0 has no string 'event_type'"),
        (
            '[{"event_type": "note.started", "cadence_name": "c", "monotonic": "soon"}]',
            "no numeric 'monotonic'",
        ),
        ("not json", "not a JSON file of events"),
    ],
)
def test_timeline_of_a_malformed_recording_is_one_line(app, content: str, expected: str) -> None:
    """A JSON file that is not a RunRecorder recording is named in one line, not a traceback."""
    (app / "events.json").write_text(content, encoding="utf-8")
    result = cadence("timeline", "events.json", "-o", "t.html")
    assert result.code == 1
    line = result.one_line_error()
    assert "events.json" in line and expected in line and "RunRecorder.save" in line


def test_timeline_of_a_missing_recording_names_the_file(app) -> None:
    """A .json path that does not exist: one line naming it and what to give instead."""
    result = cadence("timeline", "nope.json")
    assert result.code == 1
    assert "no such file: nope.json" in result.one_line_error()


def test_timeline_shows_why_a_cadence_could_not_start(app) -> None:
    """A run that fails before its first event reports that failure, not "no events to draw"."""
    result = cadence("timeline", "tlapp:parks", "-o", "t.html")
    assert result.code == 1
    line = result.one_line_error()
    assert "checkpoint" in line and "no events to draw" not in line
    assert not (app / "t.html").exists()


def test_timeline_to_a_missing_directory_is_one_line(app) -> None:
    """-o into a directory that does not exist names the path and the option."""
    result = cadence("timeline", "tlapp:flow", "-o", "no/such/dir/t.html")
    assert result.code == 1
    assert "cannot write no/such/dir/t.html" in result.one_line_error()


def test_timeline_of_a_good_recording_still_works(app) -> None:
    """A file saved by RunRecorder.save is drawn."""
    assert cadence("timeline", "tlapp:flow", "-o", "a.html").code == 0
    import tlapp

    recorder = RunRecorder()
    asyncio.run(tlapp.flow.with_hooks(recorder).run())
    recorder.save(app / "run.json")
    assert json.loads((app / "run.json").read_text())
    assert cadence("timeline", "run.json", "-o", "b.html").code == 0
    assert "inc" in (app / "b.html").read_text()


def test_wake_without_a_checkpoint_store_is_one_line(app) -> None:
    """`cadence wake` on a cadence without a store says so in one line, like `cadence waits`."""
    result = cadence("wake", "tlapp:flow")
    assert result.code == 1
    assert "no checkpoint store" in result.one_line_error()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nosuchmodule:REG", "cannot import 'nosuchmodule'"),
        ("tlapp:NOPE", "has no attribute 'NOPE'"),
        ("regboom:REG", "TypeError: bad registry module"),
    ],
)
def test_a_registry_that_does_not_import_is_one_line(app, spec: str, expected: str) -> None:
    """--registry module:attr that fails to import names the option, the module and a fix."""
    result = cadence("validate", "tlapp.py", "--registry", spec)
    assert result.code == 1
    line = result.one_line_error()
    assert line.startswith(f"cadence: error: --registry {spec}") and expected in line
    assert "(fix:" in line
