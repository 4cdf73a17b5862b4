"""Wait steps: park a checkpointed run until something outside it happens, then go on once.

Three things a run can wait for: an :class:`Approval` (a person decides on a payload they may
edit), a :class:`Signal` (an external event by name, with a value) and a :class:`Sleep` (a
durable timer). ``.wait(name, condition)`` is the DSL step; :func:`wait_for` is the same thing
from inside a note (an agent pausing before a tool runs).

How a wait works. The first time a run reaches a wait, :func:`wait_for` finds no record and
raises ``Suspension``, a ``BaseException`` so that no ``except Exception`` (a retry policy, a
note's own error handling) can swallow it. It unwinds the run; the checkpoint session releases
the run's lease without recording a failure; the run that owns the wait scope then *parks*:
it stores a ``waiting`` record and ``run()`` raises :class:`~cadence.exceptions.RunSuspended`.
The process may exit now. A resume resolves the record (one compare-and-set: exactly one
resumer wins) and runs the cadence again with the same run id: completed steps are skipped,
the wait finds its record resolved and returns the value, and the run goes on.

The order -- release the lease, *then* store the record -- means a resumer that saw the record
never finds the lease still held by the parking process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import math
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from cadence._clock import SystemClock
from cadence._clock import current as current_clock
from cadence._context import current_note
from cadence._map import write_field
from cadence._plan import Task, WaitStep
from cadence.checkpoint._waits import (
    APPROVAL,
    RESOLVED,
    SIGNAL,
    SLEEP,
    TIMED_OUT,
    WAITING,
    WaitRecord,
    WaitStore,
    check_json,
    wait_store_for,
)
from cadence.exceptions import CadenceDefinitionError, WaitError, WaitTimedOut

__all__ = [
    "Approval",
    "Decision",
    "Signal",
    "Sleep",
    "Suspension",
    "WaitScope",
    "after_run",
    "check_wait",
    "current_scope",
    "enter_scope",
    "leave_scope",
    "run_wait",
    "step_key",
    "wait_for",
    "wall_time",
]


def wall_time() -> float:
    """Unix time for deadlines; follows an installed ``FakeClock`` so tests need not sleep."""
    clock = current_clock()
    return time.time() if isinstance(clock, SystemClock) else clock.monotonic()


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CadenceDefinitionError(
            f"{what} must be seconds (a number or a timedelta), got {value!r}"
        )
    if value < 0:
        raise CadenceDefinitionError(f"{what} must not be negative, got {value!r}")
    return float(value)


def _instant(value: Any, what: str) -> float:
    """A point in time (aware datetime or Unix seconds) as Unix seconds."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise WaitError(
                f"{what} is a naive datetime {value!r}; give it a timezone "
                "(datetime.now(timezone.utc) + ...) so every process reads the same instant",
                code="WAIT_BAD_VALUE",
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WaitError(
            f"{what} must be an aware datetime or Unix seconds, got {value!r}",
            code="WAIT_BAD_VALUE",
        )
    return float(value)


# --- what a run can wait for -------------------------------------------------------------------


class Approval:
    """Wait for a person to approve or reject ``payload``; resumes with a :class:`Decision`.

    Args:
        payload: What the approver sees and may edit (JSON data). In a ``.wait`` step it may be
            a function of the score (sync or async) computed when the run parks.
    """

    __slots__ = ("payload",)
    kind = APPROVAL

    def __init__(self, payload: Any = None) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"Approval(payload={self.payload!r})"


class Signal:
    """Wait for the external event ``name``; resumes with the value it was sent with.

    A signal sent before the run reaches the wait is kept, and the wait returns it at once.
    """

    __slots__ = ("name",)
    kind = SIGNAL

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise CadenceDefinitionError(
                f"Signal(name) needs a non-empty event name, got {name!r}: Signal('payment_received')"
            )
        self.name = name

    def __repr__(self) -> str:
        return f"Signal({self.name!r})"


class Sleep:
    """A durable timer: the run parks and continues once the time has come, in any process.

    Give exactly one of ``seconds`` (from when the run first reaches the wait) or ``until``
    (an aware datetime or Unix seconds; in a ``.wait`` step also a function of the score).
    The time is fixed when the run parks, so resuming later never extends it.
    """

    __slots__ = ("seconds", "until")
    kind = SLEEP

    def __init__(self, seconds: float | dt.timedelta | None = None, *, until: Any = None) -> None:
        if (seconds is None) == (until is None):
            raise CadenceDefinitionError(
                "Sleep needs exactly one of seconds= or until=: Sleep(3600) or "
                "Sleep(until=lambda s: s.ship_date)"
            )
        self.seconds = None if seconds is None else _seconds(seconds, "Sleep(seconds)")
        if until is not None and not callable(until):
            _instant(until, "Sleep(until=...)")
        self.until = until

    def __repr__(self) -> str:
        return f"Sleep({self.seconds!r})" if self.until is None else f"Sleep(until={self.until!r})"


