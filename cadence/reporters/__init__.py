"""Reporters: where a cadence's timings and outcomes go.

A reporter is a callable ``reporter(note_name, seconds, score)`` given to
``Cadence.with_reporter``; the runner calls it after each step and once more with
``"<cadence>:TOTAL"``. The Prometheus and OpenTelemetry reporters are also hooks objects: attach
them with ``with_hooks(reporter)`` to get every task of every group, failures and retries too.

``PrometheusReporter`` and ``OpenTelemetryReporter`` are loaded on first access, so importing
this package never imports ``prometheus_client`` or ``opentelemetry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cadence.reporters.console import ConsoleReporter, console_reporter
from cadence.reporters.json import JsonReporter, json_reporter

if TYPE_CHECKING:
    from cadence.reporters.opentelemetry import OpenTelemetryReporter
    from cadence.reporters.prometheus import PrometheusReporter

__all__ = [
    "ConsoleReporter",
    "JsonReporter",
    "OpenTelemetryReporter",
    "PrometheusReporter",
    "console_reporter",
    "json_reporter",
]

_LAZY = {
    "OpenTelemetryReporter": "cadence.reporters.opentelemetry",
    "PrometheusReporter": "cadence.reporters.prometheus",
    # 0.7.2 names (see docs/migrating.md)
    "MetricsMiddleware": "cadence.reporters.prometheus",
    "TracingContext": "cadence.reporters.opentelemetry",
    "opentelemetry_reporter": "cadence.reporters.opentelemetry",
    "prometheus_reporter": "cadence.reporters.prometheus",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cadence.reporters' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
