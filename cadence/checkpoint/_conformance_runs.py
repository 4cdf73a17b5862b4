"""Conformance checks for completion records, retention and lease take-over.

Part of ``check_checkpoint_store`` (see :mod:`cadence.checkpoint.conformance`); the checks here
drive whole runs through :func:`~cadence.checkpoint.open_session` and ``Cadence.run``, so a
store is checked for what users rely on -- a finished run stays finished, a killed worker's
lease does not block its successor -- not only method by method.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from typing import Any

from cadence.checkpoint._holder import machine_id
from cadence.exceptions import CheckpointError

__all__ = ["RUN_CHECKS"]


@dataclasses.dataclass
class _Tally:
    """The score of the conformance runs (module level, so the codec can name its class)."""

    trail: list[str] = dataclasses.field(default_factory=list)


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"conformance:{tag}", f"run/{tag}:1"


async def _refused(write: Any, code: str, what: str) -> None:
    try:
        await write
    except CheckpointError as exc:
        assert exc.code == code, f"{what}: expected {code}, got {exc.code}"
    else:
        raise AssertionError(f"{what}: expected CheckpointError({code})")


async def _check_completion_record(store: Any) -> None:
    """Completing a run replaces its checkpoints by one record and releases its lease."""
    c, r = _names()
    token = await store.acquire_lease(c, r, holder="w1", ttl=30)
    await store.save_checkpoint(c, r, "a", 0, {"v": 1}, token=token)
    await store.record_failure(c, r, "boom", token=token)
    assert await store.get_completion(c, r) is None, "an unfinished run has no completion"
    await store.complete_run(c, r, {"v": "final"}, token=token)
    assert await store.get_completion(c, r) == {"v": "final"}
    assert await store.get_completed_measures(c, r) == set()
    assert await store.get_last_score_state(c, r) is None
    assert await store.get_failure(c, r) is None
    await _refused(
        store.save_checkpoint(c, r, "b", 1, {"v": 2}, token=token), "LEASE_LOST", "released token"
    )
    again = await store.acquire_lease(c, r, holder="w2", ttl=30)  # released: no LEASE_HELD
    assert again > token
    await store.release_lease(c, r, token=again)
    await store.clear_checkpoints(c, r)
    assert await store.get_completion(c, r) is None, "clear_checkpoints must forget completion"


async def _check_progress_supersedes_completion(store: Any) -> None:
    """Saving a checkpoint starts the run afresh: its old completion record is dropped."""
    c, r = _names()
    await store.complete_run(c, r, {"v": "old"})
    assert await store.get_completion(c, r) == {"v": "old"}
    await store.save_checkpoint(c, r, "a", 0, {"v": "new"})
    assert await store.get_completion(c, r) is None
    assert await store.get_completed_measures(c, r) == {"a"}


async def _check_purge(store: Any) -> None:
    """A purge deletes completion records (of one cadence if named), never unfinished runs."""
    c, r = _names()
    other, _ = _names()
    await store.complete_run(c, r, {"v": 1})
    await store.complete_run(c, r + "b", {"v": 2})
    await store.complete_run(other, r, {"v": 3})
    await store.save_checkpoint(c, r + "c", "a", 0, {"v": 4})
    assert await store.purge_completed(older_than=3600, cadence_name=c) == 0, "none that old"
    assert await store.purge_completed(older_than=0, cadence_name=c) == 2
    assert await store.get_completion(c, r) is None
    assert await store.get_completion(other, r) == {"v": 3}, "another cadence was purged"
    assert await store.get_completed_measures(c, r + "c") == {"a"}, "an unfinished run was purged"
    await store.purge_completed(older_than=0, cadence_name=other)


async def _check_retention(store: Any) -> None:
    """A completion record older than the store's ``retention`` is no longer returned."""
    if not hasattr(store, "retention"):
        return  # the store has no retention setting to check (records live until purged)
    store.retention = 0.3
    c, r = _names()
    await store.complete_run(c, r, {"v": 1})
    assert await store.get_completion(c, r) == {"v": 1}
    await asyncio.sleep(0.6)
    assert await store.get_completion(c, r) is None, "an expired completion record was returned"