Condition = Approval | Signal | Sleep


@dataclass(frozen=True, slots=True)
class Decision:
    """An approver's answer: approved or not, with the payload as they left it.

    Resume an approval with ``True``/``False``, a ``Decision`` or the same as a dict
    (``{"approved": true, "payload": {...}, "by": "ana", "reason": "..."}``). A ``payload`` of
    ``None`` means "unchanged": the wait's own payload is filled in.
    """

    approved: bool
    payload: Any = None
    by: str | None = None
    reason: str | None = None

    @classmethod
    def approve(cls, payload: Any = None, *, by: str | None = None) -> Decision:
        """An approval, optionally with an edited payload."""
        return cls(True, payload, by)

    @classmethod
    def reject(cls, reason: str | None = None, *, by: str | None = None) -> Decision:
        """A rejection, optionally with the reason."""
        return cls(False, None, by, reason)

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON data."""
        return {
            "approved": self.approved,
            "payload": self.payload,
            "by": self.by,
            "reason": self.reason,
        }


_DECISION_KEYS = frozenset(("approved", "payload", "by", "reason"))


def decision_value(value: Any, record: WaitRecord) -> dict[str, Any]:
    """A resume value for an approval, checked and stored as a decision dict."""
    if isinstance(value, bool):
        decision = {"approved": value, "payload": None, "by": None, "reason": None}
    elif isinstance(value, Decision):
        decision = value.to_dict()
    elif (
        isinstance(value, dict)
        and set(value) <= _DECISION_KEYS
        and isinstance(value.get("approved"), bool)
    ):
        decision = {k: value.get(k) for k in ("approved", "payload", "by", "reason")}
    else:
        raise WaitError(
            f"wait {record.key!r} is an approval: resume it with True/False, "
            'Decision.approve(payload=...) / Decision.reject(reason=...) or {"approved": true, '
            f'"payload": ..., "by": ..., "reason": ...}}; got {value!r}',
            code="WAIT_BAD_VALUE",
            details={"wait": record.to_dict()},
        )
    for name in ("by", "reason"):
        if decision[name] is not None and not isinstance(decision[name], str):
            raise WaitError(
                f"a decision's {name!r} must be a string, got {decision[name]!r}",
                code="WAIT_BAD_VALUE",
            )
    if decision["payload"] is None:
        decision["payload"] = record.payload
    checked: dict[str, Any] = check_json(decision, f"the decision for wait {record.key!r}")
    return checked


# --- the run's wait scope ----------------------------------------------------------------------


class WaitScope:
    """The checkpointed run that owns the waits of everything running inside it."""

    __slots__ = ("_waits", "cadence_name", "run_id", "store", "used")

    def __init__(self, store: Any, cadence_name: str, run_id: str) -> None:
        self.store = store
        self.cadence_name = cadence_name
        self.run_id = run_id
        self.used = False  # a wait was consulted: clean the records up when the run completes
        self._waits: WaitStore | None = None

    @property
    def waits(self) -> WaitStore:
        """The wait records beside the run's checkpoints (found on first use)."""
        if self._waits is None:
            self._waits = wait_store_for(self.store)
        return self._waits


_scope: ContextVar[WaitScope | None] = ContextVar("cadence_wait_scope", default=None)


def current_scope() -> WaitScope | None:
    """The wait scope of the run executing now, or ``None`` outside a checkpointed run."""
    return _scope.get()


def enter_scope(store: Any, cadence_name: str, run_id: str) -> Token[WaitScope | None] | None:
    """Open the wait scope of a checkpointed run, unless an enclosing run already owns one.

    Waits always belong to the outermost checkpointed run, so resuming that run by its id
    finds every wait of its child cadences and nested runs too.
    """
    if _scope.get() is not None:
        return None
    return _scope.set(WaitScope(store, cadence_name, run_id))


def leave_scope(token: Token[WaitScope | None] | None) -> WaitScope | None:
    """Close a scope opened by :func:`enter_scope`; returns it (``None`` if it opened none)."""
    if token is None:
        return None
    scope = _scope.get()
    _scope.reset(token)
    return scope


class Suspension(BaseException):
    """Internal: unwinds a run to park it at a wait. Never reaches user code.

    A ``BaseException`` (like ``asyncio.CancelledError``) so that ``except Exception`` in
    notes and policies lets it through.
    """

    suspends_run = True
    code = "RUN_SUSPENDED"  # what hooks and events see: a parked run, not a failure

    def __init__(self, scope: WaitScope, record: WaitRecord) -> None:
        super().__init__(f"run {scope.run_id!r} parks at wait {record.key!r}")
        self.scope = scope
        self.record = record
        self.parked: WaitRecord | None = None


