"""Exceptions raised by cadence.

Setup mistakes (raised while a cadence is being *built*) are kept apart from failures that
happen while it *runs*, so callers can catch one family without the other::

    Exception
    ├── CadenceError(message, code, details)     str() is "[CODE] message"
    │   ├── CadenceDefinitionError               a builder call was invalid (also ValueError)
    │   │   └── ValidationError                  cadence.validate rejected source; .diagnostics
    │   ├── NoteError                            a note failed; .note_name, .original_error
    │   │   └── ParallelNoteError                ... inside a .sync group; .group_name, .task_index
    │   ├── RetryExhaustedError                  every attempt failed; .attempts, .last_error
    │   ├── TimeoutError                         a note ran too long (also builtins.TimeoutError)
    │   ├── CircuitOpenError                     a breaker refused the call; .retry_after
    │   ├── MergeConflict                        .sync tasks wrote different values; .field, .values
    │   ├── CheckpointError                      a checkpoint could not be saved or read
    │   └── Skip(reason)                         raised by a note to end a run cleanly
    └── ...

A ``NoteError`` (or ``ParallelNoteError``) caused by a ``TimeoutError``, ``RetryExhaustedError``
or ``CircuitOpenError`` is also an instance of that class, with its attributes (``timeout``,
``attempts``, ``last_error``, ``retry_after`` ...): 0.7.2 let those escape unwrapped, and code
catching them around ``run()`` keeps working.

``asyncio.CancelledError`` is never wrapped, retried or swallowed: cancelling a run cancels
every note in flight and the cancellation propagates to the caller.
"""

from __future__ import annotations

import builtins
from typing import Any, cast

__all__ = [
    "CadenceDefinitionError",
    "CadenceError",
    "CheckpointError",
    "CircuitOpenError",
    "MergeConflict",
    "NoteError",
    "ParallelNoteError",
    "RetryExhaustedError",
    "Skip",
    "TimeoutError",
    "ValidationError",
]


class CadenceError(Exception):
    """Base of every cadence error; carries a stable ``code`` and structured ``details``."""

    default_code = "CADENCE_ERROR"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (process pools, Dramatiq) despite the keyword-rich __init__.
        return (_rebuild, (type(self), self.__dict__.copy(), self.args))


def _rebuild(cls: type[CadenceError], state: dict[str, Any], args: tuple[Any, ...]) -> Any:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class CadenceDefinitionError(CadenceError, ValueError):
    """A cadence was defined wrongly; raised by the builder call that made the mistake."""

    default_code = "INVALID_DEFINITION"


class ValidationError(CadenceDefinitionError):
    """``cadence.validate`` rejected source text (e.g. ``build`` of a model's composition).

    ``diagnostics`` lists every finding (code, line, column, message, fix hint), so a caller
    can show them to a person or send them back to a model for repair.
    """

    default_code = "INVALID_SOURCE"

    def __init__(self, message: str, diagnostics: list[Any] | None = None) -> None:
        items = list(diagnostics or [])
        super().__init__(message, None, {"diagnostics": [str(d) for d in items]})
        self.diagnostics = items


