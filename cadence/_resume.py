"""Continuing parked runs: ``resume``, ``signal``, ``deliver``, ``waits`` and ``wake_due``.

Delivering a value and continuing the run are separate steps on purpose. :func:`deliver` is the
compare-and-set that makes a wait continue exactly once (the second delivery is refused with
``WAIT_ALREADY_RESOLVED``); continuing is an ordinary ``run(run_id=...)``, which any process may
do -- the run's lease keeps two of them from executing it at once, and its checkpoints make it
skip what is done. ``resume`` does both here; a web process may deliver and let a worker
continue (``CadenceActor.resume``).
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any, TypeVar

from cadence._waits import Decision, Suspension, decision_value, step_key, wall_time
from cadence.checkpoint._waits import (
    APPROVAL,
    RESOLVED,
    WAITING,
    WaitRecord,
    WaitStore,
    already_resolved,
    check_json,
    not_found,
    wait_store_for,
)
from cadence.exceptions import CheckpointError, RunSuspended, WaitError

if TYPE_CHECKING:
    from cadence._cadence import Cadence
    from cadence._plan import Plan

__all__ = ["after_park", "deliver", "list_waits", "resume", "signal", "wake_due"]

S = TypeVar("S")
logger = logging.getLogger("cadence.waits")

_MAX_REENTRIES = 100
"""Re-runs of one ``run()`` call for waits found resolved or due while parking (a bound)."""


def _store_of(cadence: Cadence[Any]) -> WaitStore:
    store = cadence.checkpoint_store
    if store is None:
        raise WaitError(
            f"cadence {cadence.name!r} has no checkpoint store, so none of its runs can be "
            "waiting; add .with_checkpoint(store) (the same store its runs park in)",
            code="WAIT_UNSUPPORTED",
        )
    return wait_store_for(store)


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise WaitError(f"run_id must be a non-empty string, got {run_id!r}", code="WAIT_BAD_VALUE")
    return run_id


async def after_park(plan: Plan[S], score: S, suspension: Suspension, hooks: Any) -> S:
    """What ``run()`` does once its run parked: raise ``RunSuspended``, or go on at once.

    A wait can be resolved while its run parks (a signal that arrived in between) or already
    be due (a timeout of zero); then nobody would ever continue the run, so it continues here.
    """
    from cadence._runner import run_plan

    for _ in range(_MAX_REENTRIES):
        parked = suspension.parked
        assert parked is not None
        waiting = parked.status == WAITING
        if waiting and (parked.deadline is None or parked.deadline > wall_time()):
            raise RunSuspended(parked.cadence_name, parked.run_id, (parked,)) from None
        try:
            result: S = await run_plan(plan, score, parked.run_id, inherited=hooks)
            return result
        except Suspension as again:
            if again.parked is None:
                raise
            suspension = again
    raise WaitError(
        f"run {suspension.scope.run_id!r} kept finding its waits resolved while parking "
        f"({_MAX_REENTRIES} times); a note may be reusing one wait key in a loop",
        code="WAIT_LOOP",
    )


async def deliver(
    cadence: Cadence[Any],
    run_id: str,
    value: Any = None,
    *,
    wait: str | None = None,
    signal: str | None = None,
) -> WaitRecord:
    """Resolve one wait of a run (exactly once) without continuing the run.

    Args:
        cadence: The run's cadence (its checkpoint store holds the wait records).
        run_id: The parked run.
        value: The resume value: for an approval ``True``/``False``, a ``Decision`` or its dict;
            otherwise any JSON data.
        wait: The wait's key, when the run waits on several (or to be sure which one).
        signal: Deliver as this signal instead: it resolves the run's wait for the signal, or,
            if the run is not waiting for it yet, is kept until it is (``early=True``).

    Returns:
        The resolved record.

    Raises:
        WaitError: ``WAIT_NOT_FOUND``, ``WAIT_ALREADY_RESOLVED``, ``WAIT_TIMED_OUT``,
            ``WAIT_AMBIGUOUS`` or ``WAIT_BAD_VALUE`` (see :class:`~cadence.exceptions.WaitError`).
    """
    run_id = _check_run_id(run_id)
    waits = _store_of(cadence)
    name = cadence.name
    if signal is not None:
        if not isinstance(signal, str) or not signal:
            raise WaitError(
                f"signal must be a non-empty name, got {signal!r}", code="WAIT_BAD_VALUE"
            )
        if wait is not None:
            raise WaitError("give wait= or signal=, not both", code="WAIT_BAD_VALUE")
        data = check_json(value, f"the value of signal {signal!r}")
        _check_into(cadence, run_id, f"signal:{signal}", data)
        await _refuse_if_completed(cadence, run_id)  # else the signal would be kept forever
        return await waits.resolve_wait(
            name, run_id, f"signal:{signal}", value=data, now=wall_time(), early_signal=signal
        )
    records = await waits.get_waits(name, run_id)
    if wait is None:
        pending = [r for r in records if r.status == WAITING]
        if not pending:
            if records:
                await _refuse_if_completed(cadence, run_id)
                raise _not_waiting(cadence, records[-1])
            await _refuse_if_completed(cadence, run_id)
            raise not_found(name, run_id, "any wait")
        if len(pending) > 1:
            keys = ", ".join(repr(r.key) for r in pending)
            raise WaitError(
                f"run {run_id!r} waits on {keys}; name the one to resume with wait=...",
                code="WAIT_AMBIGUOUS",
                details={"keys": [r.key for r in pending]},
            )
        record = pending[0]
    else:
        found = next((r for r in records if r.key == wait), None)
        if found is None:
            await _refuse_if_completed(cadence, run_id)
            raise not_found(name, run_id, wait)
        record = found
    if record.status != WAITING:
        await _refuse_if_completed(cadence, run_id)
        raise _not_waiting(cadence, record)
    if record.kind == APPROVAL:
        data = decision_value(value, record)
    else:
        data = check_json(value, f"the value for wait {record.key!r}")
    _check_into(cadence, run_id, record.key, data)
    try:
        return await waits.resolve_wait(name, run_id, record.key, value=data, now=wall_time())
    except WaitError as exc:
        if exc.code != "WAIT_NOT_FOUND":
            raise
        # Another process resolved the wait after we read it, ran the run to its end and
        # removed its waits: that is a resume refused because it came second.
        await _refuse_if_completed(cadence, run_id)
        raise


def _not_waiting(cadence: Cadence[Any], record: WaitRecord) -> WaitError:
    """``WAIT_ALREADY_RESOLVED`` for a run that has not completed, saying how to continue it.

    Resolving a wait and continuing its run are two steps: a process that stopped (or whose
    continuation failed) in between leaves a resolved wait that no resume, inbox or
    ``wake_due`` will touch again; only ``run(run_id=...)`` continues that run.
    """
    error = already_resolved(record)
    if record.status != RESOLVED or record.early:
        return error
    return WaitError(
        f"{error.message}. If run {record.run_id!r} of cadence {cadence.name!r} did not go on "
        "after that resume (its process stopped, or the run failed), continue it with "
        f"cadence.run(run_id={record.run_id!r}): its checkpoints skip what is done",
        code=error.code,
        details={**error.details, "run_id": record.run_id},
    )


def _check_into(cadence: Cadence[Any], run_id: str, key: str, data: Any) -> None:
    """Refuse a value the ``.wait`` step's ``into=`` field cannot hold, before the wait resolves.

    The value is written into the score and checkpointed; a checkpoint whose field does not
    fit its annotation cannot be restored (``CHECKPOINT_TYPE_MISMATCH``), and with the wait
    already resolved nothing could ever continue the run. So it is refused here, while the
    resume can still be sent again with a fitting value.
    """
    from cadence._plan import WaitStep
    from cadence._typecheck import Mismatch, check, field_annotations, none_defaults

    step = next(
        (s for s in cadence.plan().steps if type(s) is WaitStep and step_key(s) == key), None
    )
    if step is None or step.into is None:
        return  # a wait_for key, or a value the step does not keep
    score_cls = type(cadence.score)
    annotation = field_annotations(score_cls).get(step.into)
    if annotation is None or (data is None and step.into in none_defaults(score_cls)):
        return
    written = Decision(**data) if step.condition.kind == APPROVAL else data
    try:
        check(written, annotation, f"$.{step.into}")
    except Mismatch as exc:
        raise WaitError(
            f"wait {key!r} of run {run_id!r} writes its value into {score_cls.__name__}.{step.into} "
            f"(annotated {exc.expected}), and {exc.path} would be a {exc.found}: send a value "
            f"that fits, or annotate the field to take it (e.g. {step.into}: Any)",
            code="WAIT_BAD_VALUE",
            details={"key": key, "field": step.into, "expected": exc.expected},
        ) from None


async def _refuse_if_completed(cadence: Cadence[Any], run_id: str) -> None:
    """Refuse a resume of a run that has finished: its waits are resolved, its records gone.

    The run's completion record (kept by cadence's stores for their ``retention``) tells a
    second resume of a completed run from one of a run that never existed; a store without
    completion records cannot tell, and the caller reports ``WAIT_NOT_FOUND``.
    """
    get_completion = getattr(cadence.checkpoint_store, "get_completion", None)
    if get_completion is None or await get_completion(cadence.name, run_id) is None:
        return
    raise WaitError(
        f"run {run_id!r} of cadence {cadence.name!r} has completed, so it waits for nothing: "
        "each wait continues its run exactly once, and this one was refused",
        code="WAIT_ALREADY_RESOLVED",
        details={"run_id": run_id, "completed": True},
    )


def _fresh(cadence: Cadence[S], score: S | None) -> S:
    # The checkpoint restores the run's fields into this score; never into the template.
    return copy.deepcopy(cadence.score) if score is None else score


async def resume(
    cadence: Cadence[S],
    run_id: str,
    value: Any = None,
    *,
    wait: str | None = None,
    score: S | None = None,
) -> S:
    """Deliver ``value`` to the run's wait and continue the run here; returns its final score."""
    record = await deliver(cadence, run_id, value, wait=wait)
    return await _continue(cadence, record, score)