async def _check_replace_dead_holder(store: Any) -> None:
    """``replace=`` takes over exactly the named holder's live lease, nobody else's."""
    c, r = _names()
    first = await store.acquire_lease(c, r, holder="dead", ttl=30)
    second = await store.acquire_lease(c, r, holder="w2", ttl=30, replace="dead")
    assert second > first
    await _refused(
        store.save_checkpoint(c, r, "a", 0, {}, token=first), "LEASE_LOST", "replaced holder"
    )
    await _refused(
        store.acquire_lease(c, r, holder="w3", ttl=30, replace="dead"),
        "LEASE_HELD",
        "replace= named a holder that no longer has the lease",
    )


def _dead_holder() -> str:
    """A holder name that provably denotes no live process (our pid, another process tag)."""
    return f"{machine_id()}:{os.getpid()}:not-this-process:0"


async def _check_completed_run_executes_nothing(store: Any) -> None:
    """Running a completed run id again returns its result and executes no step."""
    from cadence import Cadence

    c, r = _names()
    calls: list[str] = []

    def step(name: str) -> Any:
        def run(score: _Tally) -> None:
            calls.append(name)
            score.trail.append(name)

        return run

    cadence = Cadence(c, _Tally()).with_checkpoint(store)
    cadence.then("a", step("a")).then("b", step("b"))
    first = await cadence.run(_Tally(), run_id=r)
    again = await cadence.run(_Tally(), run_id=r)
    assert calls == ["a", "b"], f"steps ran again for a completed run: {calls}"
    assert first.trail == again.trail == ["a", "b"]


async def _check_steps_without_state_refused(store: Any) -> None:
    """Steps the store reports without a score state stop the run with CHECKPOINT_CORRUPT."""
    from cadence.checkpoint._session import open_session

    c, r = _names()
    await store.save_checkpoint(c, r, "a", 0, {"format": "x"})
    assert await store.get_last_score_state(c, r) is not None, "a save must keep its state"

    class LostState:  # the store as it would look had the state record been lost
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get_last_score_state(self, cadence_name: str, run_id: str) -> None:
            return None

    await _refused(
        open_session(LostState(), cadence_name=c, run_id=r, score=_Tally(), step_names=["a", "b"]),
        "CHECKPOINT_CORRUPT",
        "recorded steps without a state",
    )


async def _check_dead_holder_lease_does_not_block(store: Any) -> None:
    """A killed process's unexpired lease is taken over at once; a live one is waited for."""
    from cadence.checkpoint._session import open_session

    c, r = _names()
    await store.acquire_lease(c, r, holder=_dead_holder(), ttl=30)
    session = await open_session(
        store, cadence_name=c, run_id=r, score=_Tally(), step_names=["a"], lease_wait=0
    )
    await session.finish(None, _Tally(trail=["a"]))
    c, r = _names()
    await store.acquire_lease(c, r, holder="a worker on another machine", ttl=0.3)
    await _refused(
        open_session(
            store, cadence_name=c, run_id=r, score=_Tally(), step_names=["a"], lease_wait=0
        ),
        "LEASE_HELD",
        "lease_wait=0",
    )
    session = await open_session(
        store, cadence_name=c, run_id=r, score=_Tally(), step_names=["a"], lease_wait=5
    )
    await session.finish(None, _Tally())


RUN_CHECKS = [
    _check_completion_record,
    _check_progress_supersedes_completion,
    _check_purge,
    _check_retention,
    _check_replace_dead_holder,
    _check_completed_run_executes_nothing,
    _check_steps_without_state_refused,
    _check_dead_holder_lease_does_not_block,
]
