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

from cadence.checkpoint._protocol import lease_held, lease_lost

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


class InMemoryCheckpointStore:
    """Checkpoints, leases and attempt counts in process memory.

    Args:
        lease_ttl: Default lease duration (seconds) for sessions opened on this store.
        clock: Seconds as a float, for lease expiry; inject a fake clock in tests.
    """

    def __init__(
        self, *, lease_ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lease_ttl = lease_ttl
        self._clock = clock
        self._runs: dict[tuple[str, str], _Run] = {}

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
        run.state = _copy(score_state)
        run.steps[step_name] = step_index
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
        run.state = None
        run.attempt_step, run.attempts, run.failure = None, 0, None

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float
    ) -> int:
        """Take the lease unless a different holder's lease is unexpired."""
        run = self._run(cadence_name, run_id)
        now = self._clock()
        if run.holder is not None and run.holder != holder and run.expires > now:
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

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember the cause of the latest failure."""
        self._fence(cadence_name, run_id, token).failure = cause

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest failure cause."""
        run = self._runs.get((cadence_name, run_id))
        return run.failure if run else None


def _copy(value: Any) -> Any:
    """Copy JSON-shaped data (dicts, lists, scalars); much cheaper than ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value
