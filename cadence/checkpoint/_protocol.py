"""The checkpoint store protocols: the seed's four methods, plus leases, attempts and completion.

``CheckpointStore`` is the protocol of cadence 0.7 (same names, same positional order), so a
store written for it keeps working: such a store gets checkpoints and resume, nothing more.
``LeasingCheckpointStore`` adds what makes resumption safe when several workers may pick up the
same run (a lease with a fencing token), what stops a run that crashes forever on one step (an
attempt counter and the recorded cause) and what keeps a finished run finished (a *completion
record*: the final score, kept for the store's ``retention``, so running the same run id again
returns it and executes nothing). :class:`InMemoryCheckpointStore` is the reference
implementation; ``cadence.testing.check_checkpoint_store`` checks any store against it.

Fencing: every lease acquisition returns a token larger than any before it for that run. Writes
that carry a token (``token=``) are rejected with ``CheckpointError(code="LEASE_LOST")`` unless
that token is still the run's current, unreleased lease, so a worker that stalled past its lease
can never overwrite the progress of the worker that took over.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol, runtime_checkable

from cadence.exceptions import CheckpointError

__all__ = [
    "CORRUPT",
    "DEFAULT_RETENTION",
    "LEASE_HELD",
    "LEASE_LOST",
    "CheckpointStore",
    "LeasingCheckpointStore",
    "check_lease_ttl",
    "check_retention",
    "corrupt_record",
    "dump_state",
    "lease_held",
    "lease_lost",
    "load_state",
]

LEASE_HELD = "LEASE_HELD"
"""Error code: another live holder has the run's lease."""

LEASE_LOST = "LEASE_LOST"
"""Error code: a write carried a fencing token that is no longer the run's current lease."""

CORRUPT = "CHECKPOINT_CORRUPT"
"""Error code: a stored record (state, lease field, step list) is malformed or inconsistent."""

DEFAULT_RETENTION = 7 * 24 * 3600.0
"""Seconds a completion record is kept by default (a week), like an idempotency key's lifetime."""


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
        """Forget the run's checkpoints, and its completion record: the run id starts afresh.

        Sessions on a store without completion records call it when a run succeeds.
        """
        ...


@runtime_checkable
class LeasingCheckpointStore(CheckpointStore, Protocol):
    """A store that can also lease runs, fence stale writers and count attempts.

    The four inherited methods additionally accept a keyword ``token``; when given, the write
    is fenced (see the module docstring).
    """

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float, replace: str | None = None
    ) -> int:
        """Take the run's lease for ``ttl`` seconds and return its new fencing token.

        ``replace`` names a holder known to be dead (see ``cadence.checkpoint._holder``): its
        lease is taken over even though it has not expired. Check and take-over are one atomic
        step, so a lease that changed hands in between is never stolen.

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

    async def complete_run(
        self,
        cadence_name: str,
        run_id: str,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Record that the run finished with ``score_state``, in one atomic write.

        The completion record replaces the run's checkpoints (steps, state, attempts, failure
        are forgotten) and ``token``'s lease is released. It is kept for the store's
        ``retention`` seconds (``None``: until purged); ``clear_checkpoints`` deletes it too.
        """
        ...

    async def get_completion(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The final score state of a completed run, or ``None`` (unfinished, purged, expired)."""
        ...

    async def purge_completed(
        self, *, older_than: float | None = None, cadence_name: str | None = None
    ) -> int:
        """Delete completion records older than ``older_than`` seconds; return how many.

        ``older_than`` defaults to the store's ``retention``; ``0`` deletes every completion
        record. ``cadence_name`` limits the purge to one cadence. Unfinished runs (checkpoints
        of a run that failed or is in flight) are never deleted by a purge.
        """
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


_NOT_SHOWN: Any = object()


def corrupt_record(
    cadence_name: str, run_id: str, what: str, value: Any = _NOT_SHOWN
) -> CheckpointError:
    """The error for a stored field that cannot be what the store wrote (tampering, a bad tool).

    ``what`` names the field or states the problem; ``value`` (if given) is shown, shortened.
    """
    problem = what
    if value is not _NOT_SHOWN:
        shown = repr(value)
        problem = f"{what} is {shown if len(shown) <= 80 else shown[:77] + '...'}"
    return CheckpointError(
        f"corrupt checkpoint record of run {run_id!r} of cadence {cadence_name!r}: {problem}; "
        "clear the run (store.clear_checkpoints) to start it again",
        code=CORRUPT,
        details={"field": what},
    )


def check_retention(retention: float | None) -> float | None:
    """Validate a store's ``retention`` argument (seconds > 0, or ``None`` for no expiry)."""
    if retention is None:
        return None
    if (
        isinstance(retention, bool)
        or not isinstance(retention, int | float)
        or not 0 < retention < math.inf
    ):
        raise ValueError(
            f"retention must be a finite number of seconds > 0, or None to keep completion "
            f"records until purged; got {retention!r}"
        )
    return float(retention)


def check_lease_ttl(lease_ttl: float) -> float:
    """Validate a store's ``lease_ttl`` (seconds > 0): a lease that is expired as soon as it
    is taken lets a second worker run the same run id at once."""
    if (
        isinstance(lease_ttl, bool)
        or not isinstance(lease_ttl, int | float)
        or not 0 < lease_ttl < math.inf
    ):
        # Infinite is refused too: a holder that died on another machine would keep the run.
        raise ValueError(
            f"lease_ttl must be a finite number of seconds > 0 (default 30); got {lease_ttl!r}"
        )
    return float(lease_ttl)


def dump_state(score_state: dict[str, Any]) -> str:
    """Score state as compact JSON text, for stores that keep text."""
    try:
        return json.dumps(score_state, separators=(",", ":"), allow_nan=False)
    except RecursionError as exc:
        raise CheckpointError(
            "score state is nested too deeply to store; encode scores with ScoreCodec",
            code="CHECKPOINT_UNSUPPORTED_VALUE",
        ) from exc
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"score state is not JSON-compatible ({exc}); encode scores with ScoreCodec",
            code="CHECKPOINT_UNSUPPORTED_VALUE",
        ) from exc


def load_state(text: str | bytes) -> dict[str, Any]:
    """Parse stored score state; anything unexpected is the one typed error."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise CheckpointError(
            "corrupt checkpoint: stored score state is nested too deeply to read", code=CORRUPT
        ) from exc
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"corrupt checkpoint: stored score state is not JSON ({exc})", code=CORRUPT
        ) from exc
    if not isinstance(value, dict):
        raise CheckpointError(
            "corrupt checkpoint: stored score state is not a JSON object", code=CORRUPT
        )
    return value
