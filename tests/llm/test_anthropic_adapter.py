"""AnthropicModel drives the real anthropic SDK over HTTP, intercepted by respx."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from cadence_llm import (
    AnthropicModel,
    AssistantMessage,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    MalformedResponseError,
    ModelRequest,
    ModelTimeoutError,
    OverloadedError,
    RateLimitedError,
    ServerError,
    StreamDone,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    TruncatedStreamError,
    UserMessage,
)
from cadence_llm.errors import ModelConnectionError

from .conftest import (
    ANTHROPIC_URL,
    FailingStream,
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    sse,
)


@respx.mock
async def test_text_completion_and_usage(anthropic_client):
    """Text comes back with usage; cached input counts inside input_tokens; system is separate."""
    route = respx.post(ANTHROPIC_URL).respond(
        200,
        json=anthropic_message(
            usage={"input_tokens": 20, "output_tokens": 4, "cache_read_input_tokens": 100}
        ),
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    resp = await model.complete(ModelRequest.of("Hi", system="Be brief"))
    assert route.call_count == 1
    assert resp.text == "Hi there" and resp.finish_reason == "stop"
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.cached_tokens) == (
        120,
        4,
        100,
    )
    assert resp.provider_id == "msg_01" and resp.system == "anthropic"
    body = json.loads(route.calls[0].request.content)
    assert body["system"] == "Be brief"
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["max_tokens"] == 1024


@respx.mock
async def test_tool_use_round_trip(anthropic_client):
    """tool_use blocks become ToolCalls; tool results go back as tool_result blocks in one user turn."""
    route = respx.post(ANTHROPIC_URL).respond(
        200,
        json=anthropic_message(
            [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
            stop="tool_use",
        ),
    )
    tool = ToolDefinition(
        name="get_weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    request = ModelRequest(
        messages=(
            SystemMessage(content="sys"),
            UserMessage(content="Weather?"),
            AssistantMessage(
                tool_calls=(
                    ToolCall(id="toolu_0", name="get_weather", arguments='{"city": "Oslo"}'),
                )
            ),
            ToolMessage(tool_call_id="toolu_0", content="rain"),
            ToolMessage(tool_call_id="toolu_x", content="boom", is_error=True),
        ),
        tools=(tool,),
        tool_choice="required",
    )
    resp = await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(request)
    assert resp.finish_reason == "tool_calls"
    assert resp.text == "Checking."
    assert resp.tool_calls[0].id == "toolu_1" and json.loads(resp.tool_calls[0].arguments) == {
        "city": "Rome"
    }
    body = json.loads(route.calls[0].request.content)
    assert body["tools"][0]["input_schema"]["properties"]["city"]["type"] == "string"
    assert body["tool_choice"] == {"type": "any"}
    assert body["messages"][1]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_0",
        "name": "get_weather",
        "input": {"city": "Oslo"},
    }
    results = body["messages"][2]
    assert results["role"] == "user" and len(results["content"]) == 2
    assert results["content"][1]["is_error"] is True


@respx.mock
async def test_streaming_text_and_usage(anthropic_client):
    """A Messages stream yields text deltas and a final response with merged usage."""
    respx.post(ANTHROPIC_URL).respond(
        200,
        content=sse(anthropic_stream_events(["Bon", "jour"]), done=False, named=True),
        headers={"content-type": "text/event-stream"},
    )
    events = [
        e async for e in AnthropicModel("claude-sonnet-5-5", client=anthropic_client).stream("Hi")
    ]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Bon", "jour"]
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert done.response.text == "Bonjour" and done.response.finish_reason == "stop"
    assert done.response.usage.input_tokens == 20 and done.response.usage.output_tokens == 7
    assert done.response.usage.cached_tokens == 5


@respx.mock
async def test_streaming_tool_use(anthropic_client):
    """Streamed tool_use input JSON pieces are joined into one call."""
    events = [
        anthropic_stream_events([], complete=False)[0],
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_7", "name": "lookup", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"q": '},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '"cadence"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    respx.post(ANTHROPIC_URL).respond(
        200,
        content=sse(events, done=False, named=True),
        headers={"content-type": "text/event-stream"},
    )
    out = [
        e async for e in AnthropicModel("claude-sonnet-5-5", client=anthropic_client).stream("find")
    ]
    final = out[-1]
    assert isinstance(final, StreamDone)
    assert final.response.tool_calls[0].name == "lookup"
    assert json.loads(final.response.tool_calls[0].arguments) == {"q": "cadence"}
    assert final.response.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("status", "etype", "message", "headers", "error_type"),
    [
        (529, "overloaded_error", "Overloaded", {}, OverloadedError),
        (
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            {"retry-after": "7"},
            RateLimitedError,
        ),
        (500, "api_error", "Internal server error", {}, ServerError),
        (408, "timeout_error", "Request timed out", {}, ModelTimeoutError),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 215000 tokens > 200000 maximum",
            {},
            ContextWindowExceededError,
        ),
        (400, "invalid_request_error", "messages: field required", {}, BadRequestError),
        (401, "authentication_error", "invalid x-api-key", {}, AuthenticationError),
        (403, "permission_error", "Your API key does not have permission", {}, AuthenticationError),
    ],
)
@respx.mock
async def test_status_errors_are_normalized_with_one_request(
    anthropic_client, status, etype, message, headers, error_type
):
    """Each Anthropic error maps to its class; the SDK does not retry (exactly one request)."""
    route = respx.post(ANTHROPIC_URL).respond(
        status, json=anthropic_error(etype, message), headers=headers
    )
    with pytest.raises(error_type) as info:
        await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete("Hi")
    assert route.call_count == 1
    assert info.value.status_code == status
    if headers:
        assert info.value.retry_after == 7.0


@respx.mock
async def test_overloaded_is_retryable_and_falls_back(anthropic_client):
    """529 overloaded is retryable and should fall back (frameworks often miss it)."""
    respx.post(ANTHROPIC_URL).respond(529, json=anthropic_error("overloaded_error", "Overloaded"))
    with pytest.raises(OverloadedError) as info:
        await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete("Hi")
    assert info.value.retryable and info.value.should_fallback


@respx.mock
async def test_overloaded_error_event_mid_stream(anthropic_client):
    """An ``error`` event after text was streamed is normalized and carries the partial text."""
    events = anthropic_stream_events(["Par", "tial"], complete=False)
    events.append(anthropic_error("overloaded_error", "Overloaded"))
    respx.post(ANTHROPIC_URL).respond(
        200,
        content=sse(events, done=False, named=True),
        headers={"content-type": "text/event-stream"},
    )
    with pytest.raises(OverloadedError) as info:
        async for _ in AnthropicModel("claude-sonnet-5-5", client=anthropic_client).stream("Hi"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "Partial"
    assert info.value.should_fallback


@respx.mock
async def test_stream_cut_midway_is_truncated(anthropic_client):
    """A stream that ends before message_stop raises TruncatedStreamError."""
    respx.post(ANTHROPIC_URL).respond(
        200,
        content=sse(anthropic_stream_events(["Once"], complete=False), done=False, named=True),
        headers={"content-type": "text/event-stream"},
    )
    with pytest.raises(TruncatedStreamError) as info:
        async for _ in AnthropicModel("claude-sonnet-5-5", client=anthropic_client).stream("Hi"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "Once"


@respx.mock
async def test_connection_dropped_mid_stream(anthropic_client):
    """A raw RemoteProtocolError mid-stream becomes ModelConnectionError."""
    head = sse(anthropic_stream_events(["Hel"], complete=False), done=False, named=True)
    respx.post(ANTHROPIC_URL).mock(
        return_value=httpx.Response(
            200, stream=FailingStream(head), headers={"content-type": "text/event-stream"}
        )
    )
    with pytest.raises(ModelConnectionError) as info:
        async for _ in AnthropicModel("claude-sonnet-5-5", client=anthropic_client).stream("Hi"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "Hel"


@respx.mock
async def test_malformed_json_body(anthropic_client):
    """A 200 whose body is not JSON raises MalformedResponseError."""
    respx.post(ANTHROPIC_URL).respond(
        200, content=b"{not json", headers={"content-type": "application/json"}
    )
    with pytest.raises(MalformedResponseError):
        await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete("Hi")


def test_passed_client_has_retries_switched_off(anthropic_client):
    """A client passed in with SDK retries gets ``max_retries=0``."""
    assert anthropic_client.max_retries > 0
    assert AnthropicModel("claude-sonnet-5-5", client=anthropic_client).client.max_retries == 0


@respx.mock
async def test_json_schema_goes_to_output_config(anthropic_client):
    """A JSON-schema response format is sent as ``output_config.format``, closed by the SDK transform."""
    from cadence_llm import ResponseFormat

    route = respx.post(ANTHROPIC_URL).respond(
        200, json=anthropic_message([{"type": "text", "text": "{}"}])
    )
    schema = {"type": "object", "properties": {}}
    await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(
        ModelRequest.of(
            "x", response_format=ResponseFormat(type="json_schema", schema=schema), temperature=0.1
        )
    )
    body = json.loads(route.calls[0].request.content)
    closed = {**schema, "additionalProperties": False}
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": closed}}
    assert body["temperature"] == 0.1
