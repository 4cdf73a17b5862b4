"""FallbackChain: context-window routing, the per-attempt timeout, and gates before attempts."""

from __future__ import annotations

import pytest
import respx

from cadence import _clock
from cadence.exceptions import CadenceDefinitionError, CircuitOpenError
from cadence.resilience import Retry
from cadence.testing import FakeClock
from cadence_llm import (
    AllModelsFailedError,
    AnthropicModel,
    ContextWindowExceededError,
    FallbackChain,
    FunctionModel,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    OpenAIModel,
    RateLimitedError,
    ScriptedModel,
    StreamDone,
    TextDelta,
)

from .conftest import ANTHROPIC_URL, OPENAI_URL, anthropic_message

LONG = "word " * 2000  # about 2,500 tokens by the estimate


@respx.mock
async def test_a_request_too_large_for_a_model_goes_to_the_larger_one_without_a_call(
    openai_client, anthropic_client
):
    """With declared windows, a long prompt skips the small model (zero HTTP calls) for the large one."""
    small = respx.post(OPENAI_URL).respond(500)
    large = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
    chain = FallbackChain(
        [
            OpenAIModel("small", client=openai_client),
            AnthropicModel("large", client=anthropic_client),
        ],
        context_windows={"small": 1000, "large": 200_000},
    )
    result = await chain.run(LONG)
    assert (small.call_count, large.call_count) == (0, 1)
    assert result.model == "large"
    skipped = result.attempts[0].error
    assert isinstance(skipped, ContextWindowExceededError)
    assert "small's context window is 1000 tokens" in str(skipped)


async def test_a_request_that_fits_uses_the_first_model():
    """A short request goes to the first model as usual."""
    small = ScriptedModel(["small answer"], name="small")
    large = ScriptedModel(["large answer"], name="large")
    chain = FallbackChain([small, large], context_windows={"small": 1000, "large": 100_000})
    assert (await chain.complete("short question")).text == "small answer"
    assert large.calls == 0


async def test_max_tokens_counts_against_the_window():
    """The output a request reserves (max_tokens) counts: a short prompt asking for 4k skips a 2k model."""
    small = ScriptedModel(["x"], name="small")
    large = ScriptedModel(["from large"], name="large")
    chain = FallbackChain([small, large], context_windows={"small": 2000})
    result = await chain.run(ModelRequest.of("hi", max_tokens=4000))
    assert result.model == "large" and small.calls == 0


async def test_after_a_context_overflow_no_model_with_a_smaller_window_is_tried():
    """A model that overflows at runtime rules out later models whose windows are not larger."""
    a = ScriptedModel([ContextWindowExceededError("prompt is too long")], name="a")
    b = ScriptedModel(["never"], name="b")
    c = ScriptedModel(["from c"], name="c")
    chain = FallbackChain(
        [a, b, c], context_windows={"a": 8000, "b": 8000, "c": 32000}, count_tokens=lambda r: 10
    )
    result = await chain.run("hi")
    assert result.model == "c" and b.calls == 0
    assert "already refused it" in str(result.attempts[1].error)


async def test_models_without_a_declared_window_are_always_tried():
    """Only declared windows route: a model with none is called whatever the size."""
    unknown = ScriptedModel(["answered"], name="unknown")
    chain = FallbackChain([unknown], context_windows={})
    assert (await chain.complete(LONG)).text == "answered"


async def test_a_model_can_declare_its_own_window():
    """A model's context_window attribute is used when the chain declares none for it."""
    small = ScriptedModel(["x"], name="small")
    small.context_window = 100  # type: ignore[attr-defined]
    large = ScriptedModel(["from large"], name="large")
    assert (await FallbackChain([small, large]).run(LONG)).model == "large"


async def test_too_large_for_every_model_lists_every_skip():
    """When no model is large enough, one AllModelsFailedError names each skipped model."""
    chain = FallbackChain(
        [ScriptedModel(["x"], name="a"), ScriptedModel(["y"], name="b")],
        context_windows={"a": 100, "b": 200},
    )
    with pytest.raises(AllModelsFailedError) as info:
        await chain.complete(LONG)
    assert [type(a.error) for a in info.value.attempts] == [ContextWindowExceededError] * 2


