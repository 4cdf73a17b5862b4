"""``check_wait_store``: the behaviour every wait store must share.

The in-memory backend is the reference. Third-party stores that implement ``WaitStore``
themselves run the same suite::

    from cadence.testing import check_wait_store

    async def test_my_waits_conform():
        await check_wait_store(lambda: MyStore(url))

The factory returns a ``WaitStore`` (or a checkpoint store: its wait store is used); stores it
returns must share one backend (a database, a Redis server; for memory, one object), since a
check resolves one wait through several of them at once. Every check uses fresh cadence names.
``aclose()`` (or ``close()``) is called on each store after its check.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from cadence.checkpoint._waits import (
    APPROVAL,
    RESOLVED,
    SIGNAL,
    SLEEP,
    TIMED_OUT,
    WAITING,
    WaitRecord,
    wait_store_for,
)
from cadence.exceptions import WaitError

__all__ = ["check_wait_store"]

StoreFactory = Callable[[], Any | Awaitable[Any]]


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"waits:{tag}", f"run/{tag}:1"


def _record(c: str, r: str, key: str = "approve", **fields: Any) -> WaitRecord:
    base: dict[str, Any] = {
        "kind": APPROVAL,
        "payload": {"amount": 12, "note": "héllo ☃"},
        "created_at": 1000.0,
    }
    base.update(fields)
    return WaitRecord(c, r, key, **base)


async def _refused(call: Awaitable[Any], code: str) -> WaitError:
    try:
        await call
    except WaitError as exc:
        assert exc.code == code, f"expected {code}, got {exc.code}: {exc}"
        return exc
    raise AssertionError(f"expected WaitError {code}, the call succeeded")


async def _check_create_is_idempotent(store: Any) -> None:
    """Creating a record twice keeps the first; the stored record round-trips exactly."""
    c, r = _names()
    first = _record(c, r, deadline=2000.5)
    assert await store.create_wait(first) == first
    again = await store.create_wait(_record(c, r, payload={"other": True}))
    assert again == first, f"a second create replaced the record: {again!r}"
    assert await store.get_waits(c, r) == [first]


async def _check_resolve_once(store: Any) -> None:
    """A waiting record resolves once, with its value; every later resolution is refused."""
    c, r = _names()
    await store.create_wait(_record(c, r))
    value = {"approved": True, "payload": [1, None, "x"], "by": "ana", "reason": None}
    done = await store.resolve_wait(c, r, "approve", value=value, now=1500.0)
    assert (done.status, done.value, done.resolved_at) == (RESOLVED, value, 1500.0)
    assert done.payload == {"amount": 12, "note": "héllo ☃"}
    err = await _refused(
        store.resolve_wait(c, r, "approve", value=False, now=1501.0), "WAIT_ALREADY_RESOLVED"
    )
    assert err.details["wait"]["value"] == value
    assert await store.get_waits(c, r) == [done]


async def _check_concurrent_resolutions(store: Any, peers: list[Any]) -> None:
    """Of 20 concurrent resolutions of one wait, through 4 connections, exactly one wins."""
    through = [store, *peers]
    c, _ = _names()
    for peer in through:  # connect first, so the resolutions below really overlap
        await peer.get_waits(c, "warm-up")
    for round_ in range(5):
        r = f"race-{round_}"
        await store.create_wait(_record(c, r))

        async def attempt(i: int, r: str = r) -> Any:
            try:
                return await through[i % len(through)].resolve_wait(
                    c, r, "approve", value=i, now=1500.0
                )
            except WaitError as exc:
                return exc.code

        outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
        winners = [o for o in outcomes if isinstance(o, WaitRecord)]
        assert len(winners) == 1, f"{len(winners)} resolutions won"
        losers = {o for o in outcomes if isinstance(o, str)}
        assert losers == {"WAIT_ALREADY_RESOLVED"}, losers
        assert (await store.get_waits(c, r))[0].value == winners[0].value


async def _check_deadlines(store: Any) -> None:
    """Before the deadline only a resume resolves; from it on only a time-out does."""
    c, r = _names()
    await store.create_wait(_record(c, r, deadline=2000.0))
    await _refused(
        store.resolve_wait(c, r, "approve", value=None, now=1999.0, timed_out=True),
        "WAIT_NOT_DUE",
    )
    await _refused(store.resolve_wait(c, r, "approve", value=True, now=2000.0), "WAIT_TIMED_OUT")
    out = await store.resolve_wait(c, r, "approve", value=None, now=2000.0, timed_out=True)
    assert (out.status, out.value) == (TIMED_OUT, None)
    await _refused(
        store.resolve_wait(c, r, "approve", value=True, now=1.0), "WAIT_ALREADY_RESOLVED"
    )


async def _check_unknown_and_early_signals(store: Any) -> None:
    """Resolving a missing record fails, unless it is a signal, which is kept (early)."""
    c, r = _names()
    await _refused(store.resolve_wait(c, r, "nope", value=1, now=1.0), "WAIT_NOT_FOUND")
    kept = await store.resolve_wait(
        c, r, "signal:paid", value={"txn": 7}, now=5.0, early_signal="paid"
    )
    assert (kept.kind, kept.status, kept.signal, kept.early) == (SIGNAL, RESOLVED, "paid", True)
    later = await store.create_wait(_record(c, r, "signal:paid", kind=SIGNAL, payload=None))
    assert later == kept, "the run's own record must not replace an early signal"
    await _refused(
        store.resolve_wait(c, r, "signal:paid", value=2, now=6.0, early_signal="paid"),
        "WAIT_ALREADY_RESOLVED",
    )


async def _check_listing(store: Any) -> None:
    """list_waits shows waiting records only, by run or by due time, oldest first."""
    c, r = _names()
    other = f"{r}-b"
    await store.create_wait(_record(c, r, "a", created_at=3.0, deadline=100.0))
    await store.create_wait(_record(c, r, "b", created_at=1.0))
    await store.create_wait(
        _record(c, other, "s", kind=SLEEP, payload=None, created_at=2.0, deadline=50.0)
    )
    await store.create_wait(_record(f"{c}-x", r, "z", created_at=0.5, deadline=1.0))
    listed = [(w.run_id, w.key) for w in await store.list_waits(c)]
    assert listed == [(r, "b"), (other, "s"), (r, "a")], listed
    assert [w.key for w in await store.list_waits(c, run_id=r)] == ["b", "a"]
    assert [w.key for w in await store.list_waits(c, due_before=60.0)] == ["s"]
    assert [w.key for w in await store.list_waits(c, due_before=100.0)] == ["s", "a"]
    await store.resolve_wait(c, r, "b", value=True, now=2.0)
    assert [w.key for w in await store.list_waits(c, run_id=r)] == ["a"]
    assert [w.key for w in await store.get_waits(c, r)] == ["b", "a"]
    assert all(w.status == WAITING for w in await store.list_waits(c))


async def _check_delete(store: Any) -> None:
    """Deleting a run's records leaves other runs alone and drops them from listings."""
    c, r = _names()
    await store.create_wait(_record(c, r, deadline=10.0))
    await store.create_wait(_record(c, f"{r}:2", deadline=10.0))
    await store.delete_waits(c, r)
    assert await store.get_waits(c, r) == []
    assert [w.run_id for w in await store.list_waits(c, due_before=20.0)] == [f"{r}:2"]
    await store.delete_waits(c, "never-existed")


