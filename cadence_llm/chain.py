"""``FallbackChain``: several models behind one, failing over on the errors that warrant it.

A chain is itself a :class:`~cadence_llm.models.base.Model`, so it can be used (and nested)
anywhere a model is. For each model in order it makes up to ``retry`` attempts (sleeping for the
provider's Retry-After when it gave one); an error whose ``should_fallback`` is true moves on to
the next model, any other error (authentication, a bad request) stops the chain at once, because
another model will not fix it. A model whose declared context window is too small for the
request is passed over without a call. With ``hedge_after`` the next model is started when the
current one is slow, the first good answer wins and the others are cancelled. An optional
``check`` can refuse a successful but bad answer. Every attempt is recorded; when all models
fail, one :class:`AllModelsFailedError` lists them.

One loop makes every attempt, for ``complete`` (sequential or hedged) and ``stream`` alike
(:mod:`cadence_llm._attempts`), judged by the chain's :class:`cadence.resilience.Retry` policy.
Before each attempt the model's *gates* are entered: its circuit breaker and any ``gates=``
(rate limiters, quotas), see :mod:`cadence_llm._gates`.

Retries inside the chain are the only retries: adapters build SDK clients with
``max_retries=0``, so exactly the configured number of attempts reaches each provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from cadence import clock as _clock
from cadence.exceptions import (
    BudgetExceededError,
    CadenceDefinitionError,
    CadenceError,
    CircuitOpenError,
)
from cadence.resilience import CircuitBreaker, InMemoryBreakerStore, Retry

from ._attempts import Call, Stop, note_rejected, tries
from ._gates import BreakerGate, Gate, GateFactory, gates_for
from ._windows import TokenCounter, estimate_tokens
from .errors import (
    AllModelsFailedError,
    AnswerRejectedError,
    Attempt,
    ModelError,
)
from .messages import ModelRequest, ModelResponse, StreamDone, StreamEvent, StreamReset
from .models.base import Model, as_request, model_identity
from .ratelimit import RateLimiter

__all__ = ["ChainResult", "FallbackChain", "Gate", "default_fallback"]

logger = logging.getLogger("cadence_llm")

Check: TypeAlias = Callable[[ModelResponse], "bool | str | Awaitable[bool | str | None] | None"]
BreakerFactory: TypeAlias = Callable[[Model], CircuitBreaker]


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


class FallbackChain:
    """Try models in order; a chain is itself a model.

    Args:
        models: The models, preferred first.
        name: The chain's name in errors and spans (default: the models' names joined by ``>``).
        retry: Attempts per model: an int, or a :class:`cadence.resilience.Retry` policy whose
            ``max_attempts`` and delays are used (default: 2 attempts, exponential backoff from
            0.5 s; a provider's Retry-After wins over the backoff). Only errors with
            ``retryable`` set are retried.
        breaker: Per-model circuit breakers: True gives each model a default
            :class:`~cadence.resilience.CircuitBreaker` private to this chain; a factory
            ``breaker(model) -> CircuitBreaker`` lets you share circuits (e.g. a Redis store
            across processes). A model whose circuit is open is skipped without a call; only
            retryable errors count as failures.
        gates: More checks before each attempt (rate limiters, quotas): :class:`Gate` objects
            shared by all models, or factories ``gate(model) -> Gate | None``. Entered in order
            after the breaker, within the attempt's time limit.
        fallback_on: Decides whether an error moves to the next model
            (default :func:`default_fallback`).
        hedge_after: Seconds after which the next model is started alongside a slow one. A
            hedge a run's budget has no room for is not made: its refusal is recorded as an
            attempt and logged, the running try goes on, and no more hedges start for that
            call; the refused model is tried again, alone, only if the running try fails.
        check: ``check(response)`` returning False or a reason string refuses an answer
            (recorded as :class:`AnswerRejectedError`, which falls back). May be async.
        deadline: Seconds the whole call may take, sleeps included; waits that would pass it
            are skipped in favour of the next model.
        attempt_timeout: Seconds one attempt may take (gates, call and check), after which it
            fails with a retryable ``ModelTimeoutError``; for a stream, the longest wait for
            each chunk. Independent of ``deadline``, which bounds the whole call.
        context_windows: Declared context windows in tokens, by model name (a model may also
            declare its own ``context_window`` attribute). A request estimated larger than a
            model's window skips that model without a call, as does any model whose window is
            not larger than one that already refused the request.
        count_tokens: ``count_tokens(request) -> int``, the request's size for routing
            (default: a four-characters-per-token estimate plus ``max_tokens``).
        on_attempt: Called with each finished :class:`Attempt` (for logging and metrics).
        limiter: A :class:`~cadence_llm.ratelimit.RateLimiter` consulted before each attempt,
            ahead of the circuit breaker: a model at its declared limit is skipped or waited
            for (by the limiter's policy) without a request, and a provider's 429 blocks the
            model for every run sharing the limiter's store. The limiter is a gate.
    """

    system = "chain"

    def __init__(
        self,
        models: Sequence[Model],
        *,
        name: str | None = None,
        retry: int | Retry = 2,
        breaker: bool | BreakerFactory = False,
        gates: Sequence[Gate | GateFactory] = (),
        fallback_on: Callable[[ModelError], bool] = default_fallback,
        hedge_after: float | None = None,
        check: Check | None = None,
        deadline: float | None = None,
        attempt_timeout: float | None = None,
        context_windows: Mapping[str, int] | None = None,
        count_tokens: TokenCounter = estimate_tokens,
        on_attempt: Callable[[Attempt], None] | None = None,
        limiter: RateLimiter | None = None,
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
        for label, value in (
            ("hedge_after", hedge_after),
            ("deadline", deadline),
            ("attempt_timeout", attempt_timeout),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                if label == "hedge_after" and value == 0:
                    continue
                raise CadenceDefinitionError(f"{label} must be > 0 seconds, got {value!r}")
        for label, fn, example in (
            ("check", check, "check=lambda response: bool(response.text)"),
            ("fallback_on", fallback_on, "fallback_on=lambda error: error.should_fallback"),
            ("on_attempt", on_attempt, "on_attempt=attempts.append"),
            ("count_tokens", count_tokens, "count_tokens=lambda request: ..."),
        ):
            if fn is not None and not callable(fn):
                raise CadenceDefinitionError(
                    f"FallbackChain({label}=...) must be a function, got {fn!r}; e.g. {example}"
                )
        if limiter is not None and not isinstance(limiter, RateLimiter):
            raise CadenceDefinitionError(
                f"FallbackChain(limiter=...) must be a cadence_llm.ratelimit.RateLimiter, got "
                f"{limiter!r}; write limiter=RateLimiter({{'gpt-4o': RateLimit(requests=500)}})"
            )
        if limiter is not None and not set(limiter.limits) & {m.name for m in models}:
            # It would limit nothing: almost always a name that is not the model's `name`.
            raise CadenceDefinitionError(
                f"FallbackChain(limiter=...) limits none of the chain's models: the limiter "
                f"names {sorted(limiter.limits)}, the models are named "
                f"{[m.name for m in models]}; key RateLimiter limits by each model's `name`"
            )
        windows = dict(context_windows or {})
        for key, size in windows.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise CadenceDefinitionError(
                    f"context_windows[{key!r}] must be a token count >= 1, got {size!r}"
                )
        unknown = set(windows) - {m.name for m in models}
        if unknown:
            raise CadenceDefinitionError(
                f"context_windows names no model of the chain: {sorted(unknown)}; the models "
                f"are {[m.name for m in models]}"
            )
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
        # The limiter comes first, so a refused attempt never takes a half-open breaker's probe.
        first: list[Gate] = [] if limiter is None else [limiter]
        self.limiter = limiter
        self.gates: list[list[Gate]] = [
            first + ([] if b is None else [BreakerGate(b)]) + gates_for(m, gates)
            for m, b in zip(models, self.breakers, strict=True)
        ]
        self.windows: list[int | None] = [
            windows.get(m.name, getattr(m, "context_window", None)) for m in models
        ]
        self.fallback_on = fallback_on
        self.hedge_after = hedge_after
        self.check = check
        self.deadline = deadline
        self.attempt_timeout = attempt_timeout
        self.count_tokens = count_tokens
        self.on_attempt = on_attempt

    @property
    def name(self) -> str:
        """The chain's name."""
        return self._name

    def __repr__(self) -> str:
        return f"FallbackChain({self._name!r})"

    def cache_identity(self) -> dict[str, Any]:
        """The identities of the chain's models, in order (any of them may answer)."""
        return {"system": "chain", "models": [model_identity(m) for m in self.models]}

    # -- bookkeeping ---------------------------------------------------------------------------

    def _record(self, log: list[Attempt], attempt: Attempt) -> None:
        log.append(attempt)
        if self.on_attempt is not None:
            self.on_attempt(attempt)

    async def _checked(self, response: ModelResponse, model: Model) -> ModelResponse:
        if self.check is None:
            return response
        verdict = self.check(response)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is True or verdict is None:
            return response
        reason = verdict if isinstance(verdict, str) else "the answer check returned False"
        note_rejected(response)
        raise AnswerRejectedError(reason, provider=model.system, model=model.name, partial=response)

    async def _try_model(self, index: int, call: Call, hedged: bool) -> ModelResponse:
        """Run one model's attempts; return its answer or raise its last error."""
        model = self.models[index]
        response: ModelResponse | None = None
        async with contextlib.aclosing(tries(self, index, call, hedged)) as attempts:
            async for attempt in attempts:
                async with attempt:
                    await attempt.open()
                    answer = await attempt.limited(model.complete(call.request))
                    attempt.response = response = await attempt.limited(
                        self._checked(answer, model)
                    )
        assert response is not None
        return response

    # -- the Model protocol ---------------------------------------------------------------------

    async def run(self, request: ModelRequest | str) -> ChainResult:
        """Answer ``request`` and report every attempt made for it."""
        call = Call(as_request(request), _clock.monotonic())
        try:
            if self.hedge_after is None:
                index, response = await self._sequential(call)
            else:
                index, response = await self._hedged(call)
        except Stop as stop:
            err = stop.error
            err.add_note(_describe(call.log))
            raise err from None
        return ChainResult(response, tuple(call.log), self.models[index].name)

    async def complete(self, request: ModelRequest | str) -> ModelResponse:
        """Answer ``request`` with the first model that succeeds."""
        return (await self.run(request)).response

    async def _sequential(self, call: Call) -> tuple[int, ModelResponse]:
        for index in range(len(self.models)):
            try:
                return index, await self._try_model(index, call, False)
            except (ModelError, CircuitOpenError):
                continue
        raise self._all_failed(call.log)

    async def _hedged(self, call: Call) -> tuple[int, ModelResponse]:
        assert self.hedge_after is not None
        running: dict[asyncio.Task[ModelResponse], int] = {}
        extras: set[asyncio.Task[ModelResponse]] = set()  # started while another try was running
        refused: list[int] = []  # extras the budget refused: tried again only if the rest fail
        timer: asyncio.Task[None] | None = None
        hedging = True  # until the budget refuses a hedge: then no more extras for this call
        next_index = 0

        def launch() -> None:
            nonlocal next_index, timer
            if refused:
                index = refused.pop(0)
            else:
                index, next_index = next_index, next_index + 1
            task = asyncio.create_task(self._try_model(index, call, index > 0))
            if any(not t.done() for t in running):
                extras.add(task)
            running[task] = index
            if timer is not None:
                timer.cancel()
            timer = (
                asyncio.create_task(_clock.sleep(self.hedge_after or 0.0))
                if hedging and next_index < len(self.models)
                else None
            )

        launch()
        try:
            while running:
                waiting: set[asyncio.Future[Any]] = set(running)
                if timer is not None:
                    waiting.add(timer)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finished = sorted((t for t in done if t in running), key=running.__getitem__)
                # An answer wins over any failure that came with it (those are still noted).
                answered = next((t for t in finished if t.exception() is None), None)
                for task in finished:
                    if task is answered:
                        continue
                    index = running.pop(task)
                    exc = task.exception()
                    assert exc is not None
                    if task in extras and _refused_by_budget(exc):
                        # An extra request the budget has no room for is simply not made: the
                        # try already running (and paid for) goes on. Its attempt is recorded.
                        hedging = False
                        if timer is not None:
                            timer.cancel()
                            timer = None
                        refused.append(index)
                        logger.warning(
                            "fallback chain %r did not start its hedge at %r: %s",
                            self._name,
                            self.models[index].name,
                            exc.error if isinstance(exc, Stop) else exc,
                        )
                        if answered is None and not any(not t.done() for t in running):
                            launch()  # the others failed meanwhile: it is needed now, alone
                        continue
                    if answered is not None:
                        continue
                    if not isinstance(exc, ModelError | CircuitOpenError):
                        raise exc
                    if refused or next_index < len(self.models):
                        launch()  # a failure starts the next model now, not at the timer
                if answered is not None:
                    return running[answered], answered.result()
                if timer is not None and timer in done and next_index < len(self.models):
                    launch()
            raise self._all_failed(call.log)
        finally:
            for task in running:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: a failure that lost to an answer or a stop
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
        call = Call(as_request(request), _clock.monotonic())
        for index, model in enumerate(self.models):
            try:
                async with contextlib.aclosing(tries(self, index, call, False)) as attempts:
                    async for attempt in attempts:
                        emitted = False
                        done: StreamDone | None = None
                        async with attempt:
                            await attempt.open()
                            async with contextlib.aclosing(_events(model, call.request)) as events:
                                while True:
                                    try:
                                        event = await attempt.limited(anext(events), chunk=True)
                                    except StopAsyncIteration:
                                        break
                                    if isinstance(event, StreamDone):
                                        await attempt.limited(
                                            self._checked(event.response, model), chunk=True
                                        )
                                        attempt.response = event.response
                                        # Held back: the attempt is recorded and its gates
                                        # settled before a consumer that stops here stops.
                                        done = event
                                        continue
                                    emitted = True
                                    yield event
                        if done is not None and attempt.verdict == "ok":
                            yield done
                        elif emitted and attempt.verdict in ("retry", "next"):
                            yield StreamReset(reason=str(attempt.error), model=model.name)
                return
            except Stop as stop:
                stop.error.add_note(_describe(call.log))
                raise stop.error from None
            except (ModelError, CircuitOpenError):
                continue
        raise self._all_failed(call.log)


async def _events(model: Model, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
    """``model.stream(request)`` as a generator the chain can close (closing closes the model's)."""
    events = model.stream(request)
    try:
        async for event in events:
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _refused_by_budget(exc: BaseException | None) -> bool:
    """Whether a try ended because a budget refused its request before it was sent.

    That is a budget with no room for it, or one limiting cost without a price for the model.
    """
    error = exc.error if isinstance(exc, Stop) else exc
    return isinstance(error, BudgetExceededError) or (
        isinstance(error, CadenceError) and error.code == "BUDGET_UNPRICED_MODEL"
    )


def _describe(log: Sequence[Attempt]) -> str:
    lines = ["attempts made by the fallback chain:"]
    for a in log:
        lines.append(f"  {a.model} try {a.number}: {a.error or 'ok'}")
    return "\n".join(lines)
