"""FallbackChain over real SDK adapters and HTTP fakes: exactly the configured attempts reach HTTP."""

from __future__ import annotations

import httpx
import respx

from cadence.resilience import Retry
from cadence.testing import FakeClock
from cadence_llm import (
    AnthropicModel,
    FallbackChain,
    OpenAICompatModel,
    OpenAIModel,
    StreamDone,
    StreamReset,
)

from .conftest import (
    ANTHROPIC_URL,
    OPENAI_URL,
    anthropic_error,
    openai_chunks,
    openai_completion,
    openai_error,
    sse,
)

COMPAT_URL = "http://127.0.0.1:8124/v1/chat/completions"


def three_models(openai_client, anthropic_client):
    return [
        OpenAIModel("gpt-4o-mini", client=openai_client),
        AnthropicModel("claude-sonnet-5-5", client=anthropic_client),
        OpenAICompatModel("local", base_url="http://127.0.0.1:8124/v1"),
    ]


@respx.mock
async def test_exactly_the_configured_attempts_reach_http(openai_client, anthropic_client):
    """With retry=2, a failing OpenAI and a failing Anthropic model each get exactly 2 requests, no SDK retries."""
    oa = respx.post(OPENAI_URL).respond(500, json=openai_error("boom", type_="server_error"))
    an = respx.post(ANTHROPIC_URL).respond(
        529, json=anthropic_error("overloaded_error", "Overloaded")
    )
    co = respx.post(COMPAT_URL).respond(200, json=openai_completion("from compat"))
    chain = FallbackChain(
        three_models(openai_client, anthropic_client), retry=Retry(2, delay=0.2, jitter=False)
    )
    with FakeClock() as clock:
        result = await chain.run("hi")
    assert result.response.text == "from compat"
    assert (oa.call_count, an.call_count, co.call_count) == (2, 2, 1)
    assert len(result.attempts) == 5
    assert clock.sleeps == [0.2, 0.2]


@respx.mock
async def test_retry_after_header_is_honoured_over_http(openai_client, anthropic_client):
    """A real 429 with Retry-After: 1.5 makes the chain wait 1.5 s (fake clock) and retry the same model."""
    oa = respx.post(OPENAI_URL).mock(
        side_effect=[
            httpx.Response(
                429,
                json=openai_error("slow", type_="requests", code="rate_limit_exceeded"),
                headers={"retry-after": "1.5"},
            ),
            httpx.Response(200, json=openai_completion("after waiting")),
        ]
    )
    an = respx.post(ANTHROPIC_URL).respond(200, json={})
    chain = FallbackChain(three_models(openai_client, anthropic_client), retry=3, deadline=30)
    with FakeClock() as clock:
        resp = await chain.complete("hi")
    assert resp.text == "after waiting"
    assert oa.call_count == 2 and an.call_count == 0
    assert clock.sleeps == [1.5]


@respx.mock
async def test_auth_error_over_http_stops_the_chain(openai_client, anthropic_client):
    """A 401 from the first provider is raised at once; no other provider is called."""
    import pytest

    from cadence_llm import AuthenticationError

    oa = respx.post(OPENAI_URL).respond(
        401, json=openai_error("bad key", type_="invalid_request_error", code="invalid_api_key")
    )
    an = respx.post(ANTHROPIC_URL).respond(200, json={})
    with pytest.raises(AuthenticationError):
        await FallbackChain(three_models(openai_client, anthropic_client), retry=3).complete("hi")
    assert oa.call_count == 1 and an.call_count == 0


@respx.mock
async def test_stream_cut_over_http_falls_back(openai_client, anthropic_client):
    """An OpenAI stream cut mid-way falls back to the next model's stream after a reset."""
    respx.post(OPENAI_URL).respond(
        200,
        content=sse(openai_chunks(["Once", " upon"], finish=None), done=False),
        headers={"content-type": "text/event-stream"},
    )
    respx.post(COMPAT_URL).respond(
        200, content=sse(openai_chunks(["Hello"])), headers={"content-type": "text/event-stream"}
    )
    models = three_models(openai_client, anthropic_client)
    chain = FallbackChain([models[0], models[2]], retry=1)
    events = [e async for e in chain.stream("hi")]
    assert any(isinstance(e, StreamReset) for e in events)
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "Hello"