class NoteError(CadenceError):
    """A note failed while the cadence ran.

    Args:
        message: What happened.
        note_name: The step (or task) that failed.
        original_error: The exception the note raised; also chained as ``__cause__``.
    """

    default_code = "NOTE_ERROR"

    def __new__(cls, *args: Any, **kwargs: Any) -> NoteError:
        # A note failure caused by a timeout, exhausted retries or an open breaker is also an
        # instance of that error's class, so ``except cadence.TimeoutError`` around ``run()``
        # (how 0.7.2 code caught them, when they escaped unwrapped) keeps working.
        at = 4 if issubclass(cls, ParallelNoteError) else 2  # original_error's position
        original = kwargs.get("original_error", args[at] if len(args) > at else None)
        combined = _COMBINED.get((cls, type(original)))
        if (
            combined is None
            and isinstance(original, _CAUSES)
            and cls in (NoteError, ParallelNoteError)
        ):
            combined = next(_COMBINED[(cls, c)] for c in _CAUSES if isinstance(original, c))
        target = combined or cls
        # The nearest builtin ``__new__`` (OSError's for a TimeoutError), as Python requires.
        builtin = next(
            k for k in target.__mro__ if k.__module__ == "builtins" and "__new__" in vars(k)
        )
        instance: NoteError = cast(Any, builtin).__new__(target)
        return instance

    def __init__(
        self,
        message: str,
        note_name: str,
        original_error: BaseException | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = {"note_name": note_name, **(details or {})}
        CadenceError.__init__(self, message, code, merged)
        self.note_name = note_name
        self.original_error = original_error
        if original_error is not None:
            self.__cause__ = original_error
            for name in _CAUSE_ATTRIBUTES.get(type(self), ()):
                setattr(self, name, getattr(original_error, name, None))


class ParallelNoteError(NoteError):
    """A task of a ``.sync`` group failed; names the group and the task's position in it."""

    default_code = "PARALLEL_NOTE_ERROR"

    def __init__(
        self,
        message: str,
        note_name: str | None = None,
        group_name: str = "",
        task_index: int = 0,
        original_error: BaseException | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        task_name: str | None = None,
    ) -> None:
        if task_name is not None:  # the 0.7.2 keyword
            from cadence._compat import deprecated

            deprecated("ParallelNoteError(task_name=...)", "ParallelNoteError(note_name=...)")
            note_name = task_name
        if note_name is None:
            raise TypeError("ParallelNoteError() needs note_name, the failed task's name")
        merged = {"group_name": group_name, "task_index": task_index, **(details or {})}
        NoteError.__init__(self, message, note_name, original_error, code=code, details=merged)
        self.group_name = group_name
        self.task_index = task_index


class RetryExhaustedError(CadenceError):
    """Every attempt of a retried call failed; the last failure is chained as the cause."""

    default_code = "RETRY_EXHAUSTED"

    def __init__(
        self,
        message: str,
        legacy_attempts: int | None = None,
        legacy_last_error: BaseException | None = None,
        /,
        *,
        attempts: int = 0,
        last_error: BaseException | None = None,
        errors: list[BaseException] | None = None,
        code: str | None = None,
    ) -> None:
        if legacy_attempts is not None:  # 0.7.2: RetryExhaustedError(note_name, attempts, error)
            from cadence._compat import deprecated

            deprecated(
                "RetryExhaustedError(note_name, attempts, last_error)",
                "RetryExhaustedError(message, attempts=..., last_error=...)",
            )
            attempts, last_error = legacy_attempts, legacy_last_error
            message = f"Note '{message}' failed after {attempts} attempts: {last_error}"
        CadenceError.__init__(self, message, code, {"attempts": attempts})
        self.attempts = attempts
        self.last_error = last_error
        self.errors: list[BaseException] = list(
            errors or ([] if last_error is None else [last_error])
        )
        if last_error is not None:
            self.__cause__ = last_error


class TimeoutError(CadenceError, builtins.TimeoutError):
    """A call ran longer than its timeout; also a builtin ``TimeoutError``."""

    default_code = "TIMEOUT"

    def __init__(
        self,
        message: str,
        legacy_seconds: float | None = None,
        /,
        *,
        timeout: float | None = None,
        note_name: str | None = None,
        code: str | None = None,
    ) -> None:
        if legacy_seconds is not None:  # 0.7.2: TimeoutError(note_name, timeout_seconds)
            from cadence._compat import deprecated

            deprecated(
                "TimeoutError(note_name, timeout_seconds)",
                "TimeoutError(message, timeout=..., note_name=...)",
            )
            note_name, timeout = message, legacy_seconds
            message = f"Note '{note_name}' timed out after {timeout}s"
        CadenceError.__init__(self, message, code, {"timeout": timeout, "note_name": note_name})
        self.timeout = timeout
        self.note_name = note_name


class CircuitOpenError(CadenceError):
    """A circuit breaker is open and refused the call; try again after ``retry_after`` seconds."""

    default_code = "CIRCUIT_OPEN"

    def __init__(
        self,
        message: str,
        legacy_retry_after: float | None = None,
        /,
        *,
        breaker: str = "",
        retry_after: float = 0.0,
        code: str | None = None,
    ) -> None:
        if legacy_retry_after is not None:  # 0.7.2: CircuitOpenError(name, retry_after)
            from cadence._compat import deprecated

            deprecated(
                "CircuitOpenError(name, retry_after)",
                "CircuitOpenError(message, breaker=..., retry_after=...)",
            )
            breaker, retry_after = message, legacy_retry_after
            message = f"Circuit '{breaker}' is open. Retry after {retry_after:.1f}s"
        CadenceError.__init__(self, message, code, {"breaker": breaker, "retry_after": retry_after})
        self.breaker = breaker
        self.retry_after = retry_after

    @property
    def name(self) -> str:
        """The circuit's name (0.7.2's attribute; the same as ``breaker``)."""
        return self.breaker


class MergeConflict(CadenceError):
    """Tasks of one ``.sync`` group changed the same field to values that cannot be merged."""

    default_code = "MERGE_CONFLICT"

    def __init__(self, field: str, values: list[Any], message: str | None = None) -> None:
        text = message or (
            f"tasks changed field {field!r} to different values {values!r}; "
            "write different fields, use Atomic* containers, or pass merge_strategy="
            "MergeStrategy.last_write_wins or a custom merge"
        )
        super().__init__(text, None, {"field": field, "values": values})
        self.field = field
        self.values = values


class CheckpointError(CadenceError):
    """A checkpoint could not be written or read (encoding, corruption, lease lost)."""

    default_code = "CHECKPOINT_ERROR"


class Skip(CadenceError):
    """Raise from a note to end the run cleanly: later steps do not run, no error is reported."""

    default_code = "SKIP"

    def __init__(self, reason: str = "skipped") -> None:
        super().__init__(reason, None, {"reason": reason})
        self.reason = reason


# A note failure whose cause is one of these is also an instance of the cause's class (see
# ``NoteError.__new__``), carrying the cause's attributes too. The classes are module attributes
# so that such errors pickle like any other.
_CAUSES: tuple[type[CadenceError], ...] = (TimeoutError, RetryExhaustedError, CircuitOpenError)
_ATTRIBUTES: dict[type[CadenceError], tuple[str, ...]] = {
    TimeoutError: ("timeout",),
    RetryExhaustedError: ("attempts", "last_error", "errors"),
    CircuitOpenError: ("breaker", "retry_after"),
}
_COMBINED: dict[tuple[type, type], type[NoteError]] = {}
_CAUSE_ATTRIBUTES: dict[type, tuple[str, ...]] = {}


def _combine(base: type[NoteError], cause: type[CadenceError]) -> type[NoteError]:
    name = f"{base.__name__.removesuffix('Error')}{cause.__name__}"
    cls = cast(
        "type[NoteError]",
        type(name, (base, cause), {"__module__": __name__, "__doc__": base.__doc__}),
    )
    cls.default_code = base.default_code
    _COMBINED[(base, cause)] = cls
    _CAUSE_ATTRIBUTES[cls] = _ATTRIBUTES[cause]
    globals()[name] = cls
    return cls


for _base in (NoteError, ParallelNoteError):
    for _cause in _CAUSES:
        _combine(_base, _cause)
