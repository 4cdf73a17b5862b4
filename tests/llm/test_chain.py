"""FallbackChain: which errors fail over, retries, Retry-After, deadline, breaker, hedging, checks."""

from __future__ import annotations

import asyncio

import pytest

from cadence import _clock
from cadence.exceptions import CircuitOpenError
from cadence.resilience import CircuitBreaker, InMemoryBreakerStore, Retry
from cadence.testing import FakeClock
from cadence_llm import (
    AllModelsFailedError,
    AnswerRejectedError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextWindowExceededError,
    FailMidStream,
    FallbackChain,
    FunctionModel,
    MalformedResponseError,
    Model,
    ModelConnectionError,
    ModelNotFoundError,
    ModelRequest,
    ModelTimeoutError,
    OverloadedError,
    RateLimitedError,
    ScriptedModel,
    ServerError,
    StreamDone,
    StreamReset,
    TextDelta,
    TruncatedStreamError,
)

FALLS_OVER = [
    RateLimitedError("slow down"),
    OverloadedError("overloaded"),
    ModelTimeoutError("timed out"),
    ModelConnectionError("reset by peer"),
    ServerError("boom"),
    MalformedResponseError("not json"),
    TruncatedStreamError("cut"),
    ContextWindowExceededError("too long"),
]
STOPS = [
    AuthenticationError("bad key"),
    BadRequestError("bad field"),
    ModelNotFoundError("no such model"),
    ContentFilteredError("refused"),
]


@pytest.mark.parametrize("error", FALLS_OVER, ids=lambda e: type(e).__name__)
async def test_falls_over_on_retryable_classes(error):
    """Each error that another model can fix moves the chain to the next model."""
    first = ScriptedModel([error], name="first")
    second = ScriptedModel(["from second"], name="second")
    result = await FallbackChain([first, second], retry=1).run("hi")
    assert result.response.text == "from second"
    assert result.model == "second"
    assert [(a.model, type(a.error).__name__ if a.error else None) for a in result.attempts] == [
        ("first", type(error).__name__),
        ("second", None),
    ]


@pytest.mark.parametrize("error", STOPS, ids=lambda e: type(e).__name__)
async def test_does_not_fall_over_on_auth_or_bad_request(error):
    """Auth, bad-request, not-found and content-filter errors stop the chain; the next model is never called."""
    first = ScriptedModel([error], name="first")
    second = ScriptedModel(["never"], name="second")
    with pytest.raises(type(error)) as info:
        await FallbackChain([first, second], retry=3).complete("hi")
    assert second.calls == 0
    assert first.calls == 1  # not retryable: one attempt only
    assert any("first try 1" in note for note in info.value.__notes__)


async def test_all_failing_raises_one_error_listing_every_attempt():
    """When every model fails, one AllModelsFailedError lists each attempt in order."""
    a = ScriptedModel([ServerError("a1"), ServerError("a2")], name="a")
    b = ScriptedModel([OverloadedError("b1"), OverloadedError("b2")], name="b")
    with FakeClock(), pytest.raises(AllModelsFailedError) as info:
        await FallbackChain([a, b], retry=Retry(2, delay=0.1, jitter=False)).complete("hi")
    err = info.value
    assert [(x.model, x.number, str(x.error.message)) for x in err.attempts] == [
        ("a", 1, "a1"),
        ("a", 2, "a2"),
        ("b", 1, "b1"),
        ("b", 2, "b2"),
    ]
    text = str(err)
    assert all(f"{m} try {n}" in text for m in "ab" for n in (1, 2))
    assert err.__cause__ is err.attempts[-1].error


async def test_retries_then_succeeds_on_same_model():
    """A retryable error is retried on the same model up to the attempt count."""
    a = ScriptedModel([ServerError("x"), "second try"], name="a")
    with FakeClock() as clock:
        result = await FallbackChain([a], retry=Retry(3, delay=0.25, jitter=False)).run("hi")
    assert result.response.text == "second try"
    assert a.calls == 2
    assert clock.sleeps == [0.25]


async def test_retry_after_is_honoured_within_deadline():
    """A provider's Retry-After (2.5 s) is waited exactly, on the clock, when the deadline allows."""
    a = ScriptedModel([RateLimitedError("slow", retry_after=2.5), "ok"], name="a")
    b = ScriptedModel(["fallback"], name="b")
    with FakeClock() as clock:
        result = await FallbackChain(
            [a, b], retry=Retry(3, delay=0.1, jitter=False), deadline=10
        ).run("hi")
    assert result.response.text == "ok" and b.calls == 0
    assert clock.sleeps == [2.5]


