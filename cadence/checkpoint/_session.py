"""One checkpointed run: lease, restore, save after each step, clean up at the end.

The runner calls :func:`open_session` when a run starts, ``step_done`` after every top-level step
(a whole ``.sync`` group or ``.child`` counts as one) and ``finish`` once at the end. Everything
that makes resumption correct lives here, so the runner's hot path stays a single ``await``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from cadence.checkpoint._protocol import LEASE_LOST
from cadence.checkpoint.codec import ScoreCodec
from cadence.exceptions import CheckpointError

__all__ = ["DEFAULT_LEASE_TTL", "CheckpointSession", "open_session"]

logger = logging.getLogger("cadence.checkpoint")

DEFAULT_LEASE_TTL = 30.0
"""Seconds a run's lease lasts without renewal; a crashed worker's runs resume after this."""


_DEFAULT_CODEC = ScoreCodec()
"""Shared so its per-class allow-list cache survives across runs (it holds no other state)."""


def _leasing(store: Any) -> bool:
    return all(
        callable(getattr(store, name, None))
        for name in (
            "acquire_lease",
            "renew_lease",
            "release_lease",
            "begin_attempt",
            "record_failure",
        )
    )


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _cause(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class CheckpointSession:
    """The checkpoint side of one run; created by :func:`open_session`.

    Attributes:
        score: The score to run on (restored in place from the latest checkpoint, if any).
        completed: Names of the steps already completed; the runner skips them.
        token: The run's fencing token, or ``None`` for stores without leases.
    """

    def __init__(
        self,
        store: Any,
        *,
        cadence_name: str,
        run_id: str,
        score: Any,
        completed: frozenset[str],
        codec: ScoreCodec,
        token: int | None,
        lease_ttl: float,
    ) -> None:
        self.store = store
        self.cadence_name = cadence_name
        self.run_id = run_id
        self.score = score
        self.completed = completed
        self.codec = codec
        self.token = token
        self._lease_ttl = lease_ttl
        self._lost: CheckpointError | None = None
        self._finished = False
        self._renewer: asyncio.Task[None] | None = None
        if token is not None:
            self._renewer = asyncio.get_running_loop().create_task(self._keep_lease())

    async def _keep_lease(self) -> None:
        """Renew the lease at a third of its lifetime so a live run never loses it."""
        assert self.token is not None
        while True:
            await asyncio.sleep(self._lease_ttl / 3)
            try:
                await self.store.renew_lease(
                    self.cadence_name, self.run_id, token=self.token, ttl=self._lease_ttl
                )
            except CheckpointError as exc:
                if exc.code == LEASE_LOST:
                    self._lost = exc
                    return
                logger.warning("renewing the lease of run %r failed: %s", self.run_id, exc)
            except Exception as exc:  # a store hiccup: try again at the next tick
                logger.warning("renewing the lease of run %r failed: %r", self.run_id, exc)

    async def step_done(self, step_name: str, step_index: int, score: Any) -> None:
        """Save a checkpoint after ``step_name`` completed.

        Raises:
            CheckpointError: the score holds a value that cannot be encoded (its path is in the
                message), or the lease was lost so this worker may no longer write.
        """
        if self._lost is not None:
            raise self._lost
        state = self.codec.encode_score(score)
        if self.token is None:
            await self.store.save_checkpoint(
                self.cadence_name, self.run_id, step_name, step_index, state
            )
        else:
            await self.store.save_checkpoint(
                self.cadence_name, self.run_id, step_name, step_index, state, token=self.token
            )

    async def finish(self, error: BaseException | None) -> None:
        """End the session: clear checkpoints on success; on failure keep them, record why.

        Idempotent. The lease is released in every case, so another worker may resume a
        failed run immediately instead of waiting for the lease to expire.
        """
        if self._finished:
            return
        self._finished = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        store, name, run_id, token = self.store, self.cadence_name, self.run_id, self.token
        if getattr(error, "suspends_run", False):
            # Parked at a wait: not a failure. Keep the checkpoints, let any worker resume.
            if token is not None:
                await store.release_lease(name, run_id, token=token)
            return
        if token is None:
            if error is None:
                await store.clear_checkpoints(name, run_id)
            return
        try:
            if error is None:
                await store.clear_checkpoints(name, run_id, token=token)
            else:
                await store.record_failure(name, run_id, _cause(error), token=token)
        except CheckpointError as exc:
            if exc.code != LEASE_LOST:
                raise
            # Another worker owns the run now; its session does the clean-up.
            logger.warning(
                "run %r: lease lost before the end of the run; leaving clean-up to its new holder",
                run_id,
            )
        finally:
            await store.release_lease(name, run_id, token=token)

    async def __aenter__(self) -> CheckpointSession:
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        await self.finish(exc)


async def open_session(
    store: Any,
    *,
    cadence_name: str,
    run_id: str,
    score: Any,
    step_names: Sequence[str],
    max_attempts: int | None = None,
    lease_ttl: float | None = None,
    codec: ScoreCodec | None = None,
) -> CheckpointSession:
    """Start (or resume) the checkpointed run ``run_id`` of ``cadence_name``.

    Takes the run's lease, restores ``score`` in place from the latest checkpoint and counts an
    attempt at the first step not yet completed.

    Args:
        store: A ``CheckpointStore``; leases and attempt counting need a ``LeasingCheckpointStore``.
        cadence_name: The cadence's name.
        run_id: Identifies the run across crashes (a job id, an order id, a request id).
        score: The score the run starts with; restored fields are written into it.
        step_names: The cadence's top-level step names, in order.
        max_attempts: Stop with ``CheckpointError`` when the same step has been started this
            many times without completing (a run that keeps crashing on it). ``None``: no limit.
        lease_ttl: Lease duration in seconds; defaults to the store's ``lease_ttl``.
        codec: How scores are encoded; defaults to the store's ``codec``, else ``ScoreCodec()``.

    Raises:
        CheckpointError: the lease is held by a live worker (``LEASE_HELD``), the attempts are
            exhausted (``CHECKPOINT_ATTEMPTS_EXHAUSTED``), or the checkpoint cannot be decoded.
    """
    if not isinstance(run_id, str) or not run_id:
        raise CheckpointError(f"a checkpointed run needs a non-empty string run_id, got {run_id!r}")
    if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
        raise CheckpointError(f"max_attempts must be a positive int or None, got {max_attempts!r}")
    codec = codec or getattr(store, "codec", None) or _DEFAULT_CODEC
    codec.allowed_types(
        type(score)
    )  # fail now, not after the first step, for a non-dataclass score
    codec._field_names(type(score))
    ttl = float(lease_ttl or getattr(store, "lease_ttl", None) or DEFAULT_LEASE_TTL)
    leasing = _leasing(store)
    if max_attempts is not None and not leasing:
        raise CheckpointError(
            f"max_attempts needs a store that counts attempts; {type(store).__name__} implements "
            "only the basic CheckpointStore protocol (use SQLiteCheckpointStore, "
            "RedisCheckpointStore or PostgresCheckpointStore)"
        )
    token = (
        await store.acquire_lease(cadence_name, run_id, holder=_holder(), ttl=ttl)
        if leasing
        else None
    )
    try:
        stored = await store.get_completed_measures(cadence_name, run_id)
        completed = frozenset(name for name in step_names if name in stored)
        state = await store.get_last_score_state(cadence_name, run_id) if completed else None
        if state is not None:
            codec.restore(score, state)
        pending = next((name for name in step_names if name not in completed), None)
        if token is not None and pending is not None:
            attempts = await store.begin_attempt(cadence_name, run_id, pending, token=token)
            if max_attempts is not None and attempts > max_attempts:
                cause = await store.get_failure(cadence_name, run_id)
                raise CheckpointError(
                    f"run {run_id!r} of cadence {cadence_name!r} stopped: step {pending!r} was "
                    f"started {attempts - 1} times without completing (max_attempts={max_attempts}); "
                    f"last recorded cause: {cause or 'none (the process died without reporting)'}",
                    code="CHECKPOINT_ATTEMPTS_EXHAUSTED",
                    details={"step": pending, "attempts": attempts - 1, "cause": cause},
                )
    except BaseException:
        if token is not None:
            await store.release_lease(cadence_name, run_id, token=token)
        raise
    return CheckpointSession(
        store,
        cadence_name=cadence_name,
        run_id=run_id,
        score=score,
        completed=completed,
        codec=codec,
        token=token,
        lease_ttl=ttl,
    )