async def test_streams_are_routed_too():
    """stream() skips a too-small model the same way."""
    small = ScriptedModel(["x"], name="small")
    large = ScriptedModel(["from large"], name="large")
    chain = FallbackChain([small, large], context_windows={"small": 100})
    events = [e async for e in chain.stream(LONG)]
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "from large"
    assert small.calls == 0


def test_window_declarations_are_checked():
    """Unknown model names and non-positive sizes in context_windows are refused when built."""
    a = ScriptedModel(["x"], name="a")
    with pytest.raises(CadenceDefinitionError, match="names no model"):
        FallbackChain([a], context_windows={"gpt-5": 1000})
    with pytest.raises(CadenceDefinitionError, match="token count"):
        FallbackChain([a], context_windows={"a": 0})
    with pytest.raises(CadenceDefinitionError, match="attempt_timeout"):
        FallbackChain([a], attempt_timeout=0)


async def test_attempt_timeout_cuts_one_attempt_and_the_retry_answers():
    """A hung attempt is cut at attempt_timeout and retried, well inside the whole-call deadline."""
    calls = 0

    async def first_hangs(request: ModelRequest) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await _clock.sleep(3600)
        return "second attempt"

    model = FunctionModel(first_hangs, name="m")
    chain = FallbackChain(
        [model], retry=Retry(2, delay=0.5, jitter=False), attempt_timeout=2, deadline=60
    )
    with FakeClock() as clock:
        result = await chain.run("hi")
    assert result.response.text == "second attempt"
    first = result.attempts[0].error
    assert isinstance(first, ModelTimeoutError) and "attempt timeout of 2s" in str(first)
    assert clock.now == pytest.approx(2.5)


async def test_the_deadline_still_bounds_the_call_when_attempts_are_longer():
    """With attempt_timeout above the time left, the deadline cuts the attempt and says so."""

    async def hang(request: ModelRequest) -> str:
        await _clock.sleep(3600)
        return "never"

    chain = FallbackChain([FunctionModel(hang, name="m")], retry=1, attempt_timeout=30, deadline=5)
    with FakeClock() as clock, pytest.raises(AllModelsFailedError) as info:
        await chain.complete("hi")
    assert "deadline of 5s" in str(info.value.attempts[0].error)
    assert clock.now == pytest.approx(5.0)


def _slow_stream(gap: float, pieces: int):
    async def produce(request: ModelRequest):
        for i in range(pieces):
            await _clock.sleep(gap)
            yield f"p{i} "

    return produce


