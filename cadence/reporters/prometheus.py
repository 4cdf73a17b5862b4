"""Prometheus metrics for cadence runs (needs ``prometheus-client``; loaded only when used).

Metric families (``<p>`` is the reporter's prefix; label names in braces)::

    <p>_cadence_duration_seconds   histogram {cadence}            every finished run
    <p>_cadence_runs_total         counter   {cadence}            every finished run
    <p>_cadence_failures_total     counter   {cadence, code}      runs that raised   (hooks)
    <p>_cadence_runs_in_progress   gauge     {cadence}            runs started, not ended (hooks)
    <p>_note_duration_seconds      histogram {cadence, note}      steps (+ group tasks with hooks)
    <p>_note_failures_total        counter   {cadence, note, code}                   (hooks)
    <p>_note_retries_total         counter   {cadence, note}      retries            (hooks)
    <p>_circuit_open_total         counter   {cadence, note}      calls an open breaker refused (hooks)

``code`` is the error's cadence code (``TIMEOUT``, ``CIRCUIT_OPEN``, ``NOTE_ERROR`` ...) or
the exception's class name.

**Collision rule.** Metrics are registered once per (registry, prefix): every reporter created
with the same prefix on the same registry shares the same metric families, so creating many
reporters in one process (one per cadence, per test, per app reload) never raises "Duplicated
timeseries". Reporters with different prefixes get separate families. By default the metrics
go to ``prometheus_client.REGISTRY`` (what ``start_http_server()`` exposes); pass
``registry=CollectorRegistry()`` to keep them apart.
"""

from __future__ import annotations

import math
import numbers
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from cadence._observe._base import CadenceHooks, is_failure
from cadence._observe._reporter import TOTAL_SUFFIX, StepBuffer
from cadence._observe._track import Tracker

__all__ = ["PrometheusReporter"]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_INSTALL = "pip install 'cadence-orchestration[prometheus]'"
_lock = threading.Lock()
_families: weakref.WeakKeyDictionary[Any, dict[str, _Families]] = weakref.WeakKeyDictionary()


def _load() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"PrometheusReporter needs prometheus-client: {_INSTALL}") from exc
    return prometheus_client


