"""Run every benchmark in this folder (``make bench``), each in its own interpreter.

Each benchmark prints its figures as ratios against a baseline measured in the same process;
this runner only sequences them and reports which failed. Pass names to run a subset:
``python benchmarks/run_all.py core hooks``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTRA_ARGS = {"bench_core.py": ["--compare"], "bench_hooks.py": ["--compare"]}


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(s.stem == f"bench_{a}" for a in argv)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script), *EXTRA_ARGS.get(script.name, [])], cwd=HERE.parent
        )
        print(
            f"--- {script.stem}: exit {proc.returncode} in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        if proc.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