async def test_attempt_timeout_on_a_stream_bounds_each_chunk_not_the_whole_answer():
    """A stream sending a chunk every 0.8 s outlives a 1 s attempt_timeout; a 3 s stall is cut."""
    steady = FunctionModel(lambda r: "", stream_function=_slow_stream(0.8, 5), name="steady")
    chain = FallbackChain([steady], retry=1, attempt_timeout=1)
    with FakeClock():
        events = [e async for e in chain.stream("hi")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "p0 p1 p2 p3 p4 "

    stalled = FunctionModel(lambda r: "", stream_function=_slow_stream(3, 2), name="stalled")
    with FakeClock(), pytest.raises(AllModelsFailedError) as info:
        _ = [e async for e in FallbackChain([stalled], retry=1, attempt_timeout=1).stream("hi")]
    assert isinstance(info.value.attempts[0].error, ModelTimeoutError)


class RecordingGate:
    """A gate that records what it is told."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, object]] = []

    async def enter(self, model, request):
        self.log.append(("enter", model.name, None))
        return model.name

    async def exit(self, ticket, response, error):
        usage = None if response is None else response.usage.output_tokens
        self.log.append(("exit", ticket, usage if error is None else type(error).__name__))


async def test_a_shared_gate_sees_every_attempt_with_its_outcome():
    """A gate object is entered before each attempt and told the response (with usage) or error."""
    from cadence_llm import ServerError

    gate = RecordingGate()
    a = ScriptedModel([ServerError("boom")], name="a")
    b = ScriptedModel([ModelResponse(text="ok")], name="b")
    await FallbackChain([a, b], retry=1, gates=[gate]).complete("hi there")
    assert gate.log == [
        ("enter", "a", None),
        ("exit", "a", "ServerError"),
        ("enter", "b", None),
        ("exit", "b", 1),
    ]


async def test_a_gate_refusing_a_model_skips_it_without_a_call():
    """A gate raising RateLimitedError(retryable=False) moves to the next model: no call, no retry."""

    class AtLimit:
        async def enter(self, model, request):
            if model.name == "busy":
                raise RateLimitedError("local limit reached", retryable=False, retry_after=30)
            return None

        async def exit(self, ticket, response, error):
            return None

    busy = ScriptedModel(["never"], name="busy")
    free = ScriptedModel(["from free"], name="free")
    result = await FallbackChain([busy, free], retry=3, gates=[lambda m: AtLimit()]).run("hi")
    assert result.model == "free" and busy.calls == 0
    assert len([a for a in result.attempts if a.model == "busy"]) == 1


async def test_a_gate_that_waits_counts_against_the_attempt_timeout():
    """A gate's wait is inside the attempt: waiting past attempt_timeout fails that attempt."""

    class SlowAdmission:
        async def enter(self, model, request):
            await _clock.sleep(5)

        async def exit(self, ticket, response, error):
            return None

    a = ScriptedModel(["never"], name="a")
    b = ScriptedModel(["from b"], name="b")
    chain = FallbackChain(
        [a, b], retry=1, attempt_timeout=1, gates=[lambda m: SlowAdmission() if m is a else None]
    )
    with FakeClock():
        result = await chain.run("hi")
    assert result.model == "b" and a.calls == 0
    assert isinstance(result.attempts[0].error, ModelTimeoutError)


async def test_an_open_circuit_gate_skips_the_model():
    """CircuitOpenError from a gate skips the model like an open breaker."""

    class Open:
        async def enter(self, model, request):
            raise CircuitOpenError("open", breaker="x", retry_after=5)

        async def exit(self, ticket, response, error):
            return None

    a = ScriptedModel(["never"], name="a")
    b = ScriptedModel(["from b"], name="b")
    result = await FallbackChain([a, b], gates=[lambda m: Open() if m is a else None]).run("hi")
    assert result.model == "b" and a.calls == 0


async def test_stream_gates_are_told_the_final_response():
    """For a stream, the gate's exit gets the assembled response (usage included)."""
    gate = RecordingGate()
    chain = FallbackChain([ScriptedModel(["one two three"], name="a")], gates=[gate])
    _ = [e async for e in chain.stream("hi")]
    assert gate.log == [("enter", "a", None), ("exit", "a", 3)]


def test_a_gate_of_the_wrong_shape_is_refused():
    """A factory returning something without enter/exit is refused when the chain is built."""
    with pytest.raises(TypeError, match="not a gate"):
        FallbackChain([ScriptedModel(["x"])], gates=[lambda m: object()])


async def test_retries_in_streams_and_calls_share_one_loop():
    """Calls and streams retry by the same policy: same attempts, same waits, same on_retry events."""
    from cadence_llm import ServerError

    for mode in ("complete", "stream"):
        events = []
        model = ScriptedModel([ServerError("a"), ServerError("b"), "ok"], name="m")
        policy = Retry(3, delay=0.5, backoff="exponential", jitter=False, on_retry=events.append)
        chain = FallbackChain([model], retry=policy)
        with FakeClock() as clock:
            if mode == "complete":
                await chain.complete("hi")
            else:
                _ = [e async for e in chain.stream("hi")]
        assert clock.sleeps == [0.5, 1.0], mode
        assert [(e.attempt, e.delay) for e in events] == [(1, 0.5), (2, 1.0)], mode
        assert model.calls == 3, mode
