"""Hook overhead per step, reported as ratios to the same cadence without hooks.

A cadence of 100 sequential no-op async steps runs with each observer attached in turn; the
variants are interleaved round by round in one process, and the best round of each is kept.

* ``no hooks``                — the baseline (the runner's fast path).
* ``empty CadenceHooks``      — a hooks object overriding nothing: the cost of the observed path.
* ``LoggingHooks, off``       — the logger is disabled for INFO (the usual production setting).
* ``LoggingHooks, on``        — INFO records formatted into an in-memory stream.
* ``EventEmitter, 1 listener`` — one ``"*"`` listener counting events.
* ``TimingHooks``, ``PrometheusReporter`` (hooks), ``OpenTelemetryReporter`` (hooks, SDK
  provider with no exporter) — for reference.

With ``--compare`` the same probe (no hooks, one-listener emitter, LoggingHooks off) runs in
two child interpreters, this checkout and ``cadence-orchestration==0.7.2`` (its own venv, see
``_baseline.py``), alternating round by round so both see the same machine load; the best
round of each is compared.

Times are CPU time of the benchmarking process (``time.process_time``): the loop is one
thread doing no I/O, so that is its whole cost, and other processes on a shared machine do not
add their share to it the way they add to wall-clock time. (They still slow it through caches
and clock frequency; compare ratios taken in the same run, not figures from different runs.)

Run: ``python benchmarks/bench_hooks.py [--steps N] [--runs N] [--rounds N] [--compare]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._baseline import OLD_VERSION, old_python  # noqa: E402
from cadence import Cadence, CadenceHooks, LoggingHooks, TimingHooks  # noqa: E402
from cadence.events import EventEmitter  # noqa: E402


class Box:
    """A minimal score."""

    n = 0


async def noop(score: Any) -> None:
    return None


def _logging(enabled: bool) -> LoggingHooks:
    name = f"bench.hooks.{'on' if enabled else 'off'}"
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers[:] = []
    if enabled:
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)
    return LoggingHooks(name)


def _emitter() -> EventEmitter:
    count = [0]

    def listener(event: Any) -> None:
        count[0] += 1

    return EventEmitter().on("*", listener)


def _prometheus() -> Any:
    from prometheus_client import CollectorRegistry

    from cadence.reporters import PrometheusReporter

    return PrometheusReporter(prefix="bench", registry=CollectorRegistry())


def _otel() -> Any:
    from opentelemetry.sdk.trace import TracerProvider

    from cadence.reporters import OpenTelemetryReporter

    return OpenTelemetryReporter(tracer_provider=TracerProvider())


VARIANTS: list[tuple[str, Callable[[], Any] | None]] = [
    ("no hooks", None),
    ("empty CadenceHooks", CadenceHooks),
    ("LoggingHooks, off", lambda: _logging(False)),
    ("LoggingHooks, on", lambda: _logging(True)),
    ("EventEmitter, 1 listener", _emitter),
    ("TimingHooks", TimingHooks),
    ("PrometheusReporter", _prometheus),
    ("OpenTelemetryReporter", _otel),
]


def _reset_streams() -> None:
    for handler in logging.getLogger("bench.hooks.on").handlers:
        stream = getattr(handler, "stream", None)
        if isinstance(stream, io.StringIO):
            stream.seek(0)
            stream.truncate()


async def measure(steps: int, runs: int, rounds: int) -> dict[str, float]:
    """Best µs per step for each variant."""
    cadences: dict[str, Cadence[Any]] = {}
    for label, factory in VARIANTS:
        cadence = Cadence(f"bench-{label}", Box())
        for i in range(steps):
            cadence.then(f"s{i}", noop)
        if factory is not None:
            cadence.with_hooks(factory())
        cadences[label] = cadence
    best = {label: float("inf") for label, _ in VARIANTS}
    score = Box()
    for _ in range(rounds):
        for label, cadence in cadences.items():
            _reset_streams()
            t0 = time.process_time()
            for _ in range(runs):
                await cadence.run(score)
            per_step = (time.process_time() - t0) / runs / steps
            best[label] = min(best[label], per_step * 1e6)
    return best


# One round of the probe, written against the API both versions share; prints µs per step.
PROBE = textwrap.dedent(
    """
    import asyncio, json, logging, sys, time
    from cadence import Cadence
    from cadence.events import EventEmitter
    try:
        from cadence import LoggingHooks
    except ImportError:  # 0.7.2 exports it from cadence.hooks only
        from cadence.hooks import LoggingHooks

    STEPS, RUNS = int(sys.argv[1]), int(sys.argv[2])

    class Box:
        n = 0

    async def noop(score):
        return None

    def build(hooks):
        cadence = Cadence("probe", Box())
        for i in range(STEPS):
            cadence.then(f"s{i}", noop)
        if hooks is not None:
            cadence.with_hooks(hooks)
        return cadence

    def listener(event):
        listener.count += 1

    listener.count = 0
    off = logging.getLogger("bench.probe.off")
    off.setLevel(logging.WARNING)
    off.propagate = False
    variants = {
        "no hooks": build(None),
        "EventEmitter, 1 listener": build(EventEmitter().on("*", listener)),
        "LoggingHooks, off": build(LoggingHooks("bench.probe.off")),
    }

    async def main():
        out = {}
        for label, cadence in variants.items():
            await cadence.run()
            t0 = time.process_time()
            for _ in range(RUNS):
                await cadence.run()
            out[label] = (time.process_time() - t0) / RUNS / STEPS * 1e6
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def compare(steps: int, runs: int, rounds: int) -> dict[str, dict[str, float]]:
    """Best µs/step of the probe for this checkout and for 0.7.2, rounds interleaved."""
    pythons = {"this checkout": (Path(sys.executable), str(ROOT)), OLD_VERSION: (old_python(), "/")}
    best: dict[str, dict[str, float]] = {name: {} for name in pythons}
    for _ in range(rounds):
        for name, (py, cwd) in pythons.items():
            out = subprocess.run(
                [str(py), "-c", PROBE, str(steps), str(runs)],
                capture_output=True,
                text=True,
                check=True,
                cwd=cwd,
            )
            for label, value in json.loads(out.stdout).items():
                best[name][label] = min(best[name].get(label, float("inf")), value)
    return best