async def test_retry_after_past_deadline_moves_on_without_waiting():
    """A Retry-After longer than the time left is not waited: the next model answers now."""
    a = ScriptedModel([RateLimitedError("slow", retry_after=30)], name="a")
    b = ScriptedModel(["fallback"], name="b")
    with FakeClock() as clock:
        result = await FallbackChain([a, b], retry=3, deadline=10).run("hi")
    assert result.response.text == "fallback"
    assert clock.sleeps == []
    assert a.calls == 1


async def test_deadline_cuts_a_hanging_call():
    """A call still running at the chain's deadline is cancelled and reported as a timeout."""

    async def hang(request: ModelRequest) -> str:
        await _clock.sleep(3600)
        return "too late"

    slow = FunctionModel(hang, name="slow")
    with FakeClock() as clock, pytest.raises(AllModelsFailedError) as info:
        await FallbackChain([slow], retry=1, deadline=5).complete("hi")
    assert isinstance(info.value.attempts[0].error, ModelTimeoutError)
    assert clock.now == pytest.approx(5.0)


async def test_answer_check_rejects_and_falls_back():
    """A successful answer refused by the check is recorded and the next model is used."""
    a = ScriptedModel(["not json"], name="a")
    b = ScriptedModel(['{"ok": 1}'], name="b")

    def is_json(resp):
        return resp.text.startswith("{") or "answer is not JSON"

    result = await FallbackChain([a, b], retry=1, check=is_json).run("hi")
    assert result.response.text == '{"ok": 1}'
    rejected = result.attempts[0].error
    assert isinstance(rejected, AnswerRejectedError) and "not JSON" in str(rejected)
    assert rejected.partial is not None and rejected.partial.text == "not json"


async def test_async_answer_check():
    """The answer check may be async."""

    async def check(resp):
        await asyncio.sleep(0)
        return resp.text == "good"

    chain = FallbackChain(
        [ScriptedModel(["bad"], name="a"), ScriptedModel(["good"], name="b")], retry=1, check=check
    )
    assert (await chain.complete("hi")).text == "good"


async def test_breaker_skips_a_dead_model():
    """After failure_threshold failures the model's circuit opens and later calls skip it."""
    dead = ScriptedModel([ServerError("down")], name="dead", repeat=True)
    healthy = ScriptedModel(["ok"], name="healthy", repeat=True)
    store = InMemoryBreakerStore()
    chain = FallbackChain(
        [dead, healthy],
        retry=1,
        breaker=lambda m: CircuitBreaker(
            f"test/{m.name}", failure_threshold=2, recovery_timeout=60, store=store
        ),
    )
    with FakeClock():
        results = [await chain.run("hi") for _ in range(5)]
    assert all(r.response.text == "ok" for r in results)
    assert dead.calls == 2
    assert isinstance(results[-1].attempts[0].error, CircuitOpenError)
    assert results[-1].attempts[0].duration == 0.0


async def test_breaker_true_gives_private_breakers():
    """breaker=True builds one breaker per model, private to the chain."""
    chain = FallbackChain(
        [ScriptedModel(["x"], name="a"), ScriptedModel(["y"], name="b")], breaker=True
    )
    assert [b is not None for b in chain.breakers] == [True, True]
    assert chain.breakers[0].name != chain.breakers[1].name


async def test_bad_requests_do_not_open_the_breaker():
    """Errors that show the provider answered (bad request) do not count against its circuit."""
    a = ScriptedModel([BadRequestError("bad")], name="a", repeat=True)
    store = InMemoryBreakerStore()
    chain = FallbackChain(
        [a], retry=1, breaker=lambda m: CircuitBreaker("t/a", failure_threshold=1, store=store)
    )
    for _ in range(3):
        with pytest.raises(BadRequestError):
            await chain.complete("hi")
    assert a.calls == 3


async def test_hedging_returns_the_faster_and_cancels_the_slower():
    """With hedge_after, a slow first model is joined by the next; the faster answer wins, the slower is cancelled."""
    cancelled = asyncio.Event()

    async def slow(request: ModelRequest) -> str:
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "slow"

    fast = ScriptedModel(["fast"], name="fast")
    with FakeClock():
        result = await FallbackChain([FunctionModel(slow, name="slow"), fast], hedge_after=0.5).run(
            "hi"
        )
    assert result.response.text == "fast" and result.model == "fast"
    assert cancelled.is_set()
    by_model = {a.model: a for a in result.attempts}
    assert by_model["slow"].cancelled and by_model["fast"].hedged and by_model["fast"].error is None


