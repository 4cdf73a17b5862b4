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

``asyncio.CancelledError`` is never wrapped, retried or swallowed: cancelling a run cancels
every note in flight and the cancellation propagates to the caller.

An error class may ask to stay catchable as itself after a run wraps it, by setting
``catchable_through_notes = True`` (``cadence_llm``'s provider errors do): the ``NoteError`` (or
``ParallelNoteError``) wrapping it, at any depth of child cadences and groups, is then also an
instance of its class and carries its attributes, so ``except RateLimitedError`` around
``run()`` fires while ``except NoteError`` and ``.note_name`` keep working. ``TimeoutError``,
``RetryExhaustedError`` and ``CircuitOpenError`` do too: 0.7.2 let them escape a run unwrapped,
and code catching them around ``run()`` keeps working.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

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
    catchable_through_notes: ClassVar[bool] = False
    """True: a ``NoteError`` wrapping this error is also an instance of its class."""

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


def _root_cause(error: BaseException | None) -> BaseException | None:
    """The error a chain of NoteErrors wraps (the one a note raised in the first place)."""
    while isinstance(error, NoteError):
        error = error.original_error
    return error


_WRAPPERS: dict[tuple[type[BaseException], type[BaseException]], type[BaseException]] = {}


def _wrapper_class(note_cls: type[NoteError], root_cls: type[BaseException]) -> type[Any]:
    """``note_cls`` and ``root_cls`` in one class, named e.g. ``NoteError[RateLimitedError]``."""
    key = (note_cls, root_cls)
    found = _WRAPPERS.get(key)
    if found is None:
        found = _WRAPPERS[key] = type(
            f"{note_cls.__name__}[{root_cls.__name__}]",
            (note_cls, root_cls),
            {
                "__module__": note_cls.__module__,
                "__str__": CadenceError.__str__,  # the note's "[CODE] note 'x' failed: ..."
                "__reduce__": NoteError.__reduce__,
                "_wrapped_class": root_cls,
            },
        )
    return found


def _rebuild_wrapper(
    note_cls: type[NoteError], root_cls: type[BaseException], state: dict[str, Any], args: Any
) -> Any:
    return _rebuild(_wrapper_class(note_cls, root_cls), state, args)


