"""``FallbackChain``: several models behind one, failing over on the errors that warrant it.

A chain is itself a :class:`~cadence_llm.models.base.Model`, so it can be used (and nested)
anywhere a model is. For each model in order it makes up to ``retry`` attempts (sleeping for the
provider's Retry-After when it gave one), guarded by that model's circuit breaker; an error whose
``should_fallback`` is true moves on to the next model, any other error (authentication, a bad
request) stops the chain at once, because another model will not fix it. With ``hedge_after``
the next model is started when the current one is slow, the first good answer wins and the
others are cancelled. An optional ``check`` can refuse a successful but bad answer. Every
attempt is recorded; when all models fail, one :class:`AllModelsFailedError` lists them.

Retries inside the chain are the only retries: adapters build SDK clients with
``max_retries=0``, so exactly the configured number of attempts reaches each provider.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from cadence import clock as _clock
from cadence import current_note
from cadence.exceptions import CadenceDefinitionError, CircuitOpenError
from cadence.resilience import CircuitBreaker, InMemoryBreakerStore, Retry, RetryEvent

from .errors import (
    AllModelsFailedError,
    AnswerRejectedError,
    Attempt,
    ModelError,
    ModelTimeoutError,
)
from .messages import ModelRequest, ModelResponse, StreamDone, StreamEvent, StreamReset
from .models.base import Model, as_request

__all__ = ["ChainResult", "FallbackChain", "default_fallback"]

logger = logging.getLogger("cadence_llm")
T = TypeVar("T")

Check: TypeAlias = Callable[[ModelResponse], "bool | str | Awaitable[bool | str | None] | None"]
BreakerFactory: TypeAlias = Callable[[Model], CircuitBreaker]


def _health_error(exc: BaseException) -> BaseException | None:
    """What the breaker should count: retryable model errors say the provider is unwell; a bad
    request, an auth error or a rejected answer show it answered, so they count as successes."""
    if isinstance(exc, ModelError) and not exc.retryable:
        return None
    return exc


def default_fallback(error: ModelError) -> bool:
    """Move to the next model when the error says another model could help.

    True for rate limits (once retries are spent), overloads, timeouts, connection and server
    errors, malformed or truncated answers, context-window overflows and rejected answers;
    False for authentication, permission, not-found, bad-request and content-filter errors.
    """
    return error.should_fallback


@dataclass(frozen=True, slots=True)
class ChainResult:
    """A chain's answer together with every attempt that led to it."""

    response: ModelResponse
    attempts: tuple[Attempt, ...]
    model: str


