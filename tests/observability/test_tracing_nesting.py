"""OpenTelemetry: where a run started inside a note hangs, and setup mistakes named early."""

from __future__ import annotations

from typing import Any

import pytest

from cadence import Cadence, TracingHooks
from cadence.reporters import OpenTelemetryReporter

from ._support import Order
from .test_opentelemetry import tree


async def validate(score: Order) -> None:
    score.status = "valid"


def parented(exporter: Any) -> dict[str, str | None]:
    """Each finished span's name mapped to its parent's name (None for a root)."""
    finished = exporter.get_finished_spans()
    names = {s.context.span_id: s.name for s in finished}
    return {s.name: names.get(s.parent.span_id) if s.parent else None for s in finished}


async def test_a_run_inside_a_span_the_note_opened_nests_under_that_span(spans: Any) -> None:
    """A note that opens its own span and runs another cadence in it gets the run under it."""
    provider, exporter = spans
    tracer = provider.get_tracer("app")
    hooks = TracingHooks(provider.get_tracer("cadence"))
    other = Cadence("refund", Order()).with_hooks(hooks).then("v", validate)

    async def batch(score: Order) -> None:
        with tracer.start_as_current_span("batch"):
            await other.run(Order())

    await Cadence("c", Order()).with_hooks(hooks).then("n", batch).run()
    assert tree(exporter) == [
        (
            "cadence c",
            "UNSET",
            [],
            [
                (
                    "note n",
                    "UNSET",
                    [],
                    [
                        (
                            "batch",
                            "UNSET",
                            [],
                            [("cadence refund", "UNSET", [], [("note v", "UNSET", [], [])])],
                        )
                    ],
                )
            ],
        )
    ]


async def test_a_sync_note_running_a_cadence_in_its_own_span_nests_it_there(spans: Any) -> None:
    """The same from a sync note in its thread, with run_sync."""
    provider, exporter = spans
    tracer = provider.get_tracer("app")
    hooks = TracingHooks(provider.get_tracer("cadence"))
    other = Cadence("refund", Order()).with_hooks(hooks).then("v", validate)

    def batch(score: Order) -> None:
        with tracer.start_as_current_span("batch"):
            other.run_sync(Order())

    await Cadence("c", Order()).with_hooks(hooks).then("n", batch).run()
    assert parented(exporter) == {
        "cadence c": None,
        "note n": "cadence c",
        "batch": "note n",
        "cadence refund": "batch",
        "note v": "cadence refund",
    }


async def test_a_run_inside_a_note_without_its_own_span_stays_under_the_note(spans: Any) -> None:
    """A run started in a note (no span of the note's own current) is the note's child."""
    provider, exporter = spans
    hooks = TracingHooks(provider.get_tracer("cadence"))
    other = Cadence("refund", Order()).with_hooks(hooks).then("v", validate)

    async def nested(score: Order) -> None:
        await other.run(Order())

    await Cadence("c", Order()).with_hooks(hooks).then("n", nested).run()
    assert parented(exporter)["cadence refund"] == "note n"


def test_a_tracer_given_as_tracer_provider_is_refused_with_the_fix() -> None:
    """tracer_provider= a tracer (or anything else) raises a TypeError naming what to pass."""
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    with pytest.raises(TypeError, match=r"TracerProvider.*TracingHooks\(tracer\)"):
        OpenTelemetryReporter(tracer_provider=provider.get_tracer("app"))
    with pytest.raises(TypeError, match="tracer_provider must be an OpenTelemetry"):
        OpenTelemetryReporter(tracer_provider="my-service")


def test_a_meter_provider_that_is_not_one_is_refused() -> None:
    """meter_provider= something else raises a TypeError, not an AttributeError."""
    with pytest.raises(TypeError, match="meter_provider must be an OpenTelemetry MeterProvider"):
        OpenTelemetryReporter(meter_provider=object())