async def test_hedge_not_started_when_first_answers_in_time():
    """A first model that answers before hedge_after means the next model is never called."""
    first = ScriptedModel(["quick"], name="first")
    second = ScriptedModel(["unused"], name="second")
    with FakeClock(auto_advance=False):
        result = await FallbackChain([first, second], hedge_after=0.5).run("hi")
    assert result.response.text == "quick" and second.calls == 0


async def test_hedged_failure_starts_next_model_at_once():
    """In hedged mode a failure starts the next model without waiting for the hedge timer."""
    first = ScriptedModel([OverloadedError("busy")], name="first")
    second = ScriptedModel(["second"], name="second")
    with FakeClock(auto_advance=False):
        result = await FallbackChain([first, second], retry=1, hedge_after=100).run("hi")
    assert result.response.text == "second"


async def test_hedged_auth_error_stops_everything():
    """A non-fallback error in hedged mode cancels the other tries and is raised."""
    first = ScriptedModel([AuthenticationError("bad key")], name="first")
    second = ScriptedModel(["never"], name="second")
    with FakeClock(auto_advance=False), pytest.raises(AuthenticationError):
        await FallbackChain([first, second], hedge_after=100).complete("hi")
    assert second.calls == 0


async def test_stream_falls_back_after_mid_stream_failure():
    """An error after the first chunk falls back: the chain emits StreamReset and streams the next model."""
    a = ScriptedModel([FailMidStream("partial answer", OverloadedError("overloaded"))], name="a")
    b = ScriptedModel(["full answer"], name="b")
    events = [e async for e in FallbackChain([a, b], retry=1).stream("hi")]
    resets = [i for i, e in enumerate(events) if isinstance(e, StreamReset)]
    assert len(resets) == 1
    before = "".join(e.text for e in events[: resets[0]] if isinstance(e, TextDelta))
    after = "".join(e.text for e in events[resets[0] :] if isinstance(e, TextDelta))
    assert before == "partial answer" and after == "full answer"
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "full answer"


async def test_stream_auth_error_is_not_fallen_back():
    """A stream that fails with an auth error raises it and never calls the next model."""
    a = ScriptedModel([AuthenticationError("bad key")], name="a")
    b = ScriptedModel(["x"], name="b")
    with pytest.raises(AuthenticationError):
        async for _ in FallbackChain([a, b]).stream("hi"):
            pass
    assert b.calls == 0


async def test_stream_all_failing():
    """When every streamed model fails, the chain raises AllModelsFailedError."""
    a = ScriptedModel([ServerError("x")], name="a")
    with pytest.raises(AllModelsFailedError):
        async for _ in FallbackChain([a], retry=1).stream("hi"):
            pass


async def test_chain_is_a_model_and_nests():
    """A chain satisfies the Model protocol and can be an element of another chain."""
    inner = FallbackChain(
        [ScriptedModel([ServerError("x")], name="a"), ScriptedModel(["inner ok"], name="b")],
        retry=1,
    )
    assert isinstance(inner, Model)
    outer = FallbackChain([inner, ScriptedModel(["outer"], name="c")], retry=1)
    assert (await outer.complete("hi")).text == "inner ok"


async def test_unknown_exceptions_are_not_swallowed():
    """A bug (a non-model exception) propagates at once instead of triggering fallback."""

    def broken(request):
        raise KeyError("bug")

    b = ScriptedModel(["x"], name="b")
    with pytest.raises(KeyError):
        await FallbackChain([FunctionModel(broken), b]).complete("hi")
    assert b.calls == 0


async def test_on_attempt_sees_every_attempt():
    """on_attempt is called once per attempt, in order."""
    seen = []
    chain = FallbackChain(
        [ScriptedModel([ServerError("x")], name="a"), ScriptedModel(["ok"], name="b")],
        retry=1,
        on_attempt=seen.append,
    )
    await chain.complete("hi")
    assert [(a.model, a.error is None) for a in seen] == [("a", False), ("b", True)]