class _Stop(Exception):
    """Internal: a model's error that must end the whole chain."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class FallbackChain:
    """Try models in order; a chain is itself a model.

    Args:
        models: The models, preferred first.
        name: The chain's name in errors and spans (default: the models' names joined by ``>``).
        retry: Attempts per model: an int, or a :class:`cadence.resilience.Retry` policy whose
            ``max_attempts`` and delays are used (default: 2 attempts, exponential backoff from
            0.5 s; a provider's Retry-After wins over the
            backoff). Only errors with ``retryable`` set are retried.
        breaker: Per-model circuit breakers: True gives each model a default
            :class:`~cadence.resilience.CircuitBreaker` private to this chain; a factory
            ``breaker(model) -> CircuitBreaker`` lets you share circuits (e.g. a Redis store
            across processes). A model whose circuit is open is skipped without a call; only
            retryable errors count as failures.
        fallback_on: Decides whether an error moves to the next model
            (default :func:`default_fallback`).
        hedge_after: Seconds after which the next model is started alongside a slow one.
        check: ``check(response)`` returning False or a reason string refuses an answer
            (recorded as :class:`AnswerRejectedError`, which falls back). May be async.
        deadline: Seconds the whole call may take, sleeps included; waits that would pass it
            are skipped in favour of the next model.
        on_attempt: Called with each finished :class:`Attempt` (for logging and metrics).
    """

    system = "chain"

    def __init__(
        self,
        models: Sequence[Model],
        *,
        name: str | None = None,
        retry: int | Retry = 2,
        breaker: bool | BreakerFactory = False,
        fallback_on: Callable[[ModelError], bool] = default_fallback,
        hedge_after: float | None = None,
        check: Check | None = None,
        deadline: float | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        models = list(models)
        if not models:
            raise CadenceDefinitionError("FallbackChain needs at least one model")
        for m in models:
            if not isinstance(m, Model):
                raise TypeError(
                    f"{m!r} is not a model: it needs name, system, complete() and stream()"
                )
        if (
            isinstance(retry, bool)
            or not isinstance(retry, int | Retry)
            or (isinstance(retry, int) and retry < 1)
        ):
            raise CadenceDefinitionError(
                f"retry must be an attempt count >= 1 or a cadence.resilience.Retry policy, "
                f"got {retry!r}; write retry=3 or retry=Retry(3, delay=0.5)"
            )
        if hedge_after is not None and hedge_after < 0:
            raise CadenceDefinitionError(f"hedge_after must be >= 0 seconds, got {hedge_after!r}")
        if deadline is not None and deadline <= 0:
            raise CadenceDefinitionError(f"deadline must be > 0 seconds, got {deadline!r}")
        self.models = models
        self._name = name or ">".join(m.name for m in models)
        self.retry = (
            Retry(retry, delay=0.5, backoff="exponential", max_delay=30.0)
            if isinstance(retry, int)
            else retry
        )
        self.breakers: list[CircuitBreaker | None]
        if breaker is True:
            # A private store: two chains (or two tests) never share circuits by accident.
            store = InMemoryBreakerStore()
            self.breakers = [
                CircuitBreaker(f"{self._name}/{i}:{m.name}", store=store)
                for i, m in enumerate(models)
            ]
        elif breaker:
            self.breakers = [breaker(m) for m in models]
        else:
            self.breakers = [None] * len(models)
        self.fallback_on = fallback_on
        self.hedge_after = hedge_after
        self.check = check
        self.deadline = deadline
        self.on_attempt = on_attempt

    @property
    def name(self) -> str:
        """The chain's name."""
        return self._name

    def __repr__(self) -> str:
        return f"FallbackChain({self._name!r})"

    # -- bookkeeping ---------------------------------------------------------------------------

    def _record(self, log: list[Attempt], attempt: Attempt) -> None:
        log.append(attempt)
        if self.on_attempt is not None:
            self.on_attempt(attempt)

    def _remaining(self, started: float) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - (_clock.monotonic() - started)

    async def _checked(self, response: ModelResponse, model: Model) -> ModelResponse:
        if self.check is None:
            return response
        verdict = self.check(response)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is True or verdict is None:
            return response
        reason = verdict if isinstance(verdict, str) else "the answer check returned False"
        raise AnswerRejectedError(reason, provider=model.system, model=model.name, partial=response)

    async def _limited(self, awaitable: Awaitable[T], limit: float | None, model: Model) -> T:
        """Await with a limit measured on cadence's clock (so fake clocks drive it in tests)."""
        if limit is None:
            return await awaitable
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def fire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        cancelling = task.cancelling()
        handle = _clock.call_later(asyncio.get_running_loop(), max(limit, 0.0), fire)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if expired and task.uncancel() <= cancelling:
                raise ModelTimeoutError(
                    f"the chain's deadline of {self.deadline:g}s ran out during the call",
                    provider=model.system,
                    model=model.name,
                ) from None
            raise
        finally:
            handle.cancel()

    # -- one model, with retries ----------------------------------------------------------------

    def _retry_wait(
        self, exc: ModelError, number: int, attempts: int, started: float
    ) -> float | None:
        """Seconds to wait before trying the same model again, or None to move on."""
        if not exc.retryable or number >= attempts:
            return None
        delay = self.retry.next_delay(exc, number)
        if delay is None:
            return None
        if exc.retry_after is not None:
            if exc.retry_after > self.retry.max_delay:
                return None  # the provider wants a long pause: another model answers sooner
            delay = exc.retry_after
        remaining = self._remaining(started)
        if remaining is not None and delay >= remaining:
            return None  # waiting would pass the deadline: spend the time on another model
        return delay

    async def _report_retry(
        self, model: Model, number: int, attempts: int, error: ModelError, delay: float
    ) -> None:
        """Tell the Retry policy's ``on_retry`` and, inside a cadence run, the run's hooks."""
        name = f"{self._name}/{model.name}"
        if self.retry.on_retry is not None:
            try:
                result = self.retry.on_retry(RetryEvent(name, number, attempts, error, delay))
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("on_retry callback for %r failed; retrying anyway", name)
        scope = current_note()
        if scope is not None and scope.hooks:
            await scope.hooks.on_retry(scope.note_name, scope.score, number, attempts, error)

    async def _try_model(
        self, index: int, request: ModelRequest, log: list[Attempt], started: float, hedged: bool
    ) -> ModelResponse:
        """Run one model's attempts; return its answer or raise its last ModelError.

        Raises ``_Stop`` when the error must end the whole chain.
        """
        model = self.models[index]
        breaker = self.breakers[index]
        attempts = self.retry.effective_attempts()
        for number in range(1, attempts + 1):
            t0 = _clock.monotonic()
            remaining = self._remaining(started)
            try:
                if remaining is not None and remaining <= 0:
                    raise ModelTimeoutError(
                        f"the chain's deadline of {self.deadline:g}s ran out before this try",
                        provider=model.system,
                        model=model.name,
                    )
                admission = None if breaker is None else await breaker.acquire_async()
                try:
                    response = await self._limited(model.complete(request), remaining, model)
                    response = await self._checked(response, model)
                except BaseException as exc:
                    if breaker is not None and admission is not None:
                        await breaker.release_async(admission, _health_error(exc))
                    raise
                if breaker is not None and admission is not None:
                    await breaker.release_async(admission)
            except asyncio.CancelledError:
                self._record(
                    log,
                    Attempt(model.name, number, None, t0, _clock.monotonic() - t0, hedged, True),
                )
                raise
            except CircuitOpenError as exc:
                self._record(log, Attempt(model.name, number, exc, t0, 0.0, hedged))
                raise
            except ModelError as exc:
                self._record(
                    log, Attempt(model.name, number, exc, t0, _clock.monotonic() - t0, hedged)
                )
                wait = self._retry_wait(exc, number, attempts, started)
                if wait is not None:
                    await self._report_retry(model, number, attempts, exc, wait)
                    await _clock.sleep(wait)
                    continue
                if not self.fallback_on(exc):
                    raise _Stop(exc) from exc
                raise
            except Exception as exc:
                # Not a model error: a bug in a model or a check. Never hide it behind fallback.
                self._record(
                    log, Attempt(model.name, number, exc, t0, _clock.monotonic() - t0, hedged)
                )
                raise _Stop(exc) from exc
            self._record(
                log, Attempt(model.name, number, None, t0, _clock.monotonic() - t0, hedged)
            )
            return response
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # -- the Model protocol ---------------------------------------------------------------------

    async def run(self, request: ModelRequest | str) -> ChainResult:
        """Answer ``request`` and report every attempt made for it."""
        req = as_request(request)
        log: list[Attempt] = []
        started = _clock.monotonic()
        try:
            if self.hedge_after is None:
                index, response = await self._sequential(req, log, started)
            else:
                index, response = await self._hedged(req, log, started)
        except _Stop as stop:
            err = stop.error
            err.add_note(_describe(log))
            raise err from None
        return ChainResult(response, tuple(log), self.models[index].name)

    async def complete(self, request: ModelRequest | str) -> ModelResponse:
        """Answer ``request`` with the first model that succeeds."""
        return (await self.run(request)).response

    async def _sequential(
        self, req: ModelRequest, log: list[Attempt], started: float
    ) -> tuple[int, ModelResponse]:
        for index in range(len(self.models)):
            try:
                return index, await self._try_model(index, req, log, started, False)
            except (ModelError, CircuitOpenError):
                continue
        raise self._all_failed(log)

    async def _hedged(
        self, req: ModelRequest, log: list[Attempt], started: float
    ) -> tuple[int, ModelResponse]:
        assert self.hedge_after is not None
        running: dict[asyncio.Task[ModelResponse], int] = {}
        timer: asyncio.Task[None] | None = None
        next_index = 0

        def launch() -> None:
            nonlocal next_index, timer
            hedged = next_index > 0
            task = asyncio.create_task(self._try_model(next_index, req, log, started, hedged))
            running[task] = next_index
            next_index += 1
            if timer is not None:
                timer.cancel()
            timer = (
                asyncio.create_task(_clock.sleep(self.hedge_after or 0.0))
                if next_index < len(self.models)
                else None
            )

        launch()
        try:
            while running:
                waiting: set[asyncio.Future[Any]] = set(running)
                if timer is not None:
                    waiting.add(timer)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in [t for t in done if t in running]:
                    index = running.pop(task)
                    exc = task.exception()
                    if exc is None:
                        return index, task.result()
                    if not isinstance(exc, ModelError | CircuitOpenError):
                        raise exc
                    if next_index < len(self.models):
                        launch()  # a failure starts the next model now, not at the timer
                if timer is not None and timer in done and next_index < len(self.models):
                    launch()
            raise self._all_failed(log)
        finally:
            pending: list[asyncio.Future[Any]] = [t for t in running if not t.done()]
            if timer is not None and not timer.done():
                pending.append(timer)
            for future in pending:
                future.cancel()
            # Wait for the losers to finish cancelling, so none outlives the call.
            await asyncio.gather(*pending, return_exceptions=True)

    def _all_failed(self, log: list[Attempt]) -> AllModelsFailedError:
        return AllModelsFailedError(
            f"all {len(self.models)} models of chain {self._name!r} failed ({len(log)} attempts)",
            attempts=log,
            model=self._name,
        )

    async def stream(self, request: ModelRequest | str) -> AsyncIterator[StreamEvent]:
        """Stream from the first model that succeeds.

        A failure after some events were streamed still falls back: the chain then yields a
        :class:`StreamReset` (discard what you have shown) and streams the next try. Streams are
        not hedged.
        """
        req = as_request(request)
        log: list[Attempt] = []
        started = _clock.monotonic()
        for index, model in enumerate(self.models):
            breaker = self.breakers[index]
            attempts = self.retry.effective_attempts()
            for number in range(1, attempts + 1):
                t0 = _clock.monotonic()
                emitted = False
                try:
                    remaining = self._remaining(started)
                    if remaining is not None and remaining <= 0:
                        raise ModelTimeoutError(
                            f"the chain's deadline of {self.deadline:g}s ran out before this try",
                            provider=model.system,
                            model=model.name,
                        )
                    admission = None if breaker is None else await breaker.acquire_async()
                    events = model.stream(req)
                    try:
                        while True:
                            # Each chunk must arrive within the deadline: a stalled stream
                            # is cut like a stalled call.
                            limit = self._remaining(started)
                            try:
                                event = await self._limited(anext(events), limit, model)
                            except StopAsyncIteration:
                                break
                            if isinstance(event, StreamDone):
                                await self._checked(event.response, model)
                            emitted = True
                            yield event
                    except BaseException as exc:
                        if breaker is not None and admission is not None:
                            await breaker.release_async(admission, _health_error(exc))
                        raise
                    finally:
                        aclose = getattr(events, "aclose", None)
                        if aclose is not None:
                            await aclose()
                    if breaker is not None and admission is not None:
                        await breaker.release_async(admission)
                except CircuitOpenError as exc:
                    self._record(log, Attempt(model.name, number, exc, t0, 0.0))
                    break
                except ModelError as exc:
                    self._record(log, Attempt(model.name, number, exc, t0, _clock.monotonic() - t0))
                    wait = self._retry_wait(exc, number, attempts, started)
                    if wait is None and not self.fallback_on(exc):
                        exc.add_note(_describe(log))
                        raise
                    if emitted:
                        yield StreamReset(reason=str(exc), model=model.name)
                    if wait is not None:
                        await self._report_retry(model, number, attempts, exc, wait)
                        await _clock.sleep(wait)
                        continue
                    break
                self._record(log, Attempt(model.name, number, None, t0, _clock.monotonic() - t0))
                return
        raise self._all_failed(log)


def _describe(log: Sequence[Attempt]) -> str:
    lines = ["attempts made by the fallback chain:"]
    for a in log:
        lines.append(f"  {a.model} try {a.number}: {a.error or 'ok'}")
    return "\n".join(lines)
