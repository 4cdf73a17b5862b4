"""Validator speed: ``check_source`` on a 500-line module, and composition checking + build.

Each figure is reported next to a baseline measured in the same process: ``ast.parse`` of the
same text (the floor any AST checker pays). Target (issue 7): under 50 ms for a 500-line file.

Run: ``python benchmarks/bench_validate.py``.
"""

from __future__ import annotations

import ast
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cadence.validate import build, check_source  # noqa: E402

HEADER = """from dataclasses import dataclass, field

from cadence import Cadence, Score, note


@dataclass
class S(Score):
    query: str = ""
    items: list = field(default_factory=list)
    total: float = 0.0
    status: str = "new"

"""

NOTE = '''
@note(retry={{"max_attempts": 3, "backoff": "exponential"}}, timeout=5.0, fallback={{"default": 0, "field": "total"}})
async def step_{i}(score: S) -> None:
    """Step {i}."""
    score.items.append({i})
    score.total += {i}

'''


def module_source(lines: int = 500) -> str:
    """A realistic module of about ``lines`` lines: notes, then cadences chaining them."""
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < lines - 40:
        parts.append(NOTE.format(i=i))
        i += 1
    chain = "\n".join(f'    .then("s{k}", step_{k})' for k in range(i))
    parts.append(f'\npipeline = (\n    Cadence("bench", S())\n{chain}\n)\n')
    parts.append(
        f'\nfanout = Cadence("fan", S()).sync("all", [{", ".join(f"step_{k}" for k in range(i))}])\n'
    )
    return "".join(parts)


def timed(fn: Callable[[], object], repeat: int = 30) -> float:
    """Median seconds of ``fn`` over ``repeat`` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> int:
    text = module_source()
    n_lines = text.count("\n")
    assert check_source(text) == [], check_source(text)[:3]
    parse = timed(lambda: ast.parse(text))
    check = timed(lambda: check_source(text))
    print(
        f"module mode, {n_lines} lines: check_source {check * 1e3:.2f} ms "
        f"(ast.parse alone {parse * 1e3:.2f} ms; ratio {check / parse:.1f}x)"
    )

    names = [f"n{k}" for k in range(50)]
    registry = {name: (lambda score: None) for name in names}
    comp = 'Cadence("c", score)' + "".join(f'.then("s{k}", n{k % 50})' for k in range(150))
    comp_parse = timed(lambda: ast.parse(comp, mode="eval"))
    comp_check = timed(lambda: check_source(comp, registry=registry, mode="composition"))
    comp_build = timed(lambda: build(comp, registry, score=None))
    print(
        f"composition mode, 150 steps ({len(comp)} chars): check {comp_check * 1e3:.2f} ms, "
        f"build {comp_build * 1e3:.2f} ms (ast.parse alone {comp_parse * 1e3:.2f} ms; "
        f"ratios {comp_check / comp_parse:.1f}x / {comp_build / comp_parse:.1f}x)"
    )

    hostile = "(" * 190 + ")" * 190
    big = "x" * 1_000_000
    print(
        f"rejecting hostile input: 190-deep parens {timed(lambda: check_source(hostile, mode='composition')) * 1e3:.2f} ms, "
        f"1 MB text {timed(lambda: check_source(big, mode='composition')) * 1e6:.1f} µs (size check before parsing)"
    )
    verdict = "OK" if check < 0.050 else "SLOW"
    print(f"target < 50 ms for a 500-line file: {verdict}")
    return 0 if check < 0.050 else 1


if __name__ == "__main__":
    sys.exit(main())
