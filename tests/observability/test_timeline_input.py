"""Timeline input: malformed recordings are refused by name; hostile names stay inert text."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from cadence import Cadence, note, testing
from cadence.timeline import RunRecorder, load_events, timeline_command, write_timeline

from ._support import Order

HOSTILE = "</script><script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{}", "expected a JSON list of events"),
        ("[1]", "event #0 is a int, not a JSON object"),
        ('[{"cadence_name": "c", "monotonic": 1}]', "event #0 has no string 'event_type'"),
        ('[{"event_type": "note.started", "monotonic": 1}]', "no string 'cadence_name'"),
        (
            '[{"event_type": "note.started", "cadence_name": "c", "monotonic": null}]',
            "no numeric 'monotonic'",
        ),
        ("[", "not a JSON file of events"),
    ],
)
def test_load_events_refuses_what_is_not_a_recording(
    tmp_path: Path, content: str, expected: str
) -> None:
    """load_events raises ValueError naming the file and the first bad event."""
    path = tmp_path / "events.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(expected)) as info:
        load_events(path)
    assert str(path) in str(info.value)


def test_write_timeline_refuses_a_list_without_event_fields(tmp_path: Path) -> None:
    """A list of dicts lacking the event fields is a ValueError, not a KeyError deep inside."""
    with pytest.raises(ValueError, match="event #1 has no numeric 'monotonic'"):
        write_timeline(
            [
                {"event_type": "note.started", "cadence_name": "c", "monotonic": 0.0},
                {"event_type": "note.completed", "cadence_name": "c"},
            ],
            tmp_path / "t.html",
        )


def test_timeline_command_reports_a_run_that_never_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cadence that fails before its first event raises that failure's text."""
    (tmp_path / "obs_tl_nostart.py").write_text(
        textwrap.dedent(
            """
            from cadence import Approval, Cadence

            async def step(score):
                pass

            parks = Cadence("parks", {}).then("step", step).wait("approve", Approval())
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ValueError, match=r"failed before it started.*checkpoint"):
            timeline_command("obs_tl_nostart:parks", output=tmp_path / "t.html")
    finally:
        sys.modules.pop("obs_tl_nostart", None)
    assert not (tmp_path / "t.html").exists()


async def test_hostile_names_and_errors_are_escaped(tmp_path: Path) -> None:
    """Step, cadence and error texts with markup become text: one script tag, no injected tags."""

    async def ok(score: Order) -> None:
        pass

    @note(retry=2)
    async def bad(score: Order) -> None:
        raise ValueError(HOSTILE)

    child = Cadence(HOSTILE + "child", Order()).then(HOSTILE + "c", ok)
    recorder = RunRecorder()
    cadence = (
        Cadence(HOSTILE, Order())
        .with_hooks(recorder)
        .sync(HOSTILE + "g", [ok, ok])
        .child(HOSTILE + "ch", child, lambda parent, child_score: None)
        .then(HOSTILE + "b", bad)
    )
    with testing.testing_mode(attempts=None), pytest.raises(Exception, match="alert"):
        await cadence.run()
    html = write_timeline(recorder, tmp_path / "t.html").read_text(encoding="utf-8")
    assert html.count("<script") == 1 and html.count("</script>") == 1
    assert "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html
