"""One checkpointed run: lease, restore, save after each step, record completion at the end.

The runner calls :func:`open_session` when a run starts, ``step_done`` after every top-level step
(a whole ``.sync`` group or ``.child`` counts as one) and ``finish`` once at the end. Everything
that makes resumption correct lives here, so the runner's hot path stays a single ``await``:

- A run whose completion record exists is *replayed*: the session restores the recorded final
  score, marks every step completed and takes no lease, so the runner executes nothing.
- A lease held by a provably dead process (``kill -9`` on this machine) is taken over at once;
  one held by anybody else is waited for, up to ``lease_wait`` seconds (default: one lease
  lifetime, enough for any dead holder's lease to expire), then ``LEASE_HELD`` is raised.
- Steps recorded without the score state they were saved with is a corrupt record
  (``CheckpointError``), never a silent restart on a fresh score.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from cadence import _clock
from cadence.checkpoint._holder import holder_id, holder_is_dead
from cadence.checkpoint._protocol import CORRUPT, LEASE_HELD, LEASE_LOST
from cadence.checkpoint.codec import ScoreCodec
from cadence.exceptions import CheckpointError

__all__ = ["DEFAULT_LEASE_TTL", "CheckpointSession", "open_session"]

logger = logging.getLogger("cadence.checkpoint")

DEFAULT_LEASE_TTL = 30.0
"""Seconds a run's lease lasts without renewal; a crashed worker's runs resume after this."""

_LEASE_POLL = 1.0
"""Longest pause between two tries at a held lease (a live holder may finish and release it);
shorter leases are polled ten times per lifetime."""

_DEFAULT_CODEC = ScoreCodec()
"""Shared so its per-class allow-list cache survives across runs (it holds no other state)."""

_LEASE_METHODS = (
    "acquire_lease",
    "renew_lease",
    "release_lease",
    "begin_attempt",
    "record_failure",
)
_COMPLETION_METHODS = ("complete_run", "get_completion")


def _has(store: Any, names: Sequence[str]) -> bool:
    return all(callable(getattr(store, name, None)) for name in names)


def _leasing(store: Any) -> bool:
    return _has(store, _LEASE_METHODS)


START = "cadence:start"
"""The checkpoint that keeps a run's input score when it parks before any step completed.

