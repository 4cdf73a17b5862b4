"""The checkpoint store protocols: the seed's four methods, plus leases and attempt counting.

``CheckpointStore`` is the protocol of cadence 0.7 (same names, same positional order), so a
store written for it keeps working: such a store gets checkpoints and resume, nothing more.
``LeasingCheckpointStore`` adds what makes resumption safe when several workers may pick up the
same run (a lease with a fencing token) and what stops a run that crashes forever on one step
(an attempt counter and the recorded cause). :class:`InMemoryCheckpointStore` is the reference
implementation; ``cadence.testing.check_checkpoint_store`` checks any store against it.

Fencing: every lease acquisition returns a token larger than any before it for that run. Writes
that carry a token (``token=``) are rejected with ``CheckpointError(code="LEASE_LOST")`` unless
that token is still the run's current, unreleased lease, so a worker that stalled past its lease
can never overwrite the progress of the worker that took over.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from cadence.exceptions import CheckpointError

__all__ = [
    "LEASE_HELD",
    "LEASE_LOST",
    "CheckpointStore",
    "LeasingCheckpointStore",
    "dump_state",
    "lease_held",
    "lease_lost",
    "load_state",
]

LEASE_HELD = "LEASE_HELD"
"""Error code: another live holder has the run's lease."""

LEASE_LOST = "LEASE_LOST"
"""Error code: a write carried a fencing token that is no longer the run's current lease."""


@runtime_checkable
class CheckpointStore(Protocol):
    """Where a run's progress is kept (the cadence 0.7 protocol).

    Implementations must make ``save_checkpoint`` atomic: after a crash a reader sees either
    the previous checkpoint or the new one (step name *and* score state), never a mix.
    """

    async def save_checkpoint(
        self,
        cadence_name: str,
        run_id: str,
        step_name: str,
        step_index: int,
        score_state: dict[str, Any],
    ) -> None:
        """Record that ``step_name`` completed, with the score as it was afterwards."""
        ...

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        """Names of the steps recorded as completed for the run (a new set)."""
        ...

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The score state saved with the latest checkpoint, or ``None``."""
        ...

    async def clear_checkpoints(self, cadence_name: str, run_id: str) -> None:
        """Forget the run's checkpoints (called when the run succeeds)."""
        ...


@runtime_checkable
class LeasingCheckpointStore(CheckpointStore, Protocol):
    """A store that can also lease runs, fence stale writers and count attempts.

    The four inherited methods additionally accept a keyword ``token``; when given, the write
    is fenced (see the module docstring).
    """

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float
    ) -> int:
        """Take the run's lease for ``ttl`` seconds and return its new fencing token.

        Raises:
            CheckpointError: ``code="LEASE_HELD"`` while another holder's lease is unexpired;
                ``details["retry_after"]`` says how many seconds it has left.
        """
        ...

    async def renew_lease(self, cadence_name: str, run_id: str, *, token: int, ttl: float) -> None:
        """Extend the lease ``token`` by ``ttl`` seconds from now; ``LEASE_LOST`` if it is gone."""
        ...

    async def release_lease(self, cadence_name: str, run_id: str, *, token: int) -> None:
        """Give the lease up; does nothing when ``token`` is no longer current."""
        ...

    async def begin_attempt(
        self, cadence_name: str, run_id: str, step_name: str, *, token: int | None = None
    ) -> int:
        """Count one more attempt at ``step_name`` and return the count.

        ``step_name`` is the first step not completed yet. The count restarts at 1 when the step
        differs from the one last counted, except that ``save_checkpoint`` itself counts as the
        first attempt at the step after the saved one (a run that progressed and then crashed
        did start that step), so the next ``begin_attempt`` then returns 2.
        """
        ...

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember why the run's latest attempt failed."""
        ...

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest recorded failure cause, or ``None``."""
        ...


def lease_held(cadence_name: str, run_id: str, holder: str, retry_after: float) -> CheckpointError:
    """The error every store raises when a run's lease belongs to a live holder."""
    return CheckpointError(
        f"run {run_id!r} of cadence {cadence_name!r} is being executed by {holder!r} "
        f"(lease expires in {retry_after:.3g}s); two workers never resume one run at once",
        code=LEASE_HELD,
        details={"holder": holder, "retry_after": max(retry_after, 0.0)},
    )


def lease_lost(cadence_name: str, run_id: str, token: int) -> CheckpointError:
    """The error every store raises for a write fenced by a token that is no longer current."""
    return CheckpointError(
        f"lease {token} on run {run_id!r} of cadence {cadence_name!r} was lost (expired and "
        "taken over, or released); this worker's write was rejected so it cannot overwrite "
        "the new holder's progress",
        code=LEASE_LOST,
        details={"token": token},
    )


def dump_state(score_state: dict[str, Any]) -> str:
    """Score state as compact JSON text, for stores that keep text."""
    try:
        return json.dumps(score_state, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"score state is not JSON-compatible ({exc}); encode scores with ScoreCodec",
            code="CHECKPOINT_UNSUPPORTED_VALUE",
        ) from exc


def load_state(text: str | bytes) -> dict[str, Any]:
    """Parse stored score state; anything unexpected is the one typed error."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"corrupt checkpoint: stored score state is not JSON ({exc})", code="CHECKPOINT_CORRUPT"
        ) from exc
    if not isinstance(value, dict):
        raise CheckpointError(
            "corrupt checkpoint: stored score state is not a JSON object", code="CHECKPOINT_CORRUPT"
        )
    return value
