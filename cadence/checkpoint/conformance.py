"""``check_checkpoint_store``: the behaviour every checkpoint store must share.

The in-memory store is the reference; each check below states one rule of the protocols in
:mod:`cadence.checkpoint._protocol`. Third-party stores run the same suite::

    from cadence.testing import check_checkpoint_store

    async def test_my_store_conforms():
        await check_checkpoint_store(lambda: MyStore(url))

Every check uses fresh, unique cadence names, so the factory may return stores that share one
backend (a database, a Redis server). Stores with an ``aclose()`` are closed after each check.

Besides the methods one by one, the suite runs whole sessions on the store: a completed run id
run again executes nothing, a killed worker's lease is taken over at once, steps recorded
without their state stop the run. A store with a ``retention`` attribute also has it set to
0.3 s on a store of its own, to check that expired completion records are not returned.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from cadence.checkpoint._conformance_runs import RUN_CHECKS
from cadence.exceptions import CheckpointError

__all__ = ["check_checkpoint_store"]

StoreFactory = Callable[[], Any | Awaitable[Any]]

_STATE = {
    "format": "cadence.score/1",
    "class": "m:S",
    "fields": {
        "text": 'héllo \u2603 "quoted" \\ \n',
        "n": 2**70,
        "x": 0.1,
        "neg": -0.0,
        "nested": [{"a": [1, None, True]}, {}],
        "empty": "",
    },
}


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"conformance:{tag}", f"run/{tag}:1"


async def _check_empty_run(store: Any) -> None:
    """An unknown run has no completed steps and no state; clearing it is harmless."""
    c, r = _names()
    assert await store.get_completed_measures(c, r) == set()
    assert await store.get_last_score_state(c, r) is None
    await store.clear_checkpoints(c, r)
    assert await store.get_completed_measures(c, r) == set()


async def _check_save_and_read(store: Any) -> None:
    """Saved steps accumulate; the state is the latest one and round-trips exactly."""
    c, r = _names()
    await store.save_checkpoint(c, r, "validate", 0, {"format": "f", "fields": {"n": 1}})
    await store.save_checkpoint(c, r, "charge", 1, _STATE)
    assert await store.get_completed_measures(c, r) == {"validate", "charge"}
    state = await store.get_last_score_state(c, r)
    assert state == _STATE, f"state did not round-trip: {state!r}"
    assert str(state["fields"]["neg"]) == "-0.0"
    steps = await store.get_completed_measures(c, r)
    steps.add("mutated")
    assert "mutated" not in await store.get_completed_measures(c, r), "returned set must be a copy"


async def _check_isolation(store: Any) -> None:
    """Runs are keyed by (cadence, run id) exactly: separators in names never collide."""
    tag = uuid.uuid4().hex[:8]
    await store.save_checkpoint(f"a:{tag}", "b:c", "s1", 0, {"v": 1})
    await store.save_checkpoint(f"a:{tag}:b", "c", "s2", 0, {"v": 2})
    await store.save_checkpoint(f"a:{tag}", "b:c:", "s3", 0, {"v": 3})
    assert await store.get_completed_measures(f"a:{tag}", "b:c") == {"s1"}
    assert await store.get_completed_measures(f"a:{tag}:b", "c") == {"s2"}
    assert await store.get_last_score_state(f"a:{tag}", "b:c") == {"v": 1}
    await store.clear_checkpoints(f"a:{tag}", "b:c")
    assert await store.get_completed_measures(f"a:{tag}:b", "c") == {"s2"}
    assert await store.get_completed_measures(f"a:{tag}", "b:c:") == {"s3"}


async def _check_clear(store: Any) -> None:
    """Clearing forgets steps, state, attempts and failure."""
    c, r = _names()
    await store.save_checkpoint(c, r, "a", 0, {"v": 1})
    await store.begin_attempt(c, r, "b")
    await store.record_failure(c, r, "boom")
    await store.clear_checkpoints(c, r)
    assert await store.get_completed_measures(c, r) == set()
    assert await store.get_last_score_state(c, r) is None
    assert await store.get_failure(c, r) is None
    assert await store.begin_attempt(c, r, "b") == 1


async def _check_lease_exclusive(store: Any) -> None:
    """A live lease excludes other holders; release lets the next one in with a larger token."""
    c, r = _names()
    first = await store.acquire_lease(c, r, holder="w1", ttl=30)
    try:
        await store.acquire_lease(c, r, holder="w2", ttl=30)
    except CheckpointError as exc:
        assert exc.code == "LEASE_HELD", exc.code
        assert 0 < exc.details["retry_after"] <= 30
    else:
        raise AssertionError("a second holder acquired a live lease")
    await store.release_lease(c, r, token=first)
    second = await store.acquire_lease(c, r, holder="w2", ttl=30)
    assert second > first, (first, second)
    await store.save_checkpoint(c, r, "a", 0, {"v": 1}, token=second)
    assert await store.get_completed_measures(c, r) == {"a"}


async def _check_fencing(store: Any) -> None:
    """After an expired lease is taken over, the stale holder can write nothing."""
    c, r = _names()
    stale = await store.acquire_lease(c, r, holder="w1", ttl=0.05)
    await store.save_checkpoint(c, r, "a", 0, {"by": "w1"}, token=stale)
    await asyncio.sleep(0.15)
    fresh = await store.acquire_lease(c, r, holder="w2", ttl=30)
    assert fresh > stale
    for write in (
        store.save_checkpoint(c, r, "b", 1, {"by": "stale"}, token=stale),
        store.clear_checkpoints(c, r, token=stale),
        store.record_failure(c, r, "stale", token=stale),
        store.begin_attempt(c, r, "b", token=stale),
        store.renew_lease(c, r, token=stale, ttl=30),
    ):
        try:
            await write
        except CheckpointError as exc:
            assert exc.code == "LEASE_LOST", exc.code
        else:
            raise AssertionError("a stale lease holder's write was accepted")
    await store.release_lease(c, r, token=stale)  # must not release the new holder's lease
    try:
        await store.acquire_lease(c, r, holder="w3", ttl=30)
    except CheckpointError as exc:
        assert exc.code == "LEASE_HELD"
    else:
        raise AssertionError("releasing a stale token released the current lease")
    assert await store.get_completed_measures(c, r) == {"a"}
    assert await store.get_last_score_state(c, r) == {"by": "w1"}
    await store.renew_lease(c, r, token=fresh, ttl=30)
    await store.save_checkpoint(c, r, "b", 1, {"by": "w2"}, token=fresh)
    assert await store.get_last_score_state(c, r) == {"by": "w2"}


async def _check_released_token_is_fenced(store: Any) -> None:
    """A released lease's token no longer writes; the same holder may re-acquire at once."""
    c, r = _names()
    token = await store.acquire_lease(c, r, holder="w1", ttl=30)
    await store.release_lease(c, r, token=token)
    try:
        await store.save_checkpoint(c, r, "a", 0, {}, token=token)
    except CheckpointError as exc:
        assert exc.code == "LEASE_LOST"
    else:
        raise AssertionError("a released token could still write")
    again = await store.acquire_lease(c, r, holder="w1", ttl=30)
    assert again > token