def print_comparison(best: dict[str, dict[str, float]]) -> None:
    new, old = best["this checkout"], best[OLD_VERSION]
    print(
        f"\nsame probe, this checkout vs cadence-orchestration {OLD_VERSION} (rounds interleaved)"
    )
    print(f"{'variant':<26} {'new µs':>8} {'0.7.2 µs':>9} {'new/0.7.2':>10}")
    for label in new:
        print(f"{label:<26} {new[label]:8.3f} {old[label]:9.3f} {new[label] / old[label]:9.2f}×")
    emitter = new["EventEmitter, 1 listener"]
    print(
        f"targets: emitter ≤ 1 µs/step ({emitter:.3f}) and ≤ 0.3× 0.7.2 "
        f"({emitter / old['EventEmitter, 1 listener']:.2f}×); LoggingHooks off ≤ 0.5 µs/step "
        f"({new['LoggingHooks, off']:.3f}); no hooks ≤ 0.5 µs/step ({new['no hooks']:.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compare", action="store_true", help=f"also run {OLD_VERSION} (PyPI)")
    args = parser.parse_args()
    best = asyncio.run(measure(args.steps, args.runs, args.rounds))
    base = best["no hooks"]
    print(f"per-step cost over {args.steps} sequential no-op steps (best of {args.rounds} rounds)")
    print(f"{'variant':<26} {'µs/step':>9} {'ratio':>8} {'added µs/step':>14}")
    for label, _ in VARIANTS:
        value = best[label]
        print(f"{label:<26} {value:9.3f} {value / base:7.1f}× {value - base:14.3f}")
    if args.compare:
        print_comparison(compare(args.steps, args.runs, args.rounds))


if __name__ == "__main__":
    main()