class NoteError(CadenceError):
    """A note failed while the cadence ran.

    When the root cause's class sets ``catchable_through_notes``, the instance is also of that
    class (see the module docstring) and starts with the root cause's attributes.

    Args:
        message: What happened.
        note_name: The step (or task) that failed.
        original_error: The exception the note raised; also chained as ``__cause__``.
    """

    default_code = "NOTE_ERROR"
    _original_position: ClassVar[int] = 2  # where original_error sits among the positionals
    _wrapped_class: ClassVar[type[BaseException] | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        pos = cls._original_position
        original = kwargs.get("original_error", args[pos] if len(args) > pos else None)
        root = _root_cause(original)
        if root is None or not getattr(type(root), "catchable_through_notes", False):
            return super().__new__(cls)
        base = cls.__mro__[1] if cls._wrapped_class is not None else cls
        wrapper = _wrapper_class(base, type(root))
        err = super(NoteError, wrapper).__new__(wrapper)
        # The root's own fields (retry_after, status_code...); not its notes, shown on the root.
        err.__dict__.update((k, v) for k, v in root.__dict__.items() if k != "__notes__")
        return err

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
        # Named, not super(): in a wrapper class the next __init__ would be the wrapped error's.
        CadenceError.__init__(self, message, code, merged)
        self.note_name = note_name
        self.original_error = original_error
        if original_error is not None:
            self.__cause__ = original_error

    def __reduce__(self) -> tuple[Any, ...]:
        wrapped = type(self)._wrapped_class
        if wrapped is None:
            return super().__reduce__()
        note_cls = type(self).__mro__[1]
        return (_rebuild_wrapper, (note_cls, wrapped, self.__dict__.copy(), self.args))


class ParallelNoteError(NoteError):
    """A task of a ``.sync`` group failed; names the group and the task's position in it."""

    default_code = "PARALLEL_NOTE_ERROR"
    _original_position = 4

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
    """Every attempt of a retried call failed; the last failure is chained as the cause.

    0.7.2's ``RetryExhaustedError(note_name, attempts, last_error)`` (positional, or with
    ``note_name=``) still works, with a ``DeprecationWarning``.
    """

    default_code = "RETRY_EXHAUSTED"
    catchable_through_notes = True

    def __init__(
        self,
        message: str | None = None,
        legacy_attempts: int | None = None,
        legacy_last_error: BaseException | None = None,
        /,
        *,
        attempts: int = 0,
        last_error: BaseException | None = None,
        errors: list[BaseException] | None = None,
        code: str | None = None,
        note_name: str | None = None,
    ) -> None:
        details: dict[str, Any] = {"attempts": attempts}
        if legacy_attempts is not None or note_name is not None:  # the 0.7.2 form
            from cadence._compat import deprecated

            deprecated(
                "RetryExhaustedError(note_name, attempts, last_error)",
                "RetryExhaustedError(message, attempts=..., last_error=...)",
            )
            if legacy_attempts is not None:
                attempts, last_error = legacy_attempts, legacy_last_error
            note_name = message if note_name is None else note_name
            message = f"Note '{note_name}' failed after {attempts} attempts: {last_error}"
            details = {"note_name": note_name, "attempts": attempts}
        if message is None:
            raise TypeError("RetryExhaustedError() needs a message")
        CadenceError.__init__(self, message, code, details)
        self.attempts = attempts
        self.last_error = last_error
        self.errors: list[BaseException] = list(
            errors or ([] if last_error is None else [last_error])
        )
        if last_error is not None:
            self.__cause__ = last_error


class TimeoutError(CadenceError, builtins.TimeoutError):
    """A call ran longer than its timeout; also a builtin ``TimeoutError``.

    0.7.2's ``TimeoutError(note_name, timeout_seconds)`` (positional, or with
    ``timeout_seconds=``) still works, with a ``DeprecationWarning``.
    """

    default_code = "TIMEOUT"
    catchable_through_notes = True

    def __init__(
        self,
        message: str | None = None,
        legacy_seconds: float | None = None,
        /,
        *,
        timeout: float | None = None,
        note_name: str | None = None,
        code: str | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        if legacy_seconds is None:
            legacy_seconds = timeout_seconds
        if legacy_seconds is not None:  # 0.7.2: TimeoutError(note_name, timeout_seconds)
            from cadence._compat import deprecated

            deprecated(
                "TimeoutError(note_name, timeout_seconds)",
                "TimeoutError(message, timeout=..., note_name=...)",
            )
            note_name = message if note_name is None else note_name
            timeout = legacy_seconds
            message = f"Note '{note_name}' timed out after {timeout}s"
        if message is None:
            raise TypeError("TimeoutError() needs a message")
        CadenceError.__init__(self, message, code, {"timeout": timeout, "note_name": note_name})
        self.timeout = timeout
        self.note_name = note_name


class CircuitOpenError(CadenceError):
    """A circuit breaker is open and refused the call; try again after ``retry_after`` seconds.

    0.7.2's ``CircuitOpenError(name, retry_after)`` (positional, or with ``name=``) still
    works, with a ``DeprecationWarning``.
    """

    default_code = "CIRCUIT_OPEN"
    catchable_through_notes = True

    def __init__(
        self,
        message: str | None = None,
        legacy_retry_after: float | None = None,
        /,
        *,
        breaker: str = "",
        retry_after: float = 0.0,
        code: str | None = None,
        name: str | None = None,
    ) -> None:
        if legacy_retry_after is not None or name is not None:  # 0.7.2's form
            from cadence._compat import deprecated

            deprecated(
                "CircuitOpenError(name, retry_after)",
                "CircuitOpenError(message, breaker=..., retry_after=...)",
            )
            breaker = (message or "") if name is None else name
            if legacy_retry_after is not None:
                retry_after = legacy_retry_after
            message = f"Circuit '{breaker}' is open. Retry after {retry_after:.1f}s"
        if message is None:
            raise TypeError("CircuitOpenError() needs a message")
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
