"""A FallbackChain consulting a RateLimiter: throttled models are skipped, no 429 storm."""

from __future__ import annotations

import httpx
import respx

from cadence.testing import FakeClock
from cadence_llm import FallbackChain, OpenAICompatModel
from cadence_llm.messages import StreamDone, StreamReset
from cadence_llm.ratelimit import RateLimit, RateLimiter, RateLimitReachedError
from tests.llm.conftest import openai_chunks, openai_completion, openai_error, sse

PRIMARY = "http://127.0.0.1:8301/v1"
BACKUP = "http://127.0.0.1:8302/v1"


def models() -> list[OpenAICompatModel]:
    return [
        OpenAICompatModel("primary", base_url=PRIMARY),
        OpenAICompatModel("backup", base_url=BACKUP),
    ]


class ThrottlingProvider:
    """A provider enforcing 3 requests per window: past that it answers 429."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.served = 0
        self.throttled = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.served >= self.allowed:
            self.throttled += 1
            return httpx.Response(
                429,
                headers={"retry-after": "20"},
                json=openai_error("Rate limit reached", type_="rate_limit_error"),
            )
        self.served += 1
        return httpx.Response(200, json=openai_completion("from primary"))


@respx.mock
async def test_a_model_at_its_limit_is_skipped_with_zero_429s() -> None:
    """Ten calls against a primary allowing 3/min: 3 go to it, 7 to the backup, no 429 at all."""
    provider = ThrottlingProvider(allowed=3)
    primary = respx.post(f"{PRIMARY}/chat/completions").mock(side_effect=provider)
    backup = respx.post(f"{BACKUP}/chat/completions").respond(
        200, json=openai_completion("from backup")
    )
    limiter = RateLimiter({"primary": RateLimit(requests=3, per=60)})
    chain = FallbackChain(models(), retry=2, limiter=limiter)
    answers = [(await chain.run("hi")).model for _ in range(10)]
    assert answers == ["primary"] * 3 + ["backup"] * 7
    assert provider.throttled == 0 and primary.call_count == 3
    assert backup.call_count == 7


@respx.mock
async def test_a_provider_429_pauses_the_model_for_every_later_run() -> None:
    """Without a declared limit matching the provider's, the first 429 blocks the model for its
    Retry-After: later runs skip it without a request instead of each meeting a 429."""
    provider = ThrottlingProvider(allowed=0)
    primary = respx.post(f"{PRIMARY}/chat/completions").mock(side_effect=provider)
    respx.post(f"{BACKUP}/chat/completions").respond(200, json=openai_completion("from backup"))
    limiter = RateLimiter({"primary": RateLimit(requests=1000)})
    chain = FallbackChain(models(), retry=1, limiter=limiter)
    with FakeClock():
        results = [await chain.run("hi") for _ in range(20)]
    assert {r.model for r in results} == {"backup"}
    assert primary.call_count == 1 and provider.throttled == 1
    skipped = [a for r in results[1:] for a in r.attempts if a.model == "primary"]
    assert all(isinstance(a.error, RateLimitReachedError) for a in skipped)


@respx.mock
async def test_wait_policy_waits_instead_of_falling_over() -> None:
    """With policy='wait' the chain waits for room on the preferred model (fake clock)."""
    respx.post(f"{PRIMARY}/chat/completions").respond(200, json=openai_completion("from primary"))
    backup = respx.post(f"{BACKUP}/chat/completions").respond(200, json=openai_completion("b"))
    limiter = RateLimiter({"primary": RateLimit(requests=1, per=5)}, policy="wait")
    chain = FallbackChain(models(), limiter=limiter)
    with FakeClock() as clock:
        first = await chain.run("hi")
        second = await chain.run("hi")
    assert (first.model, second.model) == ("primary", "primary")
    assert clock.sleeps == [5.0] and backup.call_count == 0


@respx.mock
async def test_streams_consult_the_limiter_like_calls() -> None:
    """chain.stream() enters the same gates: past the primary's 2/min the stream starts on the
    backup without a request to the primary, and without a reset (nothing was streamed)."""
    stream = {"content-type": "text/event-stream"}
    primary = respx.post(f"{PRIMARY}/chat/completions").mock(
        side_effect=lambda _: httpx.Response(200, content=sse(openai_chunks(["p"])), headers=stream)
    )
    backup = respx.post(f"{BACKUP}/chat/completions").mock(
        side_effect=lambda _: httpx.Response(200, content=sse(openai_chunks(["b"])), headers=stream)
    )
    limiter = RateLimiter({"primary": RateLimit(requests=2, per=60)})
    chain = FallbackChain(models(), limiter=limiter)
    texts = []
    for _ in range(4):
        events = [e async for e in chain.stream("hi")]
        assert not any(isinstance(e, StreamReset) for e in events)
        done = events[-1]
        assert isinstance(done, StreamDone)
        texts.append(done.response.text)
    assert texts == ["p", "p", "b", "b"]
    assert primary.call_count == 2 and backup.call_count == 2


async def test_wait_policy_never_waits_past_the_chains_deadline() -> None:
    """A wait longer than the chain's remaining deadline is refused at once: the next model
    answers instead of the deadline running out in the limiter's sleep."""
    from cadence_llm import ScriptedModel

    primary = ScriptedModel(["p", "p"], name="primary")
    backup = ScriptedModel(["b"], name="backup")
    limiter = RateLimiter({"primary": RateLimit(requests=1, per=60)}, policy="wait", max_wait=120)
    chain = FallbackChain([primary, backup], limiter=limiter, deadline=5)
    with FakeClock() as clock:
        assert (await chain.run("a")).model == "primary"
        result = await chain.run("b")
    assert result.model == "backup"
    assert isinstance(result.attempts[0].error, RateLimitReachedError)
    assert clock.sleeps == []


def test_a_limiter_that_limits_none_of_the_chains_models_is_refused() -> None:
    """A limiter keyed by names no model of the chain has would limit nothing, silently."""
    import pytest

    from cadence.exceptions import CadenceDefinitionError

    limiter = RateLimiter({"openai:primary": RateLimit(requests=3)})
    with pytest.raises(CadenceDefinitionError, match=r"limits none.*'primary', 'backup'"):
        FallbackChain(models(), limiter=limiter)
    # One name in common is enough: a limiter shared by several chains may name other models.
    shared = RateLimiter({"primary": RateLimit(requests=3), "elsewhere": RateLimit(requests=1)})
    assert FallbackChain(models(), limiter=shared).limiter is shared
