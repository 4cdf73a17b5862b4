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

Run: ``python benchmarks/bench_hooks.py [--steps N] [--runs N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
            t0 = time.perf_counter()
            for _ in range(runs):
                await cadence.run(score)
            per_step = (time.perf_counter() - t0) / runs / steps
            best[label] = min(best[label], per_step * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    best = asyncio.run(measure(args.steps, args.runs, args.rounds))
    base = best["no hooks"]
    print(f"per-step cost over {args.steps} sequential no-op steps (best of {args.rounds} rounds)")
    print(f"{'variant':<26} {'µs/step':>9} {'ratio':>8} {'added µs/step':>14}")
    for label, _ in VARIANTS:
        value = best[label]
        print(f"{label:<26} {value:9.3f} {value / base:7.1f}× {value - base:14.3f}")


if __name__ == "__main__":
    main()
