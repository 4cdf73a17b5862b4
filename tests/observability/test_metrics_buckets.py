"""PrometheusReporter buckets: checked when the reporter is made, so every scrape stays valid."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from cadence import Cadence
from cadence.reporters import PrometheusReporter

from ._support import Order
from .test_prometheus import scrape


@pytest.mark.parametrize("buckets", [(0.5, 0.5, 1.0), (1.0, 0.5), (0.1, 1.0, 1.0)])
def test_repeated_or_unsorted_buckets_are_refused(buckets: tuple[float, ...]) -> None:
    """A bound given twice (two series with one le label) or out of order is a ValueError."""
    with pytest.raises(ValueError, match="buckets must be strictly increasing"):
        PrometheusReporter(prefix="dup", registry=CollectorRegistry(), buckets=buckets)


@pytest.mark.parametrize("bound", [float("nan"), "1", None, True])
def test_buckets_that_are_not_numbers_are_refused(bound: object) -> None:
    """NaN, strings, None and booleans are not bucket bounds, and the error says so."""
    with pytest.raises(ValueError, match="buckets must be numbers of seconds"):
        PrometheusReporter(prefix="nan", registry=CollectorRegistry(), buckets=[0.1, bound])  # type: ignore[list-item]


def test_a_single_number_as_buckets_is_a_type_error() -> None:
    """buckets=5 (not a sequence) raises a TypeError showing the expected form."""
    with pytest.raises(TypeError, match=r"buckets must be a sequence of seconds \(e\.g\."):
        PrometheusReporter(prefix="one", registry=CollectorRegistry(), buckets=5)  # type: ignore[arg-type]


def test_bad_buckets_are_not_blamed_on_another_library() -> None:
    """A bucket mistake never says the names were registered by someone else."""
    with pytest.raises(ValueError) as caught:
        PrometheusReporter(prefix="msg", registry=CollectorRegistry(), buckets=(2.0, 1.0))
    assert "another library" not in str(caught.value)


def test_buckets_ending_in_inf_are_the_same_buckets() -> None:
    """(0.1, 1, +Inf) and (0.1, 1.0) are the same histogram: a second reporter reuses it."""
    registry = CollectorRegistry()
    first = PrometheusReporter(prefix="inf", registry=registry, buckets=(0.1, 1))
    second = PrometheusReporter(prefix="inf", registry=registry, buckets=(0.1, 1.0, float("inf")))
    assert second._m is first._m


async def test_each_bucket_bound_is_served_once() -> None:
    """A run's histogram has one sample per bound, +Inf added once."""
    registry = CollectorRegistry()
    reporter = PrometheusReporter(prefix="b", registry=registry, buckets=[0.5, 5, float("inf")])
    await Cadence("c", Order()).with_hooks(reporter).then("f", lambda s: None).run()
    samples = scrape(registry)["b_cadence_duration_seconds_bucket"]
    assert sorted(dict(labels)["le"] for labels in samples) == ["+Inf", "0.5", "5.0"]
