"""The cadence-orchestration 0.7.2 baseline: its own virtualenv, made once from PyPI.

The old package is installed with pip into a separate venv and only ever run there, in a
child interpreter, so its code is measured but never imported here. The venv lives in
``~/.cache/cadence/bench-venv-0.7.2`` unless ``CADENCE_BENCH_OLD_VENV`` names another place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OLD_VERSION = "0.7.2"


def old_venv() -> Path:
    """Where the 0.7.2 venv is (or will be made)."""
    default = Path("~/.cache/cadence/bench-venv-0.7.2").expanduser()
    return Path(os.environ.get("CADENCE_BENCH_OLD_VENV", default))


def old_python() -> Path:
    """The 0.7.2 venv's interpreter, creating the venv on first use."""
    venv = old_venv()
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", f"cadence-orchestration=={OLD_VERSION}"],
            check=True,
        )
    return py
