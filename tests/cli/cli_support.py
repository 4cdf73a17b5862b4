"""Helpers for the CLI tests: run ``cadence`` in-process or as a real subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from cadence.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """What a CLI invocation produced."""

    code: int
    out: str
    err: str

    def one_line_error(self) -> str:
        """The stderr text, asserting it is a single line without a traceback."""
        text = self.err.strip()
        assert "Traceback" not in text, text
        assert text and "\n" not in text, text
        return text


def cadence(*args: str, stdin: str = "") -> Result:
    """Run ``cadence ARGS`` in this process (fast; argparse exits are captured)."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def cadence_process(*args: str, cwd: Path, stdin: str = "") -> Result:
    """Run ``python -m cadence ARGS`` as a user would, in ``cwd``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "cadence", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
