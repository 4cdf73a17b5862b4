"""Run a tenacity retrying object as a note's retry policy, with cadence's guarantees added.

Teams with tenacity policies can pass them as ``@note(retry=AsyncRetrying(...))``. The policy
keeps its stop, wait and retry rules; cadence adds what it promises for every retry: a
cancelled task is never retried, the run's ``on_retry`` hooks are called, waits go through the
cadence clock (so ``cadence.testing`` skips them), and exhaustion raises
``RetryExhaustedError``. tenacity is optional (``pip install 'cadence-orchestration[tenacity]'``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from cadence import _clock
from cadence._context import note_var
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError
from cadence.resilience._timeout import run_attempt
from cadence.resilience._util import is_async_callable, is_never_handled, label_of

__all__ = ["TenacityRetry", "is_tenacity_retrying"]


def is_tenacity_retrying(value: Any) -> bool:
    """Whether ``value`` looks like a tenacity ``Retrying``/``AsyncRetrying`` (no import needed)."""
    module = type(value).__module__ or ""
    return module.split(".")[0] == "tenacity" and hasattr(value, "copy") and hasattr(value, "stop")


def _import_tenacity() -> Any:
    try:
        import tenacity
    except ImportError as exc:  # pragma: no cover - only reachable with a tenacity object
        raise ImportError(
            "tenacity policies need tenacity: pip install 'cadence-orchestration[tenacity]'"
        ) from exc
    return tenacity


async def _clock_sleep(seconds: float) -> None:
    await _clock.sleep(seconds)


class TenacityRetry:
    """Adapts a tenacity retrying object to cadence's retry interface (``call_async``)."""

    def __init__(self, retrying: Any) -> None:
        tenacity = _import_tenacity()
        self._tenacity = tenacity
        if isinstance(retrying, tenacity.AsyncRetrying):
            base = retrying
        elif isinstance(retrying, tenacity.Retrying):
            # A sync Retrying would block the event loop in time.sleep between attempts.
            base = tenacity.AsyncRetrying(
                stop=retrying.stop,
                wait=retrying.wait,
                retry=retrying.retry,
                before=retrying.before,
                after=retrying.after,
                before_sleep=retrying.before_sleep,
                reraise=retrying.reraise,
                retry_error_cls=retrying.retry_error_cls,
                retry_error_callback=retrying.retry_error_callback,
            )
        else:
            raise CadenceDefinitionError(
                f"retry got a tenacity {type(retrying).__name__}; pass an AsyncRetrying or "
                "Retrying object, e.g. retry=AsyncRetrying(stop=stop_after_attempt(3))"
            )
        default_sleep = (
            inspect.signature(tenacity.AsyncRetrying.__init__).parameters["sleep"].default
        )
        sync_default = inspect.signature(tenacity.Retrying.__init__).parameters["sleep"].default
        if base.sleep in (default_sleep, sync_default):
            base = base.copy(sleep=_clock_sleep)
        self.max_attempts = int(getattr(base.stop, "max_attempt_number", 0) or 0)
        user_retry = base.retry
        user_before_sleep = base.before_sleep
        max_attempts = self.max_attempts

        async def guarded_retry(state: Any) -> bool:
            outcome = state.outcome
            if outcome is not None and outcome.failed and is_never_handled(outcome.exception()):
                return False
            verdict = user_retry(state)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return bool(verdict)

        async def before_sleep(state: Any) -> None:
            if user_before_sleep is not None:
                result = user_before_sleep(state)
                if inspect.isawaitable(result):
                    await result
            scope = note_var.get()
            if scope is not None and scope.hooks and state.outcome is not None:
                error = state.outcome.exception()
                if error is not None:
                    await scope.hooks.on_retry(
                        scope.note_name, scope.score, state.attempt_number, max_attempts, error
                    )

        self._retrying = base.copy(retry=guarded_retry, before_sleep=before_sleep)

    def __repr__(self) -> str:
        return f"TenacityRetry({self._retrying!r})"

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
        """Call ``fn`` under the tenacity policy, each attempt limited by ``attempt_timeout``."""
        tenacity = self._tenacity
        kwargs = kwargs or {}
        label = label_of(fn, name)
        fn_is_async = is_async_callable(fn) if is_async is None else is_async
        cap = _clock.attempts_cap()
        retrying = (
            self._retrying.copy(stop=self._retrying.stop | tenacity.stop_after_attempt(cap))
            if cap is not None
            else self._retrying.copy()
        )

        async def attempt() -> Any:
            return await run_attempt(
                fn, args, kwargs, is_async=fn_is_async, limit=attempt_timeout, name=label
            )

        try:
            return await retrying(attempt)
        except tenacity.RetryError as err:
            if type(err) is not tenacity.RetryError:
                raise
            last = err.last_attempt
            error = last.exception() if last.failed else None
            detail = f"; last error: {type(error).__name__}: {error}" if error is not None else ""
            raise RetryExhaustedError(
                f"{label!r} failed after {last.attempt_number} attempt(s) under its tenacity "
                f"policy{detail}",
                attempts=last.attempt_number,
                last_error=error,
            ) from error
