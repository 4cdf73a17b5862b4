"""PrometheusReporter: metric names and labels as scraped, counts, registries, report mode."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cadence import Cadence, NoteError, ParallelNoteError, note, testing
from cadence.reporters import PrometheusReporter
from cadence.resilience import InMemoryBreakerStore, circuit_breaker

from ._support import Order

METRIC = re.compile(r"^[a-z_:][a-z0-9_:]*$")
LABEL = re.compile(r"^[a-z_][a-z0-9_]*$")


async def fetch(score: Order) -> None:
    score.items.append("book")


async def boom(score: Order) -> None:
    raise ValueError("declined")


def scrape(registry: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Parse the exposition text into {sample name: {sorted labels: value}}."""
    from prometheus_client import generate_latest

    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def run_everything(reporter: PrometheusReporter) -> None:
    """A run with a .sync group, a retry, a failure, and a call refused by an open breaker."""
    calls: list[int] = []

    @note(retry={"max_attempts": 2, "delay": 0.1})
    async def flaky(score: Order) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset")

    @circuit_breaker(failure_threshold=1, recovery_timeout=60.0, store=InMemoryBreakerStore())
    @note
    async def fragile(score: Order) -> None:
        raise ConnectionError("down")

    cadence = (
        Cadence("checkout", Order())
        .with_hooks(reporter)
        .sync("load", [fetch, flaky])
        .then("pay", fragile)
    )
    with testing.testing_mode(attempts=None):
        for expected in (NoteError, NoteError):
            with pytest.raises(expected):
                await cadence.run(Order())


async def test_scraped_names_follow_prometheus_conventions() -> None:
    """Durations end in _seconds, counters in _total, names and labels are snake_case."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="shop", registry=registry)
    await run_everything(reporter)
    families = list(text_string_to_metric_families(reporter.scrape()))
    ours = [f for f in families if f.name.startswith("shop_")]
    assert {f.name for f in ours} >= {
        "shop_cadence_duration_seconds",
        "shop_note_duration_seconds",
        "shop_cadence_runs",
        "shop_cadence_failures",
        "shop_note_failures",
        "shop_note_retries",
        "shop_circuit_open",
        "shop_cadence_runs_in_progress",
    }
    for family in ours:
        assert METRIC.match(family.name), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
            for label in sample.labels:
                assert LABEL.match(label) and not label.startswith("__"), label
    counters = [f for f in ours if f.type == "counter"]
    assert counters and all(any(s.name.endswith("_total") for s in f.samples) for f in counters)


async def test_scraped_values_count_runs_failures_retries_and_open_breakers() -> None:
    """After two runs the counters hold exactly what happened, labelled by cadence and note."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="shop", registry=registry)
    await run_everything(reporter)
    data = scrape(registry)
    assert data["shop_cadence_runs_total"] == {(("cadence", "checkout"),): 2.0}
    assert data["shop_cadence_failures_total"] == {
        (("cadence", "checkout"), ("code", "NOTE_ERROR")): 1.0,
        (("cadence", "checkout"), ("code", "CIRCUIT_OPEN")): 1.0,
    }
    assert data["shop_note_retries_total"] == {(("cadence", "checkout"), ("note", "flaky")): 1.0}
    assert data["shop_circuit_open_total"] == {(("cadence", "checkout"), ("note", "pay")): 1.0}
    counts = data["shop_note_duration_seconds_count"]
    assert counts[(("cadence", "checkout"), ("note", "flaky"))] == 2.0  # group tasks too
    assert counts[(("cadence", "checkout"), ("note", "load"))] == 2.0
    assert data["shop_cadence_runs_in_progress"] == {(("cadence", "checkout"),): 0.0}


async def test_seed_report_form_records_durations_and_runs() -> None:
    """with_reporter(reporter.report) records step and run durations under the cadence label."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="myapp", registry=registry)
    cadence = Cadence("tracked", Order()).with_reporter(reporter.report).then("note1", fetch)
    await cadence.run()
    await cadence.run(Order())
    data = scrape(registry)
    assert data["myapp_note_duration_seconds_count"] == {
        (("cadence", "tracked"), ("note", "note1")): 2.0
    }
    assert data["myapp_cadence_duration_seconds_count"] == {(("cadence", "tracked"),): 2.0}
    assert data["myapp_cadence_runs_total"] == {(("cadence", "tracked"),): 2.0}


async def test_reporter_attached_both_ways_counts_once() -> None:
    """As hooks and as reporter at once, every run and note is counted once."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="both", registry=registry)
    cadence = (
        Cadence("c", Order()).with_hooks(reporter).with_reporter(reporter.report).then("f", fetch)
    )
    await cadence.run()
    data = scrape(registry)
    assert data["both_cadence_runs_total"] == {(("cadence", "c"),): 1.0}
    assert data["both_note_duration_seconds_count"] == {(("cadence", "c"), ("note", "f")): 1.0}


async def test_many_reporters_on_the_default_registry_never_collide() -> None:
    """Reporters with the same prefix on the default registry share families; none raises."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = PrometheusReporter(prefix=prefix)
    second = PrometheusReporter(prefix=prefix)
    other = PrometheusReporter(prefix=prefix + "_other")
    assert first.registry is REGISTRY
    for reporter in (first, second, other):
        await Cadence("c", Order()).with_hooks(reporter).then("f", fetch).run()
    data = scrape(REGISTRY)
    assert data[f"{prefix}_cadence_runs_total"] == {(("cadence", "c"),): 2.0}
    assert data[f"{prefix}_other_cadence_runs_total"] == {(("cadence", "c"),): 1.0}


async def test_custom_registries_are_independent() -> None:
    """The same prefix on two registries keeps two separate sets of metrics."""
    reg_a, reg_b = CollectorRegistry(), CollectorRegistry()
    await (
        Cadence("c", Order()).with_hooks(PrometheusReporter(registry=reg_a)).then("f", fetch).run()
    )
    assert scrape(reg_a)["cadence_cadence_runs_total"] == {(("cadence", "c"),): 1.0}
    assert "cadence_cadence_runs_total" not in scrape(reg_b)


def test_bad_prefix_and_conflicting_buckets_fail_early() -> None:
    """An invalid prefix, or other buckets for an existing prefix, raise with a fix."""
    with pytest.raises(ValueError, match="Prometheus metric name"):
        PrometheusReporter(prefix="my-app")
    registry = CollectorRegistry()
    PrometheusReporter(prefix="b", registry=registry, buckets=(0.1, 1.0))
    with pytest.raises(ValueError, match="buckets"):
        PrometheusReporter(prefix="b", registry=registry, buckets=(0.5,))


def test_names_taken_by_someone_else_give_a_clear_error() -> None:
    """A registry already holding our metric names raises a ValueError naming the way out."""
    from prometheus_client import Counter

    registry = CollectorRegistry()
    Counter("x_cadence_runs", "someone else's", registry=registry)
    with pytest.raises(ValueError, match="pick another prefix"):
        PrometheusReporter(prefix="x", registry=registry)


async def test_failures_inside_sync_groups_are_labelled_with_the_task() -> None:
    """A failing .sync task is counted under its own name with its error code."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="g", registry=registry)
    cadence = Cadence("c", Order()).with_hooks(reporter).sync("grp", [fetch, boom])
    with pytest.raises(ParallelNoteError):
        await cadence.run()
    failures = scrape(registry)["g_note_failures_total"]
    assert failures[(("cadence", "c"), ("code", "ValueError"), ("note", "boom"))] == 1.0
    assert failures[(("cadence", "c"), ("code", "PARALLEL_NOTE_ERROR"), ("note", "grp"))] == 1.0