def test_invalid_configuration_is_refused_early():
    """Building a chain with no models or bad options fails with a message saying what to fix."""
    with pytest.raises(ValueError, match="at least one model"):
        FallbackChain([])
    with pytest.raises(TypeError, match="not a model"):
        FallbackChain(["gpt-4o"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="retry"):
        FallbackChain([ScriptedModel(["x"])], retry=0)
    with pytest.raises(ValueError, match="hedge_after"):
        FallbackChain([ScriptedModel(["x"])], hedge_after=-1)


def test_retry_of_the_wrong_type_is_refused():
    """A retry option that is neither a count nor a Retry policy fails at construction with a hint."""
    from cadence.exceptions import CadenceDefinitionError

    with pytest.raises(CadenceDefinitionError, match="retry=3"):
        FallbackChain([ScriptedModel(["x"])], retry={"max_attempts": 3})  # type: ignore[arg-type]


async def test_stream_answer_check_rejection_falls_back():
    """A streamed answer refused by the check resets the stream and moves to the next model."""
    a = ScriptedModel(["nope"], name="a")
    b = ScriptedModel(["yes indeed"], name="b")
    chain = FallbackChain([a, b], retry=1, check=lambda r: r.text.startswith("yes"))
    events = [e async for e in chain.stream("hi")]
    assert sum(isinstance(e, StreamReset) for e in events) == 1
    assert events[-1].response.text == "yes indeed"


async def test_stream_closed_early_does_not_trip_the_breaker():
    """A consumer that stops reading early is not a provider failure: the circuit stays closed."""
    store = InMemoryBreakerStore()
    model = ScriptedModel(["one two three four"], name="a", repeat=True)
    chain = FallbackChain(
        [model], breaker=lambda m: CircuitBreaker("early/a", failure_threshold=1, store=store)
    )
    for _ in range(3):
        stream = chain.stream("hi")
        async for _event in stream:
            break
        await stream.aclose()
    assert model.calls == 3
    assert chain.breakers[0].state.value == "closed"


async def test_retries_are_reported_to_policy_and_run_hooks():
    """A chain retrying inside a cadence note reports to Retry(on_retry=...) and the run's on_retry hook."""
    from dataclasses import dataclass

    from cadence import Cadence, CadenceHooks, Score

    events = []
    hooked = []

    class Hooks(CadenceHooks):
        async def on_retry(self, note_name, score, attempt, max_attempts, error):
            hooked.append((note_name, attempt, max_attempts, type(error).__name__))

    @dataclass
    class S(Score):
        answer: str = ""

    model = ScriptedModel([OverloadedError("busy"), "fine"], name="m")
    chain = FallbackChain([model], retry=Retry(2, delay=0.1, jitter=False, on_retry=events.append))

    async def ask(score: S) -> None:
        score.answer = (await chain.complete("hi")).text

    with FakeClock():
        result = await Cadence("llm", S()).with_hooks(Hooks()).then("ask", ask).run()
    assert result.answer == "fine"
    assert [(e.attempt, e.max_attempts, e.delay) for e in events] == [(1, 2, 0.1)]
    assert hooked == [("ask", 1, 2, "OverloadedError")]


async def test_stalled_stream_is_cut_at_the_deadline():
    """A stream that stops sending chunks is cut at the chain's deadline, reset, and reported."""

    async def stall(request: ModelRequest):
        yield "first"
        await _clock.sleep(3600)
        yield "never"

    stalled = FunctionModel(lambda r: "unused", stream_function=stall, name="stalled")
    backup = ScriptedModel(["backup answer"], name="backup")
    seen = []
    with FakeClock() as clock, pytest.raises(AllModelsFailedError) as info:
        async for event in FallbackChain([stalled, backup], retry=1, deadline=5).stream("hi"):
            seen.append(event)
    assert clock.now == pytest.approx(5.0)
    assert [type(e).__name__ for e in seen] == ["TextDelta", "StreamReset"]
    errors = [a.error for a in info.value.attempts]
    assert isinstance(errors[0], ModelTimeoutError) and "during the call" in str(errors[0])
    assert isinstance(errors[1], ModelTimeoutError) and "before this try" in str(errors[1])
    assert backup.calls == 0


async def test_stream_answer_check_is_bounded_by_the_deadline() -> None:
    """check= on a streamed answer runs within the attempt's limits, as it does for complete()."""

    async def stuck(response: object) -> bool:
        await _clock.sleep(3600)
        return True

    chain = FallbackChain([ScriptedModel(["slow to judge"], name="a")], check=stuck, deadline=5)
    with FakeClock(), pytest.raises(AllModelsFailedError) as caught:
        async for _ in chain.stream("hi"):
            pass
    assert isinstance(caught.value.attempts[0].error, ModelTimeoutError)


def test_callable_options_and_limiter_are_checked_when_built() -> None:
    """check=, fallback_on=, on_attempt= must be functions and limiter= a RateLimiter."""
    from cadence.exceptions import CadenceDefinitionError

    model = ScriptedModel(["x"])
    for options in ({"check": "x"}, {"fallback_on": True}, {"on_attempt": 1}, {"limiter": {}}):
        with pytest.raises(CadenceDefinitionError):
            FallbackChain([model], **options)
    with pytest.raises(CadenceDefinitionError, match="deadline"):
        FallbackChain([model], deadline=True)
