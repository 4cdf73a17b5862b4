"""Reporters: where a cadence's timings and outcomes go. Every reporter is a hooks object.

``Reporter`` is the base of the simple ones: it calls ``report(note_name, seconds, score)``
after each completed step and once more with ``"<cadence>:TOTAL"``; a plain callable given to
``Cadence.with_reporter`` is wrapped in one. ``ConsoleReporter`` and ``JsonReporter`` are such
reporters. The Prometheus and OpenTelemetry reporters implement more of ``CadenceHooks``
(every task of every group, failures and retries). A new reporter copies a neighbour: subclass
``Reporter`` and write ``report``, or subclass ``CadenceHooks`` for the full picture.

``PrometheusReporter`` and ``OpenTelemetryReporter`` are loaded on first access, so importing
this package never imports ``prometheus_client`` or ``opentelemetry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cadence._observe._reporter import Reporter
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
    "Reporter",
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