async def after_run(token: Token[WaitScope | None], error: BaseException | None) -> None:
    """End the wait scope a run opened, after its session has finished (lease released).

    A run that stopped at a wait parks now: its waiting record is stored (unless it exists),
    and the ``Suspension`` carries it up to ``run()``. A run that completed forgets its
    records, if it used any.
    """
    scope = leave_scope(token)
    if scope is None:
        return
    if isinstance(error, Suspension) and error.scope is scope:
        error.parked = await scope.waits.create_wait(error.record)
    elif error is None and scope.used:
        await scope.waits.delete_waits(scope.cadence_name, scope.run_id)


# --- waiting -------------------------------------------------------------------------------------


def _key_for(condition: Condition, key: str | None) -> str:
    if key is not None:
        if not isinstance(key, str) or not key:
            raise WaitError(
                f"wait_for(key=...) must be a non-empty string, got {key!r}",
                code="WAIT_BAD_VALUE",
            )
        return key
    if isinstance(condition, Signal):
        return f"signal:{condition.name}"
    raise WaitError(
        f"wait_for({condition!r}) needs key=: a name unique within the run that stays the same "
        "when the note runs again on resume (e.g. key=f'tool:{call.id}')",
        code="WAIT_BAD_VALUE",
    )


def _check_condition(condition: Any) -> Condition:
    if not isinstance(condition, Approval | Signal | Sleep):
        raise WaitError(
            f"wait_for() takes Approval(payload), Signal(name) or Sleep(seconds), got {condition!r}",
            code="WAIT_BAD_VALUE",
        )
    return condition


async def wait_for(
    condition: Approval | Signal | Sleep,
    *,
    key: str | None = None,
    timeout: float | dt.timedelta | None = None,  # noqa: ASYNC109 - a durable deadline, not a cancel scope
) -> Any:
    """Wait, from inside a note of a checkpointed run, until ``condition`` is met.

    The first call parks the run (the note stops here, ``run()`` raises ``RunSuspended``). When
    the run is resumed the note runs again from its start, and this call returns the value at
    once, so everything the note did before the wait must be safe to repeat (or be recorded,
    as agents record completed tool calls). A key that is already resolved returns its value
    without waiting.

    Args:
        condition: ``Approval(payload)``, ``Signal(name)`` or ``Sleep(seconds | until=)``.
        key: Names the wait within the run; required except for signals
            (``signal:<name>``). It must be the same on every execution of the note.
        timeout: Seconds (or a ``timedelta``) after which the wait times out.

    Returns:
        A :class:`Decision` for an approval, the signal's value, ``None`` for a sleep.

    Raises:
        WaitTimedOut: the deadline passed before a resume.
        WaitError: not inside a checkpointed run (``WAIT_UNSUPPORTED``), or a bad argument.
    """
    condition = _check_condition(condition)
    limit = None if timeout is None else _seconds(timeout, "wait_for(timeout=...)")
    payload = condition.payload if isinstance(condition, Approval) else None
    if callable(payload):
        raise WaitError(
            "wait_for(Approval(payload=...)) takes the payload itself inside a note; a function "
            "of the score is for .wait steps",
            code="WAIT_BAD_VALUE",
        )
    until = condition.until if isinstance(condition, Sleep) else None
    if callable(until):
        raise WaitError(
            "wait_for(Sleep(until=...)) takes a time inside a note; a function of the score is "
            "for .wait steps",
            code="WAIT_BAD_VALUE",
        )
    return await _wait(condition, _key_for(condition, key), limit, payload, until)