Not a step name (a step name has no colon), so no step counts as completed by it; a resume
restores the input from it and runs the first step again."""


def _cause(error: BaseException) -> str:
    """The failure cause a store records: text every store can keep.

    Stores keep UTF-8 text and PostgreSQL refuses NUL, so a message holding a lone surrogate
    (an undecodable file name) or a NUL is escaped, or the store's encoding error would replace
    the run's own error and the cause would go unrecorded.
    """
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not hide the failure either
        message = "<the exception's str() failed>"
    text = f"{type(error).__name__}: {message}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class CheckpointSession:
    """The checkpoint side of one run; created by :func:`open_session`.

    Attributes:
        score: The score to run on (restored in place from the latest checkpoint, or from the
            completion record of a run that already finished).
        completed: Names of the steps already completed; the runner skips them.
        token: The run's fencing token, or ``None`` (stores without leases, replayed runs).
        replayed: The run had finished before: ``score`` is its recorded result, every step is
            in ``completed`` and nothing may execute.
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
        last_step: str | None = None,
        replayed: bool = False,
        start_state: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.cadence_name = cadence_name
        self.run_id = run_id
        self.score = score
        self.completed = completed
        self.codec = codec
        self.token = token
        self.replayed = replayed
        self._lease_ttl = lease_ttl
        self._records_completion = not replayed and _has(store, _COMPLETION_METHODS)
        self._last_step = last_step if self._records_completion else None
        self._lost: CheckpointError | None = None
        self._finished = replayed
        self._renewer: asyncio.Task[None] | None = None
        # The input score, encoded before any step ran: saved only if the run parks at once.
        self._start_state = start_state
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

        After the cadence's last step this writes the completion record instead (one durable
        write, not two), which also ends the session.

        Raises:
            CheckpointError: the score holds a value that cannot be encoded (its path is in the
                message), or the lease was lost so this worker may no longer write.
        """
        if self._lost is not None:
            raise self._lost
        if self._finished:
            raise CheckpointError(
                f"run {self.run_id!r}: step {step_name!r} reported after the session ended"
            )
        self._start_state = None  # a step's checkpoint holds the score from now on
        state = self.codec.encode_score(score)
        if step_name == self._last_step:
            await self._complete(state)
        elif self.token is None:
            await self.store.save_checkpoint(
                self.cadence_name, self.run_id, step_name, step_index, state
            )
        else:
            await self.store.save_checkpoint(
                self.cadence_name, self.run_id, step_name, step_index, state, token=self.token
            )

    async def _complete(self, state: dict[str, Any]) -> None:
        """Write the completion record (it releases the lease) and stop renewing."""
        await self._stop_renewing()
        try:
            if self.token is None:
                await self.store.complete_run(self.cadence_name, self.run_id, state)
            else:
                await self.store.complete_run(
                    self.cadence_name, self.run_id, state, token=self.token
                )
            self._finished = True
        except CheckpointError as exc:
            if exc.code != LEASE_LOST:
                raise  # finish(error) follows: it records the failure and releases the lease
            self._finished = True
            # Another worker owns the run now (this one stalled past its lease); it completes it.
            logger.warning(
                "run %r: lease lost before the end of the run; leaving completion to its new "
                "holder",
                self.run_id,
            )

    async def _stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    async def finish(self, error: BaseException | None, score: Any = None) -> None:
        """End the session: on success record completion, on failure keep checkpoints and why.

        Idempotent. ``score`` is the run's final score (needed when the run ended early, e.g.
        by ``Skip``, so the completion record holds what the run returned). Stores without
        completion records get ``clear_checkpoints`` on success, as in cadence 0.7. The lease
        is released in every case, so another worker may resume a failed run at once.
        """
        if self._finished:
            return
        if error is None and self._records_completion:
            final = self.score if score is None else score
            await self._complete(self.codec.encode_score(final))
            return
        self._finished = True
        await self._stop_renewing()
        store, name, run_id, token = self.store, self.cadence_name, self.run_id, self.token
        if getattr(error, "suspends_run", False):
            # Parked at a wait: not a failure. Keep the checkpoints, let any worker resume.
            try:
                if self._start_state is not None:  # parked before any checkpoint: keep the input
                    if token is None:
                        await store.save_checkpoint(name, run_id, START, -1, self._start_state)
                    else:
                        await store.save_checkpoint(
                            name, run_id, START, -1, self._start_state, token=token
                        )
                # A park is not a failed start: give the attempt back, or max_attempts would
                # stop a run after that many approvals (with the last approval consumed).
                end_attempt = getattr(store, "end_attempt", None)
                if token is not None and end_attempt is not None:
                    await end_attempt(name, run_id, token=token)
            finally:
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


async def _acquire(
    store: Any, cadence_name: str, run_id: str, *, ttl: float, wait: float, completing: bool
) -> int | None:
    """Take the run's lease; ``None`` if the run turned out completed while we waited.

    A provably dead holder's lease is taken over at once; any other holder's is retried until
    ``wait`` seconds have passed (polling, so a live holder that finishes early lets us in).
    """
    holder = holder_id()
    deadline = _clock.monotonic() + wait
    replace: str | None = None
    while True:
        try:
            if replace is None:
                return int(await store.acquire_lease(cadence_name, run_id, holder=holder, ttl=ttl))
            return int(
                await store.acquire_lease(
                    cadence_name, run_id, holder=holder, ttl=ttl, replace=replace
                )
            )
        except CheckpointError as exc:
            if exc.code != LEASE_HELD:
                raise
            current = exc.details.get("holder")
            if current != replace and holder_is_dead(current):
                logger.info(
                    "run %r: taking over the lease of %s, a process that no longer exists",
                    run_id,
                    current,
                )
                replace = current
                continue
            left = deadline - _clock.monotonic()
            if left <= 0:
                raise
            if completing and await store.get_completion(cadence_name, run_id) is not None:
                return None
            retry_after = float(exc.details.get("retry_after") or 0.0)
            await _clock.sleep(max(0.001, min(retry_after, left, _LEASE_POLL, ttl / 10)))


async def open_session(
    store: Any,
    *,
    cadence_name: str,
    run_id: str,
    score: Any,
    step_names: Sequence[str],
    max_attempts: int | None = None,
    lease_ttl: float | None = None,
    lease_wait: float | None = None,
    codec: ScoreCodec | None = None,
) -> CheckpointSession:
    """Start, resume or replay the checkpointed run ``run_id`` of ``cadence_name``.

    A run with a completion record is replayed (see :class:`CheckpointSession`). Otherwise the
    session takes the run's lease, restores ``score`` in place from the latest checkpoint and
    counts an attempt at the first step not yet completed.

    Args:
        store: A ``CheckpointStore``; leases, attempt counting and completion records need a
            ``LeasingCheckpointStore``.
        cadence_name: The cadence's name.
        run_id: Identifies the run across crashes (a job id, an order id, a request id).
        score: The score the run starts with; restored fields are written into it.
        step_names: The cadence's top-level step names, in order.
        max_attempts: Stop with ``CheckpointError`` when the same step has been started this
            many times without completing (a run that keeps crashing on it). ``None``: no limit.
        lease_ttl: Lease duration in seconds; defaults to the store's ``lease_ttl``.
        lease_wait: Seconds to wait for a lease held by a live (or not provably dead) worker;
            defaults to the store's ``lease_wait``, else ``lease_ttl``. ``0`` fails at once.
        codec: How scores are encoded; defaults to the store's ``codec``, else ``ScoreCodec()``.

    Raises:
        CheckpointError: the lease stayed held by another worker (``LEASE_HELD``), the attempts
            are exhausted (``CHECKPOINT_ATTEMPTS_EXHAUSTED``), or the stored records cannot be
            decoded or contradict each other (``CHECKPOINT_CORRUPT``).
    """
    if not isinstance(run_id, str) or not run_id:
        raise CheckpointError(f"a checkpointed run needs a non-empty string run_id, got {run_id!r}")
    if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
        raise CheckpointError(f"max_attempts must be a positive int or None, got {max_attempts!r}")
    codec = codec or getattr(store, "codec", None) or _DEFAULT_CODEC
    # Fail now, not after the first step, for a score the codec cannot handle.
    codec.allowed_types(type(score))
    codec._field_names(type(score))
    ttl = float(lease_ttl or getattr(store, "lease_ttl", None) or DEFAULT_LEASE_TTL)
    if lease_wait is None:
        lease_wait = getattr(store, "lease_wait", None)
    wait = ttl if lease_wait is None else float(lease_wait)
    leasing = _leasing(store)
    completing = _has(store, _COMPLETION_METHODS)
    if max_attempts is not None and not leasing:
        raise CheckpointError(
            f"max_attempts needs a store that counts attempts; {type(store).__name__} implements "
            "only the basic CheckpointStore protocol (use SQLiteCheckpointStore, "
            "RedisCheckpointStore or PostgresCheckpointStore)"
        )
    session: dict[str, Any] = {
        "cadence_name": cadence_name,
        "run_id": run_id,
        "score": score,
        "codec": codec,
        "lease_ttl": ttl,
    }

    async def replay() -> CheckpointSession | None:
        final = await store.get_completion(cadence_name, run_id) if completing else None
        if final is None:
            return None
        codec.restore(score, final)
        return CheckpointSession(
            store, completed=frozenset(step_names), token=None, replayed=True, **session
        )

    replayed = await replay()
    if replayed is not None:
        return replayed
    token = None
    if leasing:
        token = await _acquire(
            store, cadence_name, run_id, ttl=ttl, wait=wait, completing=completing
        )
        if token is None:  # the holder we waited for completed the run
            replayed = await replay()
            if replayed is not None:
                return replayed
            token = await _acquire(store, cadence_name, run_id, ttl=ttl, wait=0, completing=False)
    try:
        # A worker that held the lease before us may have completed the run meanwhile.
        replayed = await replay() if token is not None else None
        if replayed is not None:
            await store.release_lease(cadence_name, run_id, token=token)
            return replayed
        completed = await _restore(store, codec, cadence_name, run_id, score, step_names)
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
        completed=completed,
        token=token,
        last_step=step_names[-1] if step_names else None,
        start_state=None if completed else codec.encode_score(score),
        **session,
    )


async def _restore(
    store: Any,
    codec: ScoreCodec,
    cadence_name: str,
    run_id: str,
    score: Any,
    step_names: Sequence[str],
) -> frozenset[str]:
    """Restore ``score`` from the latest checkpoint; return the completed step names."""
    stored = await store.get_completed_measures(cadence_name, run_id)
    completed = frozenset(name for name in step_names if name in stored)
    if not completed and START not in stored:
        return completed
    state = await store.get_last_score_state(cadence_name, run_id)
    if state is None:
        raise CheckpointError(
            f"corrupt checkpoint of run {run_id!r} of cadence {cadence_name!r}: steps "
            f"{sorted(completed)} are recorded as completed but the score state saved with them "
            "is missing, so the run can neither resume nor safely start again (its completed "
            "work would be repeated); inspect the store, then clear the run "
            "(store.clear_checkpoints) to start it afresh",
            code=CORRUPT,
            details={"completed": sorted(completed)},
        )
    codec.restore(score, state)
    return completed
