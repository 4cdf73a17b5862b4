"""0.7.2's extra flags (``HAS_*``) and Flask's ``_get_flask()`` still answer."""

from __future__ import annotations

import sys

import pytest


def test_has_extra_flags_are_true_with_the_extras_installed() -> None:
    from cadence.integrations import fastapi as fastapi_mod
    from cadence.reporters import opentelemetry, prometheus

    assert opentelemetry.HAS_OTEL is True
    assert prometheus.HAS_PROMETHEUS is True
    assert fastapi_mod.HAS_FASTAPI is True


def test_reporter_flags_are_false_when_the_package_cannot_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cadence.reporters import opentelemetry, prometheus

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    assert prometheus.HAS_PROMETHEUS is False
    assert opentelemetry.HAS_OTEL is False


def test_get_flask_returns_flask() -> None:
    import flask

    from cadence.integrations.flask import _get_flask

    assert _get_flask() is flask