async def _wait(
    condition: Condition, key: str, limit: float | None, payload: Any, until: Any
) -> Any:
    scope = _scope.get()
    if scope is None:
        raise WaitError(
            f"a wait ({key!r}) can only run inside a checkpointed run: add "
            ".with_checkpoint(SQLiteCheckpointStore('runs.db')) to the cadence, so the run can "
            "be parked and resumed",
            code="WAIT_UNSUPPORTED",
        )
    scope.used = True
    waits = scope.waits
    records = await waits.get_waits(scope.cadence_name, scope.run_id)
    record = next((r for r in records if r.key == key), None)
    now = wall_time()
    if record is None:
        if isinstance(condition, Sleep):
            deadline = now + condition.seconds if condition.seconds is not None else until
            deadline = _instant(deadline, f"the end of sleep {key!r}")
            if deadline <= now:
                return None  # the time has already come: nothing to wait for
        else:
            deadline = None if limit is None else now + limit
        raise Suspension(
            scope,
            WaitRecord(
                scope.cadence_name,
                scope.run_id,
                key,
                condition.kind,
                payload=check_json(payload, f"the payload of wait {key!r}"),
                signal=condition.name if isinstance(condition, Signal) else None,
                deadline=deadline,
                created_at=now,
            ),
        )
    if record.kind != condition.kind:
        raise WaitError(
            f"wait key {key!r} of run {scope.run_id!r} belongs to a {record.kind} wait, not a "
            f"{condition.kind}; give each wait of a run its own key",
            code="WAIT_BAD_VALUE",
        )
    if record.status == WAITING:
        if record.deadline is None or now < record.deadline:
            raise Suspension(scope, record)  # not resumed yet: park again
        try:
            record = await waits.resolve_wait(
                scope.cadence_name, scope.run_id, key, value=None, now=now, timed_out=True
            )
        except WaitError as exc:
            if exc.code != "WAIT_ALREADY_RESOLVED":
                raise
            record = WaitRecord(**exc.details["wait"])  # a resume won the race: use it
    if record.status == TIMED_OUT:
        if isinstance(condition, Sleep):
            return None
        raise WaitTimedOut(
            f"wait {key!r} of run {scope.run_id!r} timed out (deadline {record.deadline}) "
            "before anyone resumed it",
            details={"wait": record.to_dict()},
        )
    assert record.status == RESOLVED
    if isinstance(condition, Approval):
        return Decision(**record.value)
    return record.value


# --- the .wait step ------------------------------------------------------------------------------


def check_wait(
    step_name: str,
    condition: Any,
    *,
    into: Any,
    timeout: Any,
    on_timeout: Any,
    when: Any = None,
    make_task: Callable[[Any, str], Task],
) -> WaitStep:
    """Validate ``.wait(...)``'s arguments and build its step record."""
    where = f".wait({step_name!r})"
    if not isinstance(condition, Approval | Signal | Sleep):
        raise CadenceDefinitionError(
            f"{where}: expected Approval(payload=...), Signal('event') or Sleep(seconds), got "
            f"{condition!r}"
        )
    if into is not None and (not isinstance(into, str) or not into.isidentifier()):
        raise CadenceDefinitionError(
            f'{where}: into must be the name of a score field, got {into!r}; e.g. into="decision"'
        )
    if isinstance(condition, Sleep) and (
        into is not None or timeout is not None or on_timeout is not None
    ):
        raise CadenceDefinitionError(
            f"{where}: a Sleep ends at its time; it takes no into=, timeout= or on_timeout="
        )
    limit = None if timeout is None else _seconds(timeout, f"{where}: timeout")
    handler = None
    if on_timeout is not None:
        if limit is None:
            raise CadenceDefinitionError(
                f"{where}: on_timeout= runs when the timeout passes; give timeout= too"
            )
        handler = make_task(on_timeout, f"{where}, on_timeout=...")
    guard = None if when is None else make_task(when, f"{where}, when=...")
    return WaitStep(step_name, condition, into, limit, handler, guard)


async def _value_of(value: Any, score: Any) -> Any:
    if callable(value):
        value = value(score)
        if inspect.isawaitable(value):
            value = await value
    return value


async def _call(task: Task, score: Any) -> Any:
    if task.is_async:
        return await task.fn(score)
    result = await asyncio.to_thread(task.fn, score)
    if inspect.isawaitable(result):
        result = await result
    return result


def step_key(step: WaitStep) -> str:
    """The wait key of a ``.wait`` step: its name, or ``signal:<name>`` for a signal.

    A signal's key is its name, so a signal sent before the run got there finds the wait.
    """
    condition = step.condition
    return f"signal:{condition.name}" if isinstance(condition, Signal) else step.name


async def run_wait(step: WaitStep, score: Any) -> Any:
    """Run a ``.wait`` step: park the run, or (resumed) write the value into ``step.into``."""
    if step.when is not None and not await _call(step.when, score):
        return score  # nothing to wait for on this run
    condition = step.condition
    payload = until = None
    if isinstance(condition, Approval):
        payload = await _value_of(condition.payload, score)
    elif isinstance(condition, Sleep) and condition.until is not None:
        until = await _value_of(condition.until, score)
    key = step_key(step)
    note, scope = current_note(), _scope.get()
    if (
        not isinstance(condition, Signal)
        and note is not None
        and scope is not None
        and note.cadence_name != scope.cadence_name
    ):
        # A nested run's waits are the outer run's records: keyed by the step name alone, its
        # "review" would find the outer step "review" resolved and take that answer. A signal
        # stays keyed by its name: senders address it to the outer run.
        key = f"{note.cadence_name}:{key}"
    try:
        value = await _wait(condition, key, step.timeout, payload, until)
    except WaitTimedOut:
        handler = step.on_timeout
        if handler is None:
            raise
        result = await _call(handler, score)
        if result is not None and result is not True and isinstance(result, type(score)):
            return result
        return score
    if step.into is not None:
        write_field(score, step.into, value)
    return score
