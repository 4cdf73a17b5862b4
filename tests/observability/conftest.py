"""Fixtures for the observability tests: a hook recorder and an in-memory tracer provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._support import Recorder


@pytest.fixture
def recorder() -> Recorder:
    """A fresh hook-call recorder."""
    return Recorder()


@pytest.fixture
def spans() -> Iterator[tuple[Any, Any]]:
    """An SDK TracerProvider exporting to an InMemorySpanExporter: (provider, exporter)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()
