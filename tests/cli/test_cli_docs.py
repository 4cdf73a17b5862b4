"""docs/cli.md: the walkthrough's commands run in order and succeed, as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from cli_support import ROOT

DOC = ROOT / "docs" / "cli.md"


def _walkthrough() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"## A first project.*?```console\n(.*?)```", text, re.S)
    assert block is not None
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("$ ")]


def test_walkthrough_commands_all_succeed(tmp_path: Path) -> None:
    """Each `$ ...` line of the first-project walkthrough exits 0 in a fresh directory."""
    commands = _walkthrough()
    assert len(commands) >= 10
    cwd = tmp_path
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        if argv[0] == "cadence":
            argv = [sys.executable, "-m", "cadence", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    assert (cwd / "pipeline.mmd").is_file() and (cwd / "run.html").is_file()


def test_documented_run_output_matches(tmp_path: Path) -> None:
    """The JSON shown for `cadence run` in the docs is what the command prints."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "cadence"]
    subprocess.run([*run, "init", "shop"], cwd=tmp_path, env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [*run, "run", "cadences:sample_cadence", "--score", '{"text": "hello   cadence world"}'],
        cwd=tmp_path / "shop",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    text = DOC.read_text(encoding="utf-8")
    shown = re.search(r"score as JSON:\n\n```text\n(.*?)```", text, re.S)
    assert shown is not None and proc.stdout.strip() == shown.group(1).strip()
