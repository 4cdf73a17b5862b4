"""Wait records: what a parked run waits for, and the one atomic step that resolves a wait.

A record is created (if absent) when a run parks at a wait and never changes again except by
*resolution*: a compare-and-set from ``waiting`` to ``resolved`` (someone resumed it) or to
``timed_out`` (its deadline passed). Whichever resolution lands first wins; every later one
is refused with ``WAIT_ALREADY_RESOLVED``. That single transition is what makes a wait continue
exactly once, however many resumers, wakers and workers race for it.

Backends only implement ``_transact`` (read one record, let a pure function decide, write the
result, atomically), ``get_waits``, ``list_waits`` and ``delete_waits``; the rules live here,
once, for every backend.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cadence.exceptions import WaitError

__all__ = [
    "APPROVAL",
    "KINDS",
    "RESOLVED",
    "SIGNAL",
    "SLEEP",
    "TIMED_OUT",
    "WAITING",
    "Decide",
    "WaitRecord",
    "WaitStore",
    "WaitStoreBase",
    "already_resolved",
    "check_json",
    "corrupt_wait",
    "not_found",
    "record_from_json",
    "record_to_json",
]

APPROVAL = "approval"
SIGNAL = "signal"
SLEEP = "sleep"
KINDS = (APPROVAL, SIGNAL, SLEEP)

WAITING = "waiting"
RESOLVED = "resolved"
TIMED_OUT = "timed_out"
STATUSES = (WAITING, RESOLVED, TIMED_OUT)


@dataclass(frozen=True, slots=True)
class WaitRecord:
    """One wait of one run, as the store keeps it.

    Attributes:
        cadence_name: The run's cadence.
        run_id: The run.
        key: Names the wait within the run: the step name of a ``.wait`` step, ``signal:<name>``
            for a signal, or the key a note gave ``wait_for``.
        kind: ``"approval"``, ``"signal"`` or ``"sleep"``.
        status: ``"waiting"``, ``"resolved"`` or ``"timed_out"`` (its deadline passed).
        payload: What an approver sees and may edit (JSON), for approvals.
        signal: The signal's name, for signals.
        deadline: Unix time after which the wait times out (a sleep: when it ends), or ``None``.
        value: The resume value once resolved (JSON; an approval's decision as a dict).
        created_at: Unix time the run parked here (or a signal arrived early).
        resolved_at: Unix time of the resolution, or ``None``.
        early: A signal delivered before the run reached its wait (kept for it).
    """

    cadence_name: str
    run_id: str
    key: str
    kind: str
    status: str = WAITING
    payload: Any = None
    signal: str | None = None
    deadline: float | None = None
    value: Any = None
    created_at: float = 0.0
    resolved_at: float | None = None
    early: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-compatible dict (what HTTP endpoints and the CLI show)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_FIELDS = tuple(f.name for f in dataclasses.fields(WaitRecord))


def check_json(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (tuples become lists), or ``WAIT_BAD_VALUE`` naming ``what``."""
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise WaitError(
            f"{what} must be JSON data (dict, list, str, number, bool or None) so any process "
            f"can read it back: {exc}; convert it first (a Decimal to str, a datetime to "
            "isoformat(), a dataclass with dataclasses.asdict)",
            code="WAIT_BAD_VALUE",
        ) from None
    return json.loads(text)


def record_to_json(record: WaitRecord) -> str:
    """The record as compact JSON text (its values are JSON already)."""
    return json.dumps(record.to_dict(), separators=(",", ":"), allow_nan=False)


def corrupt_wait(cadence_name: str, run_id: str, problem: str) -> WaitError:
    """The error for a stored wait record that cannot be what cadence wrote."""
    return WaitError(
        f"corrupt wait record of run {run_id!r} of cadence {cadence_name!r}: {problem}",
        code="WAIT_CORRUPT",
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def record_from_json(text: str | bytes, cadence_name: str, run_id: str) -> WaitRecord:
    """Parse a stored record, checking every field's type (``WAIT_CORRUPT`` otherwise)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise corrupt_wait(cadence_name, run_id, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        raise corrupt_wait(cadence_name, run_id, "not a wait record")
    checks: dict[str, Callable[[Any], bool]] = {
        "cadence_name": lambda v: v == cadence_name,
        "run_id": lambda v: v == run_id,
        "key": lambda v: isinstance(v, str) and bool(v),
        "kind": lambda v: v in KINDS,
        "status": lambda v: v in STATUSES,
        "signal": lambda v: v is None or isinstance(v, str),
        "deadline": lambda v: v is None or _number(v),
        "created_at": _number,
        "resolved_at": lambda v: v is None or _number(v),
        "early": lambda v: isinstance(v, bool),
    }
    for name, ok in checks.items():
        if not ok(data[name]):
            raise corrupt_wait(cadence_name, run_id, f"field {name} is {data[name]!r}")
    return WaitRecord(**data)


Decide = Callable[[WaitRecord | None], WaitRecord | None]
"""Given the stored record (or ``None``), the record to store, the same one, or ``None``."""


@runtime_checkable
class WaitStore(Protocol):
    """Where wait records live; every checkpoint store of cadence has one (``wait_store_for``).

    A third-party checkpoint store gets waits by implementing these five methods itself;
    subclassing :class:`WaitStoreBase` and writing ``_transact`` and the three reads is enough.
    """

    async def create_wait(self, record: WaitRecord) -> WaitRecord:
        """Store ``record`` unless the run already has a record with its key; return the stored one."""
        ...

    async def resolve_wait(
        self,
        cadence_name: str,
        run_id: str,
        key: str,
        *,
        value: Any,
        now: float,
        timed_out: bool = False,
        early_signal: str | None = None,
    ) -> WaitRecord:
        """Resolve the waiting record (compare-and-set) and return it; see :class:`WaitStoreBase`."""
        ...

    async def get_waits(self, cadence_name: str, run_id: str) -> list[WaitRecord]:
        """Every record of the run, in any status, oldest first."""
        ...

    async def list_waits(
        self, cadence_name: str, *, run_id: str | None = None, due_before: float | None = None
    ) -> list[WaitRecord]:
        """Records still waiting (of one run, or due by ``due_before``), oldest first."""
        ...

    async def delete_waits(self, cadence_name: str, run_id: str) -> None:
        """Forget every record of the run (called when it completes)."""
        ...


def not_found(cadence_name: str, run_id: str, key: str) -> WaitError:
    return WaitError(
        f"run {run_id!r} of cadence {cadence_name!r} is not waiting on {key!r} (it never "
        "reached that wait, or it already completed); list its waits with cadence.waits(run_id)",
        code="WAIT_NOT_FOUND",
        details={"run_id": run_id, "key": key},
    )


def already_resolved(record: WaitRecord) -> WaitError:
    """The error for a second resolution of a wait: each wait continues exactly once."""
    how = "timed out" if record.status == TIMED_OUT else "was already resumed"
    return WaitError(
        f"wait {record.key!r} of run {record.run_id!r} {how} (at {record.resolved_at}); a wait "
        "continues its run exactly once, so this resume was refused",
        code="WAIT_ALREADY_RESOLVED",
        details={"wait": record.to_dict()},
    )


def _too_late(record: WaitRecord) -> WaitError:
    return WaitError(
        f"wait {record.key!r} of run {record.run_id!r} passed its deadline "
        f"({record.deadline}); it takes its timeout path instead of this resume",
        code="WAIT_TIMED_OUT",
        details={"wait": record.to_dict()},
    )


def _not_due(record: WaitRecord, now: float) -> WaitError:
    return WaitError(
        f"wait {record.key!r} of run {record.run_id!r} is not due yet "
        f"(deadline {record.deadline}, now {now})",
        code="WAIT_NOT_DUE",
        details={"wait": record.to_dict()},
    )


class WaitStoreBase:
    """The wait rules on top of one backend primitive, ``_transact``.

    Subclasses implement ``_transact(cadence_name, run_id, key, decide)``: read the record (or
    ``None``), call ``decide`` on it, store what it returns unless that is the very record read
    (or ``None``), and return it -- all atomically with respect to other ``_transact`` calls on
    the same key. ``decide`` may raise; then nothing is written.
    """

    async def _transact(
        self, cadence_name: str, run_id: str, key: str, decide: Decide
    ) -> WaitRecord | None:
        raise NotImplementedError

    async def create_wait(self, record: WaitRecord) -> WaitRecord:
        """Store ``record`` unless one with its key exists; return what is stored."""

        def decide(current: WaitRecord | None) -> WaitRecord:
            return record if current is None else current

        stored = await self._transact(record.cadence_name, record.run_id, record.key, decide)
        assert stored is not None
        return stored

    async def resolve_wait(
        self,
        cadence_name: str,
        run_id: str,
        key: str,
        *,
        value: Any,
        now: float,
        timed_out: bool = False,
        early_signal: str | None = None,
    ) -> WaitRecord:
        """Move the waiting record to ``resolved`` with ``value`` (or to ``timed_out``).

        Args:
            value: The resume value (JSON).
            now: The current Unix time, compared with the record's deadline.
            timed_out: Resolve as timed out; only allowed once the deadline has passed.
            early_signal: When the run has no record with ``key`` yet, store this signal's
                value as resolved (``early=True``) for the run to find when it gets there.

        Raises:
            WaitError: ``WAIT_NOT_FOUND``, ``WAIT_ALREADY_RESOLVED``, ``WAIT_TIMED_OUT`` (too
                late to resume) or ``WAIT_NOT_DUE`` (``timed_out`` before the deadline).
        """

        def decide(current: WaitRecord | None) -> WaitRecord:
            if current is None:
                if early_signal is None:
                    raise not_found(cadence_name, run_id, key)
                return WaitRecord(
                    cadence_name,
                    run_id,
                    key,
                    SIGNAL,
                    RESOLVED,
                    signal=early_signal,
                    value=value,
                    created_at=now,
                    resolved_at=now,
                    early=True,
                )
            if current.status != WAITING:
                raise already_resolved(current)
            due = current.deadline is not None and now >= current.deadline
            if timed_out:
                if not due:
                    raise _not_due(current, now)
                return dataclasses.replace(current, status=TIMED_OUT, resolved_at=now)
            if due:
                raise _too_late(current)
            return dataclasses.replace(current, status=RESOLVED, value=value, resolved_at=now)

        stored = await self._transact(cadence_name, run_id, key, decide)
        assert stored is not None
        return stored
