"""The run timeline: recording, bars and lanes, a self-contained page, and Chromium's view of it."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from cadence import Cadence, ParallelNoteError, note, testing
from cadence.timeline import (
    RunRecorder,
    build_bars,
    event_to_dict,
    timeline_command,
    write_timeline,
)

from ._support import Order

NOTE_NAMES = (
    "validate",
    "enrich",
    "profile",
    "flaky_history",
    "slow_prices",
    "pay",
    "authorize",
    "capture",
    "notify",
    "email",
    "sms_fails",
)


async def validate(score: Order) -> None:
    await asyncio.sleep(0.002)


async def profile(score: Order) -> None:
    await asyncio.sleep(0.003)


async def slow_prices(score: Order) -> None:
    await asyncio.sleep(0.008)


async def authorize(score: Order) -> None:
    await asyncio.sleep(0.002)


async def capture(score: Order) -> None:
    await asyncio.sleep(0.002)


async def email(score: Order) -> None:
    await asyncio.sleep(0.05)


async def sms_fails(score: Order) -> None:
    await asyncio.sleep(0.002)
    raise ConnectionError("SMS gateway down")


async def recorded_run() -> RunRecorder:
    """A failing run with a .sync group, a retry, a .child cadence and a cancelled task."""
    attempts: list[int] = []

    @note(retry={"max_attempts": 3, "delay": 0.5})
    async def flaky_history(score: Order) -> None:
        attempts.append(1)
        await asyncio.sleep(0.002)
        if len(attempts) == 1:
            raise TimeoutError("history service slow")

    payment = Cadence("payment", Order()).then("authorize", authorize).then("capture", capture)
    recorder = RunRecorder()
    cadence = (
        Cadence("checkout", Order())
        .with_hooks(recorder)
        .then("validate", validate)
        .sync("enrich", [profile, flaky_history, slow_prices])
        .child("pay", payment, lambda parent, child: None)
        .sync("notify", [email, sms_fails])
    )
    with testing.testing_mode(attempts=None), pytest.raises(ParallelNoteError):
        await cadence.run()
    return recorder


async def test_bars_lanes_and_marks() -> None:
    """Steps share lane 0, parallel tasks get their own lanes, retries/failures/cancels are marked."""
    recorder = await recorded_run()
    bars, info = build_bars([event_to_dict(e) for e in recorder.events])
    by = {b.name: b for b in bars}
    assert set(by) == set(NOTE_NAMES)
    assert info["cadence"] == "checkout" and info["status"] == "failed"
    assert {by[n].lane for n in ("validate", "enrich", "pay", "notify")} == {0}
    assert len({by[n].lane for n in ("profile", "flaky_history", "slow_prices")}) == 3
    assert 0 not in {by[n].lane for n in ("profile", "flaky_history", "slow_prices")}
    assert (by["enrich"].kind, by["pay"].kind, by["profile"].kind) == ("sync", "child", "task")
    assert [r["attempt"] for r in by["flaky_history"].retries] == [1]
    assert by["sms_fails"].status == "failed" and "SMS gateway down" in (
        by["sms_fails"].error or ""
    )
    assert by["email"].status == "cancelled"
    assert by["authorize"].cadence == "payment"
    for bar in bars:
        assert bar.end is not None and 0 <= bar.start <= bar.end <= info["total"]


async def test_html_is_self_contained(tmp_path: Path) -> None:
    """The page loads nothing from the network: no external scripts, styles, fonts or images."""
    path = write_timeline(await recorded_run(), tmp_path / "run.html")
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", "src=", "<link", "@import", "url("):
        assert forbidden not in html
    for name in NOTE_NAMES:
        assert f'data-note="{name}"' in html


async def test_saved_events_round_trip(tmp_path: Path) -> None:
    """RunRecorder.save writes JSON that write_timeline (and the CLI) turn into the same page."""
    recorder = await recorded_run()
    events = recorder.save(tmp_path / "events.json")
    direct = write_timeline(recorder, tmp_path / "a.html").read_text()
    from_json = write_timeline(events, tmp_path / "b.html").read_text()
    assert direct == from_json
    assert timeline_command(str(events), output=tmp_path / "c.html").read_text() == direct


async def test_recorder_keeps_concurrent_runs_apart() -> None:
    """Concurrent runs are recorded separately; max_runs bounds memory."""
    recorder = RunRecorder(max_runs=3)
    cadence = Cadence("c", Order()).with_hooks(recorder).then("validate", validate)
    await asyncio.gather(*(cadence.run(Order()) for _ in range(5)))
    assert len(recorder.run_keys) == 3
    for key in recorder.run_keys:
        assert [e.event_type for e in recorder.events_for(key)] == [
            "cadence.started",
            "note.started",
            "note.completed",
            "cadence.completed",
        ]
    recorder.clear()
    assert recorder.events == ()
    with pytest.raises(ValueError, match="no events"):
        write_timeline(recorder, "unused.html")


def test_timeline_command_runs_a_cadence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cadence timeline module:attr` runs the cadence once and draws it, failure included."""
    (tmp_path / "obs_tl_mod.py").write_text(
        "from cadence import Cadence\n"
        "def ok(s): pass\n"
        "def bad(s): raise RuntimeError('nope')\n"
        "flow = Cadence('flow', object()).then('first', ok).then('second', bad)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        html = timeline_command("obs_tl_mod:flow", output=tmp_path / "t.html").read_text()
    finally:
        sys.modules.pop("obs_tl_mod", None)
    assert 'data-note="first"' in html and 'data-note="second"' in html
    assert "RuntimeError: nope" in html


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    assert exe is not None, "headless Chromium is required: apt-get install chromium"
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--window-size=1200,800",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
async def test_chromium_renders_the_timeline(tmp_path: Path) -> None:
    """Headless Chromium loads the page without script errors, shows every note, opens a card."""
    recorder = await recorded_run()
    page = write_timeline(recorder, tmp_path / "timeline.html")
    shot = tmp_path / "timeline.png"
    url = page.resolve().as_uri()

    taken = _chromium(url, tmp_path, f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert "Uncaught" not in taken.stderr
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 800)

    dumped = _chromium(url + "#note=flaky_history", tmp_path, "--dump-dom")
    assert dumped.returncode == 0 and "Uncaught" not in dumped.stderr
    dom = dumped.stdout
    assert set(re.findall(r'class="bar [^"]*"[^>]*data-note="([^"]+)"', dom)) == set(NOTE_NAMES)
    assert re.search(r'<div id="tip" role="tooltip"(?! hidden)[^>]*>', dom)
    tip = re.search(r'<div id="tip"[^>]*>(.*?)</div>', dom, flags=re.S)
    assert tip is not None and "flaky_history" in tip.group(1)
    assert "retry after attempt 1/3" in tip.group(1)


async def test_event_list_of_several_runs_draws_the_last_finished() -> None:
    """A flat list of events from several runs is drawn for the last run that finished."""
    recorder = RunRecorder()
    cadence = Cadence("c", Order()).with_hooks(recorder).then("validate", validate)
    await cadence.run()
    await cadence.run()
    everything = [e for key in recorder.run_keys for e in recorder.events_for(key)]
    bars, _ = build_bars(
        [event_to_dict(e) for e in everything if e.run_key == recorder.run_keys[-1]]
    )
    from cadence.timeline import _as_dicts

    assert [e["run_key"] for e in _as_dicts(everything)] == [recorder.run_keys[-1]] * 4
    assert [b.name for b in bars] == ["validate"]