async def _check_attempts(store: Any) -> None:
    """Attempts count per step: repeated at one step they grow, a new step restarts at 1."""
    c, r = _names()
    token = await store.acquire_lease(c, r, holder="w1", ttl=30)
    assert [await store.begin_attempt(c, r, "s", token=token) for _ in range(3)] == [1, 2, 3]
    assert await store.begin_attempt(c, r, "t", token=token) == 1
    await store.save_checkpoint(c, r, "t", 1, {}, token=token)
    assert await store.begin_attempt(c, r, "u", token=token) == 2, "a save starts the next step"
    assert await store.begin_attempt(c, r, "u", token=token) == 3
    assert await store.get_failure(c, r) is None
    await store.record_failure(c, r, "ValueError: first", token=token)
    await store.record_failure(c, r, "ValueError: second", token=token)
    assert await store.get_failure(c, r) == "ValueError: second"


async def _check_concurrent_runs(store: Any) -> None:
    """Many runs saving concurrently through one store lose nothing."""
    c, _ = _names()

    async def run(i: int) -> None:
        token = await store.acquire_lease(c, f"r{i}", holder=f"w{i}", ttl=30)
        for step in range(3):
            await store.save_checkpoint(
                c, f"r{i}", f"s{step}", step, {"i": i, "step": step}, token=token
            )

    await asyncio.gather(*(run(i) for i in range(20)))
    for i in range(20):
        assert await store.get_completed_measures(c, f"r{i}") == {"s0", "s1", "s2"}
        assert await store.get_last_score_state(c, f"r{i}") == {"i": i, "step": 2}


_CHECKS = [
    _check_empty_run,
    _check_save_and_read,
    _check_isolation,
    _check_clear,
    _check_lease_exclusive,
    _check_fencing,
    _check_released_token_is_fenced,
    _check_attempts,
    _check_concurrent_runs,
    *RUN_CHECKS,
]


async def check_checkpoint_store(factory: StoreFactory) -> None:
    """Run every conformance check against stores made by ``factory``.

    Args:
        factory: Returns a new store (or an awaitable of one); called once per check.

    Raises:
        AssertionError: naming the check (and so the rule) the store broke.
    """
    for check in _CHECKS:
        store = factory()
        if inspect.isawaitable(store):
            store = await store
        try:
            await check(store)
        except AssertionError as exc:
            raise AssertionError(
                f"{type(store).__name__} failed {check.__name__}: {check.__doc__} ({exc})"
            ) from exc
        finally:
            close = getattr(store, "aclose", None)
            if close is not None:
                await close()
