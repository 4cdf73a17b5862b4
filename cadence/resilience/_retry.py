"""Retry with bounded backoff, Retry-After, a total deadline and cancellation left alone.

The loop is written so the cases other libraries get wrong are structural here: only
``Exception`` is ever caught (``CancelledError``, ``KeyboardInterrupt`` and ``SystemExit`` pass
straight through, so a cancelled task never starts another attempt); a ``deadline`` limits the
running attempt too, not just the sleeps; and delays are computed without overflow for any
attempt number.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from cadence import _clock
from cadence._context import note_var
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError, TimeoutError
from cadence.resilience._backoff import BACKOFFS, Backoff, backoff_delay, cap_delay
from cadence.resilience._threads import call_in_thread, given_up
from cadence.resilience._timeout import call_async_with_limit, run_attempt
from cadence.resilience._util import (
    F,
    check_non_negative,
    check_not_generator,
    check_positive,
    copy_metadata,
    is_async_callable,
    is_never_handled,
    label_of,
    make_matcher,
)

__all__ = ["PendingRetry", "Retry", "RetryEvent", "retry"]

logger = logging.getLogger("cadence.resilience")


@dataclass(frozen=True, slots=True)
class PendingRetry:
    """What an ``on_retry`` callback receives: attempt ``attempt`` failed, retrying after ``delay``.

    (Called ``RetryEvent`` before; that name stays as an alias. ``cadence.events.RetryEvent`` is
    the event record of a note's retry, which hooks and event listeners get.)
    """

    name: str
    attempt: int
    max_attempts: int
    error: BaseException
    delay: float


RetryEvent = PendingRetry
"""The former name of :class:`PendingRetry`."""


_GIVEN_UP = "its caller stopped waiting (an enclosing timeout abandoned this thread)"


def _is_error_types(value: Any) -> bool:
    """An exception class or a tuple of them: ``retry(ConnectionError)`` meant ``on=``.

    Taken for the bare ``@retry``, the class would be "decorated" and the function below it
    replaced by an exception instance, silently.
    """
    items = value if isinstance(value, tuple) and value else (value,)
    return all(isinstance(t, type) and issubclass(t, BaseException) for t in items)


def _type_names(value: Any) -> str:
    items = value if isinstance(value, tuple) else (value,)
    names = ", ".join(t.__name__ for t in items)
    if not isinstance(value, tuple):
        return names
    return f"({names},)" if len(items) == 1 else f"({names})"


class Retry:
    """A retry policy: how many attempts, how long to wait between them, which errors qualify.

    Instances are immutable in use and can be shared by many functions. Calling one on a
    function decorates it (``Retry(3)(fn)``); ``@note(retry=Retry(...))`` uses it inline.
    See :func:`retry` for the options.
    """

    __slots__ = (
        "_matcher",
        "backoff",
        "deadline",
        "delay",
        "jitter",
        "max_attempts",
        "max_delay",
        "on",
        "on_retry",
    )

    def __init__(
        self,
        max_attempts: int = 3,
        *,
        delay: float = 1.0,
        backoff: Backoff = "fixed",
        max_delay: float = 60.0,
        jitter: bool = True,
        on: Any = None,
        deadline: float | None = None,
        on_retry: Callable[[PendingRetry], Any] | None = None,
    ) -> None:
        if _is_error_types(max_attempts):
            raise CadenceDefinitionError(
                f"retry got {_type_names(max_attempts)} as its number of attempts; say which "
                f"errors to retry with on=: write retry(3, on={_type_names(max_attempts)})"
            )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise CadenceDefinitionError(
                f"retry max_attempts must be an int >= 1 (the total number of attempts), "
                f"got {max_attempts!r}; write retry=3 for three attempts"
            )
        if backoff not in BACKOFFS:
            raise CadenceDefinitionError(
                f"retry backoff must be one of {', '.join(map(repr, BACKOFFS))}, got {backoff!r}"
            )
        if on_retry is not None and not callable(on_retry):
            raise CadenceDefinitionError(
                f"retry on_retry must be a callable taking a PendingRetry, got {on_retry!r}"
            )
        if not isinstance(jitter, bool):
            raise CadenceDefinitionError(f"retry jitter must be True or False, got {jitter!r}")
        self.max_attempts = max_attempts
        self.delay = check_non_negative("retry delay", delay, "write e.g. delay=0.5 (seconds)")
        self.max_delay = check_non_negative(
            "retry max_delay", max_delay, "write e.g. max_delay=30.0 (seconds)"
        )
        self.backoff: Backoff = backoff
        self.jitter = jitter
        self.on = on
        self._matcher = make_matcher("retry on", on)
        self.deadline = (
            None
            if deadline is None
            else check_positive("retry deadline", deadline, "write e.g. deadline=60.0 or None")
        )
        self.on_retry = on_retry

    def __repr__(self) -> str:
        return (
            f"Retry({self.max_attempts}, delay={self.delay!r}, backoff={self.backoff!r}, "
            f"max_delay={self.max_delay!r}, jitter={self.jitter!r}, deadline={self.deadline!r})"
        )

    # -- decisions ---------------------------------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based): finite, in [0, max_delay]."""
        return backoff_delay(
            attempt,
            delay=self.delay,
            backoff=self.backoff,
            max_delay=self.max_delay,
            jitter=self.jitter,
        )

    def next_delay(self, error: BaseException, attempt: int) -> float | None:
        """How long to wait before retrying after ``error``, or ``None`` to not retry it.

        A predicate given as ``on`` may return a number of seconds; otherwise an error's
        ``retry_after`` attribute (a provider's Retry-After) wins over the backoff. Both are
        capped by ``max_delay``.
        """
        if is_never_handled(error):
            return None
        verdict: Any = True if self._matcher is None else self._matcher(error)
        if isinstance(verdict, int | float) and not isinstance(verdict, bool):
            return cap_delay(float(verdict), self.max_delay)
        if not verdict:
            return None
        hinted = getattr(error, "retry_after", None)
        if isinstance(hinted, int | float) and not isinstance(hinted, bool) and hinted == hinted:
            return cap_delay(float(hinted), self.max_delay)
        return self.backoff_delay(attempt)

    def effective_attempts(self) -> int:
        """``max_attempts``, lowered by ``cadence.testing.testing_mode`` when it is active."""
        cap = _clock.attempts_cap()
        return self.max_attempts if cap is None else min(self.max_attempts, cap)

    def _exhausted(
        self, name: str, errors: list[BaseException], *, deadline_hit: bool, why: str = ""
    ) -> RetryExhaustedError:
        last = errors[-1] if errors else None
        if not why:
            why = (
                f"its deadline of {self.deadline:g}s ran out"
                if deadline_hit
                else "no attempts left"
            )
        detail = f"; last error: {type(last).__name__}: {last}" if last is not None else ""
        return RetryExhaustedError(
            f"{name!r} failed after {len(errors)} attempt(s), {why}{detail}",
            attempts=len(errors),
            last_error=last,
            errors=errors,
        )

    # -- running -----------------------------------------------------------------------------

    async def _report(
        self, name: str, attempt: int, attempts: int, error: Exception, delay: float
    ) -> None:
        if self.on_retry is not None:
            try:
                result = self.on_retry(PendingRetry(name, attempt, attempts, error, delay))
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("on_retry callback for %r failed; retrying anyway", name)
        scope = note_var.get()
        if scope is not None and scope.hooks:
            await scope.hooks.on_retry(scope.note_name, scope.score, attempt, attempts, error)

    def _attempt_limit(
        self,
        end: float | None,
        attempt_timeout: float | None,
        label: str,
        errors: list[BaseException],
    ) -> tuple[float | None, str]:
        """The time limit of the next attempt: its timeout, or what is left of the deadline."""
        if end is None:
            return attempt_timeout, "timeout"
        remaining = end - _clock.monotonic()
        if remaining <= 0:
            raise self._exhausted(label, errors, deadline_hit=True)
        if attempt_timeout is None or remaining < attempt_timeout:
            return remaining, "deadline"
        return attempt_timeout, "timeout"

    def _after_failure(
        self,
        error: Exception,
        attempt: int,
        attempts: int,
        end: float | None,
        label: str,
        errors: list[BaseException],
    ) -> float | None:
        """Record a failed attempt: the wait before the next one, or ``None`` to re-raise it.

        Raises ``RetryExhaustedError`` when attempts or the deadline ran out, including when
        the wait would end past the deadline with no time left to try again. An error ``on``
        rejects is re-raised unchanged whichever attempt raised it (the last one too, and under
        ``testing_mode``'s one attempt), so ``except KeyError`` works the same with and without
        the retry.
        """
        errors.append(error)
        if end is not None and _clock.monotonic() >= end:
            raise self._exhausted(label, errors, deadline_hit=True) from error
        delay = self.next_delay(error, attempt)
        if delay is None:
            return None
        if attempt == attempts:
            raise self._exhausted(label, errors, deadline_hit=False) from error
        if end is not None and _clock.monotonic() + delay >= end:
            raise self._exhausted(label, errors, deadline_hit=True) from error
        return delay

    async def call_async(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        is_async: bool | None = None,
        name: str | None = None,
        attempt_timeout: float | None = None,
    ) -> Any:
        """Call ``fn`` until it succeeds, attempts run out, or the deadline passes.

        Args:
            fn: The function; sync functions run each attempt in a worker thread.
            args: Positional arguments for every attempt.
            kwargs: Keyword arguments for every attempt.
            is_async: Whether ``fn`` is async; detected when ``None``.
            name: Name used in errors and hooks.
            attempt_timeout: Per-attempt time limit in seconds (innermost policy), if any.
        """
        kwargs = kwargs or {}
        label = label_of(fn, name)
        if is_async is None:
            is_async = is_async_callable(fn)
        attempts = self.effective_attempts()
        end = None if self.deadline is None else _clock.monotonic() + self.deadline
        errors: list[BaseException] = []
        attempt = 0
        while True:
            attempt += 1
            limit, what = self._attempt_limit(end, attempt_timeout, label, errors)
            try:
                if is_async:  # the common case, without the generic runner's extra frame
                    if limit is None:
                        return await fn(*args, **kwargs)
                    return await call_async_with_limit(
                        fn, args, kwargs, limit=limit, name=label, what=what
                    )
                return await run_attempt(
                    fn, args, kwargs, is_async=is_async, limit=limit, name=label, what=what
                )
            except Exception as error:
                if is_never_handled(error):
                    raise
                delay = self._after_failure(error, attempt, attempts, end, label, errors)
                if delay is None:
                    raise
                if end is None:
                    await self._report(label, attempt, attempts, error, delay)
                else:
                    # Hooks run inside the deadline too: a slow hook cannot stretch it.
                    try:
                        await call_async_with_limit(
                            self._report,
                            (label, attempt, attempts, error, delay),
                            {},
                            limit=end - _clock.monotonic(),
                            name=label,
                            what="deadline",
                        )
                    except TimeoutError:
                        raise self._exhausted(label, errors, deadline_hit=True) from error
                    if _clock.monotonic() + delay >= end:
                        raise self._exhausted(label, errors, deadline_hit=True) from error
                await _clock.sleep(delay)

    def call_sync(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        attempt_timeout: float | None = None,
    ) -> Any:
        """Call sync ``fn`` with retries in the calling thread; see :meth:`call_async`.

        With an ``attempt_timeout`` or ``deadline`` each attempt runs in a worker thread so it
        can be given up on. Run hooks are async and are not called here; ``on_retry`` is. In a
        thread an enclosing timeout abandoned (see ``_threads.given_up``) no further attempt
        starts: its caller already has its ``TimeoutError``.
        """
        kwargs = kwargs or {}
        label = label_of(fn, name)
        attempts = self.effective_attempts()
        end = None if self.deadline is None else _clock.monotonic() + self.deadline
        errors: list[BaseException] = []
        attempt = 0
        while True:
            attempt += 1
            limit, what = self._attempt_limit(end, attempt_timeout, label, errors)
            try:
                if limit is None:
                    return fn(*args, **kwargs)
                return call_in_thread(fn, args, kwargs, limit=limit, name=label, what=what)
            except Exception as error:
                if is_never_handled(error):
                    raise
                delay = self._after_failure(error, attempt, attempts, end, label, errors)
                if delay is None:
                    raise
                self._report_sync(label, attempt, attempts, error, delay)
                if end is not None and _clock.monotonic() + delay >= end:  # slow callbacks
                    raise self._exhausted(label, errors, deadline_hit=True) from error
                if not given_up():
                    _clock.sleep_sync(delay)
                if given_up():
                    # This thread was abandoned by an enclosing timeout: its caller already got
                    # TimeoutError, and another attempt (another charge) would help nobody.
                    raise self._exhausted(
                        label, errors, deadline_hit=False, why=_GIVEN_UP
                    ) from error

    def _report_sync(
        self, name: str, attempt: int, attempts: int, error: Exception, delay: float
    ) -> None:
        if self.on_retry is None:
            return
        try:
            result = self.on_retry(PendingRetry(name, attempt, attempts, error, delay))
            if inspect.iscoroutine(result):
                result.close()
                logger.warning(
                    "on_retry for sync %r returned a coroutine; use a plain function", name
                )
        except Exception:
            logger.exception("on_retry callback for %r failed; retrying anyway", name)

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``: an async function stays async, a sync one stays sync."""
        if not callable(fn):
            raise TypeError(f"@retry decorates a function, got {type(fn).__name__}")
        check_not_generator("retry", fn)
        label = label_of(fn)
        if is_async_callable(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await self.call_async(fn, args, kwargs, is_async=True, name=label)

            return copy_metadata(async_wrapper, fn, is_async=True)

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            return self.call_sync(fn, args, kwargs, name=label)

        return copy_metadata(sync_wrapper, fn, is_async=False)


@overload
def retry(max_attempts: F, /) -> F: ...


@overload
def retry(
    max_attempts: int = 3,
    *,
    delay: float = 1.0,
    backoff: Backoff = "fixed",
    max_delay: float = 60.0,
    jitter: bool = True,
    on: Any = None,
    deadline: float | None = None,
    on_retry: Callable[[PendingRetry], Any] | None = None,
) -> Retry: ...


def retry(
    max_attempts: Any = 3,
    *,
    delay: float = 1.0,
    backoff: Backoff = "fixed",
    max_delay: float = 60.0,
    jitter: bool = True,
    on: Any = None,
    deadline: float | None = None,
    on_retry: Callable[[PendingRetry], Any] | None = None,
) -> Any:
    """Retry a function that fails, with backoff; works bare (``@retry``) or with options.

    Args:
        max_attempts: Total attempts, including the first (``3`` = up to two retries).
        delay: Base wait in seconds between attempts.
        backoff: ``"fixed"`` (``delay``), ``"linear"`` (``delay * n``) or ``"exponential"``
            (``delay * 2**(n-1)``) after failed attempt ``n``.
        max_delay: Cap on any single wait, including a Retry-After hint.
        jitter: Randomise each wait between half and all of it, so clients spread out.
        on: Which errors to retry: an exception type, a tuple of them, or a predicate taking
            the error and returning truthy to retry, falsy not to, or a number of seconds to
            wait before retrying. Default: every ``Exception``. Errors with a numeric
            ``retry_after`` attribute wait that long (capped by ``max_delay``).
        deadline: Seconds for everything, attempts and waits included; a running attempt is
            stopped when it passes.
        on_retry: Called with a :class:`PendingRetry` before each wait (sync or async).

    Returns:
        A :class:`Retry` policy, which is also a decorator. On exhaustion the decorated call
        raises ``RetryExhaustedError`` (``attempts``, ``last_error``, ``errors``; the last error
        chained as the cause). Errors ``on`` rejects propagate unchanged, at once.
    """
    if (
        callable(max_attempts)
        and not isinstance(max_attempts, int)
        and not _is_error_types(max_attempts)
    ):
        return Retry()(max_attempts)  # bare @retry
    return Retry(
        max_attempts,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        on=on,
        deadline=deadline,
        on_retry=on_retry,
    )
