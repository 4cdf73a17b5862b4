"""``InMemoryCheckpointStore``: the reference implementation of the store protocols.

It keeps everything in a dict, so it survives a failed *run* but not a crashed *process*; use it
in tests and for retry-in-process. Its behaviour defines what the conformance suite expects of
every other store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cadence.checkpoint._protocol import (
    DEFAULT_RETENTION,
    check_lease_ttl,
    check_retention,
    lease_held,
    lease_lost,
)
from cadence.exceptions import CheckpointError

__all__ = ["InMemoryCheckpointStore"]


@dataclass
class _Run:
    token: int = 0
    holder: str | None = None
    expires: float = 0.0
    steps: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    attempt_step: str | None = None
    attempts: int = 0
    failure: str | None = None
    result: dict[str, Any] | None = None
    completed_at: float = 0.0


class InMemoryCheckpointStore:
    """Checkpoints, leases, attempt counts and completion records in process memory.

    Args:
        lease_ttl: Default lease duration (seconds) for sessions opened on this store.
        lease_wait: Seconds a session waits for another live holder's lease before raising
            ``LEASE_HELD``; ``None`` (default) waits up to one ``lease_ttl``, ``0`` never waits.
        retention: Seconds a completed run's record is kept (``None``: until purged).
        clock: Seconds as a float, for lease expiry and retention; inject a fake clock in tests.
    """

    def __init__(
        self,
        *,
        lease_ttl: float = 30.0,
        lease_wait: float | None = None,
        retention: float | None = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease_ttl = check_lease_ttl(lease_ttl)
        self.lease_wait = lease_wait
        self.retention = check_retention(retention)
        self._clock = clock
        self._runs: dict[tuple[str, str], _Run] = {}
        self._done: dict[tuple[str, str], float] = {}  # completion order, oldest first

    def _run(self, cadence_name: str, run_id: str) -> _Run:
        return self._runs.setdefault((cadence_name, run_id), _Run())

    def _fence(self, cadence_name: str, run_id: str, token: int | None) -> _Run:
        run = self._run(cadence_name, run_id)
        if token is not None and (run.token != token or run.holder is None):
            raise lease_lost(cadence_name, run_id, token)
        return run

    async def save_checkpoint(
        self,
        cadence_name: str,
        run_id: str,
        step_name: str,
        step_index: int,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Record a completed step and the score after it (fenced when ``token`` is given)."""
        run = self._fence(cadence_name, run_id, token)
        # Copy: the caller may keep mutating the dict it handed us.
        run.state = _copy_state(score_state)
        run.steps[step_name] = step_index
        if run.result is not None:  # progress means unfinished: an earlier completion goes
            run.result = None
            self._done.pop((cadence_name, run_id), None)
        run.attempt_step, run.attempts = "", 1  # the step after this one has now been started

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        """Names of the completed steps."""
        run = self._runs.get((cadence_name, run_id))
        return set(run.steps) if run else set()

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """A copy of the latest saved score state, or ``None``."""
        run = self._runs.get((cadence_name, run_id))
        return _copy(run.state) if run and run.state is not None else None

    async def clear_checkpoints(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Forget steps, state, attempts and failure; the lease and token counter stay."""
        if (cadence_name, run_id) not in self._runs:
            return
        run = self._fence(cadence_name, run_id, token)
        run.steps.clear()
        run.state = run.result = None
        run.attempt_step, run.attempts, run.failure = None, 0, None
        self._done.pop((cadence_name, run_id), None)

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float, replace: str | None = None
    ) -> int:
        """Take the lease unless a different live holder (other than ``replace``) has it."""
        run = self._run(cadence_name, run_id)
        now = self._clock()
        if run.holder not in (None, holder, replace) and run.expires > now:
            raise lease_held(cadence_name, run_id, run.holder, run.expires - now)
        run.token += 1
        run.holder, run.expires = holder, now + ttl
        return run.token

    async def renew_lease(self, cadence_name: str, run_id: str, *, token: int, ttl: float) -> None:
        """Extend a lease that is still current."""
        run = self._fence(cadence_name, run_id, token)
        run.expires = self._clock() + ttl

    async def release_lease(self, cadence_name: str, run_id: str, *, token: int) -> None:
        """Release the lease if ``token`` is current."""
        run = self._runs.get((cadence_name, run_id))
        if run is not None and run.token == token:
            run.holder = None

    async def begin_attempt(
        self, cadence_name: str, run_id: str, step_name: str, *, token: int | None = None
    ) -> int:
        """Count an attempt at ``step_name``."""
        run = self._fence(cadence_name, run_id, token)
        if run.attempt_step not in (step_name, ""):
            run.attempt_step, run.attempts = step_name, 0
        run.attempts += 1
        return run.attempts

    async def end_attempt(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Take back the attempt counted last (the run parked at a wait: no failure)."""
        run = self._fence(cadence_name, run_id, token)
        run.attempts = max(0, run.attempts - 1)

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember the cause of the latest failure."""
        self._fence(cadence_name, run_id, token).failure = cause

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest failure cause."""
        run = self._runs.get((cadence_name, run_id))
        return run.failure if run else None

    async def complete_run(
        self,
        cadence_name: str,
        run_id: str,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Replace the run's checkpoints by its completion record and release ``token``."""
        run = self._fence(cadence_name, run_id, token)
        now = self._clock()
        self._expire(now)
        run.result, run.completed_at = _copy_state(score_state), now
        run.steps.clear()
        run.state = None
        run.attempt_step, run.attempts, run.failure = None, 0, None
        if token is not None:
            run.holder = None
        key = (cadence_name, run_id)
        self._done.pop(key, None)
        self._done[key] = now

    async def get_completion(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """A copy of the completed run's final state, unless it is older than ``retention``."""
        run = self._runs.get((cadence_name, run_id))
        if run is None or run.result is None or self._expired(run.completed_at, self._clock()):
            return None
        return _copy_state(run.result)

    async def purge_completed(
        self, *, older_than: float | None = None, cadence_name: str | None = None
    ) -> int:
        """Delete completion records older than ``older_than`` (default: ``retention``) seconds."""
        age = self.retention if older_than is None else older_than
        if age is None:
            return 0
        cutoff = self._clock() - age
        doomed = [
            key
            for key, at in self._done.items()
            if at <= cutoff and (cadence_name is None or key[0] == cadence_name)
        ]
        for key in doomed:
            self._forget(key)
        return len(doomed)

    def _expired(self, completed_at: float, now: float) -> bool:
        return self.retention is not None and completed_at + self.retention <= now

    def _expire(self, now: float) -> None:
        """Drop completion records past retention, oldest first (so memory stays bounded)."""
        while self._done:
            key, at = next(iter(self._done.items()))
            if not self._expired(at, now):
                return
            self._forget(key)

    def _forget(self, key: tuple[str, str]) -> None:
        self._done.pop(key, None)
        run = self._runs.get(key)
        if run is not None and run.result is not None and run.holder is None:
            del self._runs[key]


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    try:
        return _copy(state)  # type: ignore[no-any-return]
    except RecursionError:
        raise CheckpointError(
            "score state is nested too deeply to store; encode scores with ScoreCodec",
            code="CHECKPOINT_UNSUPPORTED_VALUE",
        ) from None


def _copy(value: Any) -> Any:
    """Copy JSON-shaped data (dicts, lists, scalars); much cheaper than ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value