async def _check_key_isolation(store: Any) -> None:
    """Records are keyed by (cadence, run id, key) exactly; separators never collide."""
    tag = uuid.uuid4().hex[:8]
    await store.create_wait(_record(f"a:{tag}", "b:c", "k"))
    await store.create_wait(_record(f"a:{tag}:b", "c", "k"))
    await store.resolve_wait(f"a:{tag}", "b:c", "k", value=1, now=1.0)
    assert (await store.get_waits(f"a:{tag}:b", "c"))[0].status == WAITING


_CHECKS: list[Callable[..., Awaitable[None]]] = [
    _check_create_is_idempotent,
    _check_resolve_once,
    _check_concurrent_resolutions,
    _check_deadlines,
    _check_unknown_and_early_signals,
    _check_listing,
    _check_delete,
    _check_key_isolation,
]


async def check_wait_store(factory: StoreFactory) -> None:
    """Run every wait-store check against stores made by ``factory``.

    Raises:
        AssertionError: naming the check (and so the rule) the store broke.
    """
    for check in _CHECKS:
        opened: list[Any] = []
        store = await _open(factory, opened)
        try:
            if check is _check_concurrent_resolutions:
                await check(store, [await _open(factory, opened) for _ in range(3)])
            else:
                await check(store)
        except AssertionError as exc:
            raise AssertionError(
                f"{type(store).__name__} failed {check.__name__}: {check.__doc__} ({exc})"
            ) from exc
        finally:
            for obj in opened:
                await _close(obj)


async def _open(factory: StoreFactory, opened: list[Any]) -> Any:
    made = factory()
    if inspect.isawaitable(made):
        made = await made
    store = wait_store_for(made)
    opened.extend((store, made) if store is not made else (store,))
    return store


async def _close(obj: Any) -> None:
    close = getattr(obj, "aclose", None)
    if close is not None:
        await close()
    elif callable(getattr(obj, "close", None)):
        obj.close()
