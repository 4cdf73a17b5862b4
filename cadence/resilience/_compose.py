"""``compose``: turn ``@note(retry=..., timeout=..., fallback=...)`` options into one async call.

The order is fixed (DESIGN §2): the timeout is innermost and applies to each attempt, retry
wraps the attempts, fallback wraps everything. So ``@note(retry=3, timeout=5, fallback=...)``
gives each of three attempts five seconds and falls back only once all three failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cadence._merge import ViewFactory, apply_changes, collect_changes, get_state
from cadence.exceptions import CadenceDefinitionError
from cadence.resilience._fallback import Fallback
from cadence.resilience._retry import Retry
from cadence.resilience._tenacity import TenacityRetry, is_tenacity_retrying
from cadence.resilience._timeout import Timeout, call_async_with_limit, run_attempt
from cadence.resilience._util import check_not_generator, is_async_callable

__all__ = ["compose", "parse_fallback", "parse_retry", "parse_timeout"]

_RETRY_KEYS = (
    "max_attempts",
    "delay",
    "backoff",
    "max_delay",
    "jitter",
    "on",
    "deadline",
    "on_retry",
)
_FALLBACK_KEYS = ("default", "field", "handler", "on")


def _unknown_keys(option: str, given: dict[Any, Any], valid: tuple[str, ...], name: str) -> None:
    unknown = [k for k in given if k not in valid]
    if not unknown:
        return
    import difflib  # only on the error path: keeps importing the policies cheap

    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), valid, n=1)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    raise CadenceDefinitionError(
        f"note {name!r}: unknown {option} option {', '.join(hints)}; valid options: {', '.join(valid)}"
    )


def _prefixed(name: str, error: CadenceDefinitionError) -> CadenceDefinitionError:
    return CadenceDefinitionError(f"note {name!r}: {error.message}")


def parse_retry(value: Any, *, name: str) -> Retry | TenacityRetry | None:
    """Read a ``retry=`` option: attempts, a dict of ``retry()`` options, a policy, or tenacity."""
    if value is None:
        return None
    if isinstance(value, Retry | TenacityRetry):
        return value
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return Retry(value)
        if isinstance(value, dict):
            _unknown_keys("retry", value, _RETRY_KEYS, name)
            return Retry(**value)
        if is_tenacity_retrying(value):
            return TenacityRetry(value)
    except CadenceDefinitionError as error:
        raise _prefixed(name, error) from None
    raise CadenceDefinitionError(
        f"note {name!r}: retry must be a number of attempts (retry=3), a dict such as "
        '{"max_attempts": 3, "delay": 1.0, "backoff": "exponential"}, a Retry policy from '
        f"cadence.retry(...), or a tenacity AsyncRetrying; got {type(value).__name__}: {value!r}"
    )


def parse_timeout(value: Any, *, name: str) -> Timeout | None:
    """Read a ``timeout=`` option: positive seconds or a ``Timeout`` policy."""
    if value is None or isinstance(value, Timeout):
        return value
    if isinstance(value, dict):  # 0.7.2's {"seconds": 5.0}
        _unknown_keys("timeout", value, ("seconds",), name)
        from cadence._compat import deprecated

        deprecated('@note(timeout={"seconds": s})', "@note(timeout=s)", stacklevel=6)
        value = value.get("seconds")
    try:
        return Timeout(value)
    except CadenceDefinitionError as error:
        raise _prefixed(name, error) from None


def parse_fallback(value: Any, *, name: str) -> Fallback | None:
    """Read a ``fallback=`` option: a dict of ``fallback()`` options or a ``Fallback`` policy."""
    if value is None or isinstance(value, Fallback):
        return value
    if isinstance(value, dict):
        _unknown_keys("fallback", value, _FALLBACK_KEYS, name)
        try:
            return Fallback(**value)
        except CadenceDefinitionError as error:
            raise _prefixed(name, error) from None
    raise CadenceDefinitionError(
        f"note {name!r}: fallback must be a dict such as "
        f'{{"default": [], "field": "results"}} or a Fallback from cadence.fallback(...); '
        f"got {type(value).__name__}: {value!r}"
    )


def compose(
    fn: Callable[..., Any],
    *,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
    name: str,
) -> Callable[[Any], Awaitable[Any]]:
    """Wrap ``fn`` in timeout (per attempt), then retry, then fallback; return an async callable.

    Options are validated here, so a bad one raises ``CadenceDefinitionError`` when the note
    is defined. Sync functions run each attempt in a worker thread; a sync attempt that
    overruns its timeout is abandoned (reported, bounded), since threads cannot be stopped.

    Args:
        fn: The note's function, taking the score; sync or async.
        retry: See :func:`parse_retry`.
        timeout: Seconds per attempt, or a ``Timeout``.
        fallback: See :func:`parse_fallback`.
        name: The note's name, used in errors and hooks.
    """
    retry_policy = parse_retry(retry, name=name)
    timeout_policy = parse_timeout(timeout, name=name)
    fallback_policy = parse_fallback(fallback, name=name)
    for option, given in (("retry", retry), ("timeout", timeout), ("fallback", fallback)):
        if given is not None:
            try:
                check_not_generator(option, fn)
            except CadenceDefinitionError as error:
                raise _prefixed(name, error) from None
    is_async = is_async_callable(fn)
    limit = None if timeout_policy is None else timeout_policy.seconds
    if not is_async and (limit is not None or retry_policy is not None):
        fn = FencedNote(fn)  # a sync attempt given up on must not write the score: see there

    core: Callable[[Any], Awaitable[Any]]
    if retry_policy is not None:
        policy = retry_policy

        async def core(score: Any) -> Any:
            return await policy.call_async(
                fn, (score,), None, is_async=is_async, name=name, attempt_timeout=limit
            )

    elif is_async and limit is not None:  # timeout only: skip the generic attempt runner

        async def core(score: Any) -> Any:
            return await call_async_with_limit(fn, (score,), {}, limit=limit, name=name)

    else:

        async def core(score: Any) -> Any:
            return await run_attempt(fn, (score,), {}, is_async=is_async, limit=limit, name=name)

    if fallback_policy is None:
        return core
    recover = fallback_policy

    async def with_fallback(score: Any) -> Any:
        try:
            return await core(score)
        except Exception as error:
            if not recover.matches(error):
                raise
            return await recover.recover_async(error, (score,))

    return with_fallback


class FencedNote:
    """A sync note whose time-limited attempts run on a private view of the score.

    A sync attempt that overruns its limit (a timeout, or a retry deadline) is given up on but
    keeps running: Python cannot stop a thread. Run on the score itself, it would write into
    it after the caller moved on (over a fallback's value, a later attempt's result or a later
    step's). So each limited attempt gets a view (the one a ``.sync`` task gets), and what it
    wrote reaches the score when it ends in time, returning or raising (``run_attempt`` calls
    :meth:`fence_attempt`); an attempt given up on changes nothing. A score that cannot be
    viewed (a dict) is passed as it is.
    """

    __slots__ = ("__name__", "__qualname__", "__wrapped__")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def fence_attempt(
        self, args: tuple[Any, ...]
    ) -> tuple[Callable[..., Any], tuple[Any, ...], Callable[[Any], Any]]:
        """What the worker thread runs, on which arguments, and what the caller does with the
        outcome when the thread ends in time (the caller never sees one it gave up on)."""
        fn = self.__wrapped__
        score = args[0] if args else None
        try:
            if score is None or isinstance(score, dict):
                raise TypeError("nothing to view")
            base = get_state(score)
            view = ViewFactory(score, base).new()
        except Exception:  # no state to view (a dict, a builtin): the attempt runs on the score
            return fn, args, _same

        def call(*fenced: Any, **kwargs: Any) -> tuple[bool, Any]:
            try:
                return True, fn(*fenced, **kwargs)
            except BaseException as error:  # handed to finish(): raised on the caller's side
                return False, error

        def finish(outcome: tuple[bool, Any]) -> Any:
            apply_changes(score, collect_changes(view, base))
            ok, value = outcome
            if not ok:
                raise value
            return score if value is view else value

        return call, (view, *args[1:]), finish


def _same(result: Any) -> Any:
    return result
