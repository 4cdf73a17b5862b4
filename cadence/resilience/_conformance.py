"""The conformance check every circuit-breaker store runs: same answers as the reference store.

A store is correct when, fed the same operations, it answers exactly like
:class:`InMemoryBreakerStore`, the reference implementation. ``check_breaker_store`` drives a
store and a fresh reference side by side through random admissions and outcomes (and one real
recovery into half-open), comparing every answer. Third-party stores run it in their tests::

    from cadence.testing import check_breaker_store

    def test_my_store():
        check_breaker_store(MyStore(...))
"""

from __future__ import annotations

import random
import time
import uuid

from cadence.resilience._store import (
    Admission,
    BreakerConfig,
    BreakerStore,
    CircuitState,
    InMemoryBreakerStore,
    Outcome,
)

__all__ = ["check_breaker_store"]


def _same(step: str, ours: object, reference: object) -> None:
    if ours != reference:
        raise AssertionError(f"{step}: the store answered {ours!r}, the reference {reference!r}")


def check_breaker_store(store: BreakerStore, *, steps: int = 300, seed: int = 0) -> None:
    """Check ``store`` against the reference store; raises ``AssertionError`` on a difference.

    Uses fresh random keys, so it can run against a shared backend. Takes about 0.7 s of real
    time to let a circuit recover twice (a store may read time from its own server, so the
    check cannot fake it); run it with the real clock installed.

    Args:
        store: The store under test (sync methods are exercised).
        steps: Random operations to compare.
        seed: Seed of the random sequence, for reproducing a failure.
    """
    rng = random.Random(seed)
    config = BreakerConfig(failure_threshold=3, recovery_timeout=3600.0, half_open_max_calls=2)
    key = f"conformance-{uuid.uuid4().hex}"
    reference = InMemoryBreakerStore()
    pending: list[tuple[Admission, Admission]] = []
    for i in range(steps):
        if pending and rng.random() < 0.5:
            ours, ref = pending.pop(rng.randrange(len(pending)))
            outcome = rng.choice(list(Outcome))
            store.record(key, config, ours.generation, ours.probe, outcome)
            reference.record(key, config, ref.generation, ref.probe, outcome)
        else:
            ours, ref = store.acquire(key, config), reference.acquire(key, config)
            _same(
                f"step {i} acquire",
                (ours.admitted, ours.generation, ours.probe),
                (ref.admitted, ref.generation, ref.probe),
            )
            if ours.admitted:
                pending.append((ours, ref))
        mine, theirs = store.snapshot(key, config), reference.snapshot(key, config)
        _same(
            f"step {i} snapshot",
            (mine.state, mine.failures, mine.probes_in_flight, mine.generation),
            (theirs.state, theirs.failures, theirs.probes_in_flight, theirs.generation),
        )
    store.reset(key)
    _same("after reset", store.snapshot(key, config).state, CircuitState.CLOSED)
    _check_recovery(store, f"{key}-recovery")


def _check_recovery(store: BreakerStore, key: str) -> None:
    """Walk one circuit through open, half-open (probe slots) and back, with real waits."""
    recovery = 0.3
    config = BreakerConfig(failure_threshold=1, recovery_timeout=recovery, half_open_max_calls=2)

    def trip() -> None:
        admission = store.acquire(key, config)
        store.record(key, config, admission.generation, admission.probe, Outcome.FAILURE)
        refused = store.acquire(key, config)
        _same("after the threshold", (refused.admitted, refused.retry_after > 0), (False, True))
        time.sleep(recovery + 0.05)

    trip()
    first, second, third = (store.acquire(key, config) for _ in range(3))
    _same(
        "half-open admits two probes",
        (first.probe, second.probe, third.admitted),
        (True, True, False),
    )
    store.record(key, config, first.generation, first.probe, Outcome.IGNORED)
    again = store.acquire(key, config)
    _same("a cancelled probe frees its slot", (again.admitted, again.probe), (True, True))
    for probe in (second, again):
        store.record(key, config, probe.generation, probe.probe, Outcome.SUCCESS)
    _same("after both probes succeeded", store.snapshot(key, config).state, CircuitState.CLOSED)

    trip()
    probe = store.acquire(key, config)
    store.record(key, config, probe.generation, probe.probe, Outcome.FAILURE)
    snap = store.snapshot(key, config)
    _same("a failed probe re-opens", (snap.state, snap.retry_after > 0), (CircuitState.OPEN, True))
    store.reset(key)
