"""The public surface of cadence.resilience and cadence.testing."""

from __future__ import annotations

import subprocess
import sys

import cadence.resilience
import cadence.testing

REQUIRED = {
    "CircuitBreaker",
    "CircuitState",
    "Fallback",
    "InMemoryBreakerStore",
    "RedisBreakerStore",
    "Retry",
    "Timeout",
    "circuit_breaker",
    "compose",
    "fallback",
    "retry",
    "timeout",
}


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted, lists every required name, and every name resolves."""
    names = cadence.resilience.__all__
    assert names == sorted(names)
    assert set(names) >= REQUIRED
    for name in names:
        assert getattr(cadence.resilience, name) is not None


def test_testing_helpers_are_exported() -> None:
    """cadence.testing offers FakeClock, testing_mode and the breaker store check."""
    assert set(cadence.testing.__all__) >= {"FakeClock", "check_breaker_store", "testing_mode"}


def test_importing_needs_no_optional_dependency() -> None:
    """Importing the policies and the testing helpers loads neither redis nor tenacity."""
    code = (
        "import sys, cadence.resilience, cadence.testing\n"
        "from cadence import note\n"
        "note(retry=3, timeout=1.0)(lambda s: None)\n"
        "print(sorted(m for m in ('redis', 'tenacity') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