def _code(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else type(error).__name__


def _check_buckets(buckets: Any) -> tuple[float, ...] | None:
    """``buckets`` as increasing floats without the final +Inf, or ``None`` for the defaults.

    Checked here because prometheus-client accepts repeated and NaN bounds and then serves
    two series with the same ``le`` (Prometheus rejects the whole scrape), and its other
    complaints would surface as a registration clash.
    """
    if buckets is None:
        return None
    example = "e.g. buckets=(0.1, 0.5, 1, 5, 30)"
    if isinstance(buckets, (str, bytes)) or not isinstance(buckets, Iterable):
        raise TypeError(f"buckets must be a sequence of seconds ({example}), got {buckets!r}")
    bounds: list[float] = []
    for bound in buckets:
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or math.isnan(bound):
            raise ValueError(f"buckets must be numbers of seconds ({example}), got {bound!r}")
        if bounds and bound <= bounds[-1]:
            raise ValueError(
                f"buckets must be strictly increasing ({example}), got {[*bounds, bound]!r}"
            )
        bounds.append(float(bound))
    if not bounds:
        return None  # as before: an empty list means prometheus-client's defaults
    if bounds[-1] == math.inf:
        bounds.pop()  # prometheus-client adds the +Inf bucket itself
        if not bounds:
            raise ValueError(f"buckets needs a finite bound besides +Inf ({example})")
    return tuple(bounds)


def _is_circuit_open(error: BaseException) -> bool:
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        if getattr(current, "code", None) == "CIRCUIT_OPEN":
            return True
        current = getattr(current, "original_error", None) or current.__cause__
        seen += 1
    return False


class _Families:
    """The metric objects of one (registry, prefix)."""

    def __init__(
        self, prom: Any, prefix: str, registry: Any, buckets: tuple[float, ...] | None
    ) -> None:
        self.buckets = buckets
        hist: dict[str, Any] = {"registry": registry}
        if buckets is not None:
            hist["buckets"] = buckets
        reg = {"registry": registry}
        p = prefix
        self.cadence_duration = prom.Histogram(
            f"{p}_cadence_duration_seconds", "Duration of cadence runs.", ["cadence"], **hist
        )
        self.runs = prom.Counter(f"{p}_cadence_runs", "Finished cadence runs.", ["cadence"], **reg)
        self.cadence_failures = prom.Counter(
            f"{p}_cadence_failures", "Cadence runs that failed.", ["cadence", "code"], **reg
        )
        self.in_progress = prom.Gauge(
            f"{p}_cadence_runs_in_progress", "Cadence runs in progress.", ["cadence"], **reg
        )
        self.note_duration = prom.Histogram(
            f"{p}_note_duration_seconds",
            "Duration of notes (steps and group tasks).",
            ["cadence", "note"],
            **hist,
        )
        self.note_failures = prom.Counter(
            f"{p}_note_failures", "Notes that failed.", ["cadence", "note", "code"], **reg
        )
        self.retries = prom.Counter(
            f"{p}_note_retries",
            "Retries of a note after a failed attempt.",
            ["cadence", "note"],
            **reg,
        )
        self.circuit_open = prom.Counter(
            f"{p}_circuit_open",
            "Calls refused because a circuit breaker was open.",
            ["cadence", "note"],
            **reg,
        )


def _families_for(
    prom: Any, registry: Any, prefix: str, buckets: tuple[float, ...] | None
) -> _Families:
    with _lock:
        per_registry = _families.setdefault(registry, {})
        existing = per_registry.get(prefix)
        if existing is not None:
            if buckets is not None and existing.buckets != buckets:
                raise ValueError(
                    f"metrics with prefix {prefix!r} already exist on this registry with buckets "
                    f"{existing.buckets}; reuse them (omit buckets=) or choose another prefix"
                )
            return existing
        try:
            created = _Families(prom, prefix, registry, buckets)
        except ValueError as exc:
            raise ValueError(
                f"cannot register cadence metrics with prefix {prefix!r}: {exc}; another library "
                "registered these names; pick another prefix or pass registry=CollectorRegistry()"
            ) from exc
        per_registry[prefix] = created
        return created


class PrometheusReporter(CadenceHooks):
    """Prometheus histograms and counters for runs and notes.

    Use ``.report`` with ``Cadence.with_reporter`` for step and run durations and run counts;
    attach the reporter itself with ``Cadence.with_hooks`` to also get group tasks, failures,
    retries, open breakers and runs in progress (then ``.report`` steps aside, so using both
    never counts twice).

    Args:
        prefix: Metric name prefix (``myapp`` gives ``myapp_note_duration_seconds``).
        track_active_flows: Keep the runs-in-progress gauge (``<p>_cadence_runs_in_progress``).
        registry: A ``prometheus_client.CollectorRegistry``; the default registry when omitted.
        buckets: Histogram buckets in seconds; prometheus-client's defaults when omitted.
    """

    def __init__(
        self,
        prefix: str = "cadence",
        track_active_flows: bool = True,
        *,
        registry: Any = None,
        buckets: Sequence[float] | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not _NAME.match(prefix):
            raise ValueError(
                f"prefix must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got {prefix!r}"
            )
        prom = _load()
        self.prefix = prefix
        self.track_active_flows = bool(track_active_flows)
        self._started: dict[str, int] = {}  # flow_started() calls not yet ended by a TOTAL
        self.registry = prom.REGISTRY if registry is None else registry
        self._prom = prom
        self._m = _families_for(prom, self.registry, prefix, _check_buckets(buckets))
        self._tracker = Tracker(f"prometheus_{id(self):x}")
        self._pending = StepBuffer(f"prometheus_report_{id(self):x}")

    def scrape(self) -> str:
        """The registry's current exposition text (what Prometheus would scrape)."""
        return str(self._prom.generate_latest(self.registry).decode())

    # -- reporter ---------------------------------------------------------------------------

    def report(self, note_name: str, elapsed: float, score: Any) -> None:
        """``with_reporter`` entry: record a step's duration, or a run's at ``"<name>:TOTAL"``."""
        if self._tracker.run() is not None or (
            note_name.endswith(TOTAL_SUFFIX)
            and self._tracker.just_closed(note_name[: -len(TOTAL_SUFFIX)])
        ):
            return  # attached as hooks too: the hooks already record this, with more detail
        if note_name.endswith(TOTAL_SUFFIX):
            cadence = note_name[: -len(TOTAL_SUFFIX)]
            for name, seconds in self._pending.take(cadence):
                self._m.note_duration.labels(cadence, name).observe(seconds)
            self._m.cadence_duration.labels(cadence).observe(elapsed)
            self._m.runs.labels(cadence).inc()
            if self._started.get(cadence):
                self._started[cadence] -= 1
                self._m.in_progress.labels(cadence).dec()
            return
        # The cadence's name is only known at TOTAL: keep the steps until then, per run (a
        # child cadence reporting here too keeps its own), so runs never mix.
        self._pending.add((note_name, elapsed))

    __call__ = report

    # -- hooks ------------------------------------------------------------------------------

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Count the run as in progress."""
        self._tracker.enter_run(cadence_name)
        if self.track_active_flows:
            self._m.in_progress.labels(cadence_name).inc()

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Record the run's duration and outcome."""
        self._tracker.exit_run(cadence_name)
        m = self._m
        if self.track_active_flows:
            m.in_progress.labels(cadence_name).dec()
        m.cadence_duration.labels(cadence_name).observe(duration)
        m.runs.labels(cadence_name).inc()
        if is_failure(error):  # a run parked at a wait is no failure
            m.cadence_failures.labels(cadence_name, _code(error)).inc()

    async def before_note(self, note_name: str, score: Any) -> None:
        """Remember which cadence the note belongs to."""
        self._tracker.enter_note(note_name)

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Record the note's duration and failure, if any."""
        note = self._tracker.exit_note(note_name)
        run = note.run if note is not None else self._tracker.run()
        cadence = run.cadence_name if run is not None else ""
        m = self._m
        m.note_duration.labels(cadence, note_name).observe(duration)
        if is_failure(error):
            m.note_failures.labels(cadence, note_name, _code(error)).inc()
            if _is_circuit_open(error):
                m.circuit_open.labels(cadence, note_name).inc()

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        """Count the retry."""
        note = self._tracker.find_note(note_name)
        run = note.run if note is not None else self._tracker.run()
        self._m.retries.labels(run.cadence_name if run else "", note_name).inc()

    # -- kept for cadence-orchestration 0.7.2 code (deprecated): see docs/migrating.md -------

    def flow_started(self, flow_name: str) -> None:
        """Deprecated: count a run as in progress until its ``"<flow>:TOTAL"`` report.

        Attach the reporter with ``with_hooks(reporter)``: runs in progress are then counted
        for you, failed runs included.
        """
        from cadence._compat import deprecated

        deprecated("PrometheusReporter.flow_started()", "with_hooks(reporter)")
        if self.track_active_flows:
            self._started[flow_name] = self._started.get(flow_name, 0) + 1
            self._m.in_progress.labels(flow_name).inc()

    def record_error(self, flow_name: str, step_name: str, error: BaseException) -> None:
        """Deprecated: count a failed note (``<p>_note_failures_total``).

        Attach the reporter with ``with_hooks(reporter)``: failures are then counted for you.
        """
        from cadence._compat import deprecated

        deprecated("PrometheusReporter.record_error()", "with_hooks(reporter)")
        self._m.note_failures.labels(flow_name, step_name, _code(error)).inc()


def __getattr__(name: str) -> Any:
    if name == "HAS_PROMETHEUS":  # 0.7.2's flag, worked out on use (see _load)
        try:
            _load()
        except ImportError:
            return False
        return True
    # 0.7.2 names kept in cadence._compat.prometheus (see docs/migrating.md).
    if name in ("MetricsMiddleware", "prometheus_reporter"):
        from cadence._compat import bound, prometheus

        if name == "MetricsMiddleware":
            return prometheus.MetricsMiddleware
        return bound(prometheus.prometheus_reporter, reporter_class=PrometheusReporter)
    raise AttributeError(f"module 'cadence.reporters.prometheus' has no attribute {name!r}")
