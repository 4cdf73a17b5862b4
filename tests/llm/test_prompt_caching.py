"""Prompt caching: cache=True marks become Anthropic cache_control breakpoints, usage counts cache."""

from __future__ import annotations

import json

import pytest
import respx

from cadence_llm import (
    AnthropicModel,
    ModelRequest,
    OpenAIModel,
    SystemMessage,
    ToolDefinition,
    UserMessage,
)

from .conftest import ANTHROPIC_URL, OPENAI_URL, anthropic_message, openai_completion

MANUAL = "You answer questions about the 400-page manual below.\n" + "Section. " * 200


def cached_request() -> ModelRequest:
    return ModelRequest(
        messages=(
            SystemMessage(content="Be brief."),
            SystemMessage(content=MANUAL, cache=True),
            UserMessage(content="What does section 3 say?", cache=True),
        ),
        tools=(ToolDefinition(name="search", description="Search the manual", cache=True),),
    )


@respx.mock
async def test_cache_marks_become_cache_control_blocks(anthropic_client):
    """A cached system message, tool and user turn carry cache_control; the rest stays plain."""
    route = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    await model.complete(cached_request())
    body = json.loads(route.calls[0].request.content)
    ephemeral = {"type": "ephemeral"}
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": MANUAL, "cache_control": ephemeral},
    ]
    assert body["tools"][0]["cache_control"] == ephemeral
    assert body["messages"][0]["content"][-1]["cache_control"] == ephemeral
    assert "cache_control" not in body  # no automatic caching unless asked


@respx.mock
async def test_prompt_cache_option_asks_for_automatic_caching_with_its_ttl(anthropic_client):
    """prompt_cache='1h' sends top-level cache_control, and explicit marks use the same TTL."""
    route = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client, prompt_cache="1h")
    await model.complete(cached_request())
    body = json.loads(route.calls[0].request.content)
    assert body["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert body["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


@respx.mock
async def test_uncached_system_prompt_stays_a_string(anthropic_client):
    """Without marks, system messages are joined into one string as before."""
    route = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    await model.complete(ModelRequest.of("hi", system="Be brief."))
    assert json.loads(route.calls[0].request.content)["system"] == "Be brief."


@respx.mock
async def test_cache_reads_and_writes_are_counted(anthropic_client):
    """cache_read and cache_creation tokens land in cached_tokens and cache_write_tokens."""
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 1800,
    }
    respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message(usage=usage))
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    response = await model.complete(cached_request())
    assert response.usage.input_tokens == 1810
    assert (response.usage.cached_tokens, response.usage.cache_write_tokens) == (0, 1800)


@respx.mock
async def test_openai_ignores_cache_marks(openai_client):
    """OpenAI caches prompts by itself: the marks send nothing extra to chat completions."""
    route = respx.post(OPENAI_URL).respond(200, json=openai_completion())
    await OpenAIModel("gpt-4o-mini", client=openai_client).complete(cached_request())
    body = json.loads(route.calls[0].request.content)
    assert "cache" not in json.dumps(body)


def test_prompt_cache_values_are_checked():
    """An unknown prompt_cache value is refused when the model is built."""
    with pytest.raises(ValueError, match="prompt_cache"):
        AnthropicModel("claude-sonnet-5-5", api_key="x", prompt_cache="forever")  # type: ignore[arg-type]