async def _continue(cadence: Cadence[S], record: WaitRecord, score: S | None) -> S:
    """Continue the run of a wait just resolved; a failure says the value was delivered.

    The wait is resolved for good now, so a second resume is refused: an error here (a store
    down, a failing step, a cancelled request) must tell the caller how the run goes on.
    """
    try:
        return await cadence.run(_fresh(cadence, score), run_id=record.run_id)
    except RunSuspended:
        raise
    except BaseException as exc:
        exc.add_note(
            f"the value for wait {record.key!r} was delivered (the wait is resolved, so a "
            f"second resume is refused), but continuing run {record.run_id!r} of cadence "
            f"{cadence.name!r} stopped; continue it with cadence.run(run_id={record.run_id!r})"
        )
        raise


async def signal(
    cadence: Cadence[S], run_id: str, name: str, value: Any = None, *, score: S | None = None
) -> S | None:
    """Send signal ``name``; continue the run here if it was waiting for it.

    Returns the final score when the run was waiting and continued, ``None`` when the signal
    arrived early and is kept for the run.
    """
    record = await deliver(cadence, run_id, value, signal=name)
    if record.early:
        return None
    return await _continue(cadence, record, score)


async def list_waits(cadence: Cadence[Any], run_id: str | None = None) -> list[WaitRecord]:
    """The waits still waiting: of one run, or of every run of the cadence (an inbox)."""
    waits = _store_of(cadence)
    if run_id is not None:
        _check_run_id(run_id)
    return await waits.list_waits(cadence.name, run_id=run_id)


async def wake_due(cadence: Cadence[Any], *, limit: int | None = None) -> list[str]:
    """Continue every run whose sleep ended or whose wait timed out; return their run ids.

    Safe to call from many processes at once (a cron job, a loop in each worker): a run
    another process is already continuing is skipped. A run that fails is logged on the
    ``cadence.waits`` logger and skipped; a run that parks again at a later wait counts as
    continued.
    """
    waits = _store_of(cadence)
    due = await waits.list_waits(cadence.name, due_before=wall_time())
    woken: list[str] = []
    for record in due[:limit] if limit is not None else due:
        if record.run_id in woken:
            continue
        try:
            await cadence.run(_fresh(cadence, None), run_id=record.run_id)
        except RunSuspended:
            pass
        except CheckpointError as exc:
            if exc.code != "LEASE_HELD":
                logger.exception("waking run %r of %r failed", record.run_id, cadence.name)
                continue
            continue  # another process is continuing it
        except Exception:
            logger.exception("waking run %r of %r failed", record.run_id, cadence.name)
            continue
        woken.append(record.run_id)
    return woken
