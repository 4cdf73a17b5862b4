"""OpenAIModel drives the real openai SDK over HTTP, intercepted by respx."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from pydantic import BaseModel

from cadence_llm import (
    AuthenticationError,
    ContentFilteredError,
    ContextWindowExceededError,
    MalformedResponseError,
    ModelRequest,
    ModelTimeoutError,
    OpenAIModel,
    RateLimitedError,
    ServerError,
    StreamDone,
    StructuredOutputError,
    TextDelta,
    ToolCallDelta,
    ToolDefinition,
    TruncatedStreamError,
    UserMessage,
    generate,
)
from cadence_llm.errors import ModelConnectionError, OverloadedError

from .conftest import OPENAI_URL, FailingStream, openai_chunks, openai_completion, openai_error, sse

WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@respx.mock
async def test_text_completion_and_usage(openai_client):
    """A text answer comes back with text, finish reason, usage, model and provider id."""
    route = respx.post(OPENAI_URL).respond(200, json=openai_completion("Hello!", usage=(12, 5, 4)))
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    resp = await model.complete(
        ModelRequest.of("Hi", system="Be brief", max_tokens=50, temperature=0.2)
    )
    assert route.call_count == 1
    assert resp.text == "Hello!"
    assert resp.finish_reason == "stop"
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.cached_tokens) == (
        12,
        5,
        4,
    )
    assert resp.model == "gpt-4o-mini-2024-07-18"
    assert resp.provider_id == "chatcmpl-abc123"
    body = json.loads(route.calls[0].request.content)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hi"},
    ]
    assert body["max_completion_tokens"] == 50
    assert body["temperature"] == 0.2


@respx.mock
async def test_tool_calls_round_trip(openai_client):
    """Tool definitions are sent as functions; tool calls come back with id, name, arguments."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    route = respx.post(OPENAI_URL).respond(
        200, json=openai_completion(None, tool_calls=[call], finish="tool_calls")
    )
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    resp = await model.complete(
        ModelRequest.of("Weather in Paris?", tools=(WEATHER,), tool_choice="auto")
    )
    assert resp.finish_reason == "tool_calls"
    assert resp.tool_calls[0].name == "get_weather"
    assert json.loads(resp.tool_calls[0].arguments) == {"city": "Paris"}
    body = json.loads(route.calls[0].request.content)
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tool_choice"] == "auto"


@respx.mock
async def test_tool_result_conversation_is_sent_in_openai_shape(openai_client):
    """An assistant tool-call turn and its tool result are translated for the follow-up call."""
    from cadence_llm import AssistantMessage, ToolCall, ToolMessage

    route = respx.post(OPENAI_URL).respond(200, json=openai_completion("It is sunny."))
    request = ModelRequest(
        messages=(
            UserMessage(content="Weather?"),
            AssistantMessage(
                tool_calls=(ToolCall(id="call_1", name="get_weather", arguments="{}"),)
            ),
            ToolMessage(tool_call_id="call_1", content='{"sky": "sunny"}'),
        )
    )
    await OpenAIModel("gpt-4o-mini", client=openai_client).complete(request)
    sent = json.loads(route.calls[0].request.content)["messages"]
    assert sent[1]["content"] == "" and sent[1]["tool_calls"][0]["id"] == "call_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "sunny"}'}


@respx.mock
async def test_streaming_text_and_usage(openai_client):
    """A stream yields text deltas and ends with the assembled response and usage."""
    route = respx.post(OPENAI_URL).respond(
        200,
        content=sse(openai_chunks(["Hel", "lo", "!"])),
        headers={"content-type": "text/event-stream"},
    )
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    events = [e async for e in model.stream("Hi")]
    assert route.call_count == 1
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert done.response.text == "Hello!"
    assert done.response.usage.input_tokens == 9 and done.response.usage.output_tokens == 3
    body = json.loads(route.calls[0].request.content)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@respx.mock
async def test_streaming_tool_call_assembled(openai_client):
    """Tool-call pieces streamed over several chunks are joined into one call."""
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_9",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ],
        },
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
                    "finish_reason": None,
                }
            ],
        },
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
                    "finish_reason": None,
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    respx.post(OPENAI_URL).respond(
        200, content=sse(chunks), headers={"content-type": "text/event-stream"}
    )
    events = [e async for e in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Weather?")]
    assert sum(isinstance(e, ToolCallDelta) for e in events) == 3
    final = events[-1]
    assert isinstance(final, StreamDone)
    assert final.response.tool_calls[0].id == "call_9"
    assert json.loads(final.response.tool_calls[0].arguments) == {"city": "Oslo"}
    assert final.response.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_type"),
    [
        (
            429,
            openai_error("Rate limit reached", type_="requests", code="rate_limit_exceeded"),
            {"retry-after": "2"},
            RateLimitedError,
        ),
        (500, openai_error("The server had an error", type_="server_error"), {}, ServerError),
        (503, openai_error("Service unavailable", type_="server_error"), {}, OverloadedError),
        (408, openai_error("Request timed out", type_="timeout"), {}, ModelTimeoutError),
        (
            400,
            openai_error(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
                type_="invalid_request_error",
                code="context_length_exceeded",
            ),
            {},
            ContextWindowExceededError,
        ),
        (
            401,
            openai_error(
                "Incorrect API key provided", type_="invalid_request_error", code="invalid_api_key"
            ),
            {},
            AuthenticationError,
        ),
    ],
)
@respx.mock
async def test_status_errors_are_normalized_with_one_request(
    openai_client, status, body, headers, error_type
):
    """Each provider error maps to its class; the SDK does not retry (exactly one request)."""
    route = respx.post(OPENAI_URL).respond(status, json=body, headers=headers)
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    with pytest.raises(error_type) as info:
        await model.complete("Hi")
    assert route.call_count == 1
    assert info.value.status_code == status
    assert info.value.provider == "openai"


@respx.mock
async def test_rate_limit_reads_retry_after(openai_client):
    """A 429's Retry-After header becomes ``retry_after``; the error is retryable and falls back."""
    respx.post(OPENAI_URL).respond(
        429,
        json=openai_error("Slow down", type_="requests", code="rate_limit_exceeded"),
        headers={"retry-after": "2.5"},
    )
    with pytest.raises(RateLimitedError) as info:
        await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")
    assert info.value.retry_after == 2.5
    assert info.value.retryable and info.value.should_fallback


@respx.mock
async def test_exhausted_quota_is_not_retryable(openai_client):
    """A 429 for an exhausted quota will not heal by waiting: not retryable, but falls back."""
    respx.post(OPENAI_URL).respond(
        429,
        json=openai_error(
            "You exceeded your current quota", type_="insufficient_quota", code="insufficient_quota"
        ),
    )
    with pytest.raises(RateLimitedError) as info:
        await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")
    assert not info.value.retryable and info.value.should_fallback


@respx.mock
async def test_malformed_json_body(openai_client):
    """A 200 whose body is not JSON raises MalformedResponseError."""
    route = respx.post(OPENAI_URL).respond(
        200, content=b"<html>bad gateway</html>", headers={"content-type": "application/json"}
    )
    with pytest.raises(MalformedResponseError):
        await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")
    assert route.call_count == 1


@respx.mock
async def test_json_without_choices_is_malformed(openai_client):
    """A JSON answer that is not a chat completion raises MalformedResponseError."""
    respx.post(OPENAI_URL).respond(200, json={"object": "chat.completion", "id": "x"})
    with pytest.raises(MalformedResponseError):
        await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")


@respx.mock
async def test_stream_cut_midway_is_truncated(openai_client):
    """A stream that stops without a finish reason raises TruncatedStreamError with the partial text."""
    respx.post(OPENAI_URL).respond(
        200,
        content=sse(openai_chunks(["Once", " upon"], finish=None), done=False),
        headers={"content-type": "text/event-stream"},
    )
    seen = []
    with pytest.raises(TruncatedStreamError) as info:
        async for e in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Tell a story"):
            seen.append(e)
    assert [e.text for e in seen if isinstance(e, TextDelta)] == ["Once", " upon"]
    assert info.value.partial is not None and info.value.partial.text == "Once upon"
    assert info.value.retryable and info.value.should_fallback


@respx.mock
async def test_connection_dropped_mid_stream(openai_client):
    """A connection dropped after the first chunk is a ModelConnectionError carrying the partial answer."""
    head = sse(openai_chunks(["Part"], finish=None), done=False)
    respx.post(OPENAI_URL).mock(
        return_value=httpx.Response(
            200, stream=FailingStream(head), headers={"content-type": "text/event-stream"}
        )
    )
    with pytest.raises(ModelConnectionError) as info:
        async for _ in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Hi"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "Part"


@respx.mock
async def test_error_before_first_chunk_of_stream(openai_client):
    """An error status on a streaming request is normalized like any other."""
    respx.post(OPENAI_URL).respond(529, json=openai_error("Overloaded", type_="server_error"))
    with pytest.raises(OverloadedError) as info:
        async for _ in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Hi"):
            pass
    assert info.value.partial is None


@respx.mock
async def test_transport_timeout_is_model_timeout(openai_client):
    """A client-side timeout becomes ModelTimeoutError."""
    respx.post(OPENAI_URL).mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(ModelTimeoutError):
        await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")


def test_passed_client_has_retries_switched_off(openai_client):
    """A client passed in with SDK retries gets ``max_retries=0``: cadence owns retrying."""
    assert openai_client.max_retries > 0
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    assert model.client.max_retries == 0


def test_built_client_has_retries_switched_off():
    """A client built from settings has ``max_retries=0``."""
    model = OpenAIModel("gpt-4o-mini", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    assert model.client.max_retries == 0


@respx.mock
async def test_json_schema_response_format(openai_client):
    """A JSON-schema response format is sent as OpenAI structured outputs."""
    from cadence_llm import ResponseFormat

    route = respx.post(OPENAI_URL).respond(200, json=openai_completion('{"a": 1}'))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    await OpenAIModel("gpt-4o-mini", client=openai_client).complete(
        ModelRequest.of(
            "x",
            response_format=ResponseFormat(type="json_schema", schema=schema),
            extra={"user": "u1"},
        )
    )
    body = json.loads(route.calls[0].request.content)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }
    assert body["user"] == "u1"


async def test_duck_typed_client_without_raw_responses():
    """A client offering only ``chat.completions.create`` (e.g. a test double) also works."""
    from types import SimpleNamespace

    class Completions:
        async def create(self, **payload):
            assert payload["model"] == "m"
            return SimpleNamespace(model_dump=lambda: openai_completion("duck"))

    client = SimpleNamespace(chat=SimpleNamespace(completions=Completions()), max_retries=0)
    assert (await OpenAIModel("m", client=client).complete("hi")).text == "duck"


@respx.mock
async def test_error_event_mid_stream_is_normalized(openai_client):
    """An error object sent inside the stream after some text is normalized and carries the partial text."""
    payload = sse(openai_chunks(["Hal"], finish=None), done=False) + sse(
        [openai_error("The server is overloaded", type_="server_error", code="server_overloaded")],
        done=False,
    )
    respx.post(OPENAI_URL).respond(
        200, content=payload, headers={"content-type": "text/event-stream"}
    )
    with pytest.raises(ServerError) as info:
        async for _ in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Hi"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "Hal"
    assert info.value.should_fallback


REFUSAL = "I'm sorry, I can't help with that."


@respx.mock
async def test_a_refusal_comes_back_as_content_filter_with_its_text(openai_client):
    """message.refusal (structured outputs) is the answer's text, and the finish reason says so.

    It used to be dropped: text '' and finish_reason 'stop', so nothing showed the refusal.
    """
    body = openai_completion(None)
    body["choices"][0]["message"]["refusal"] = REFUSAL
    respx.post(OPENAI_URL).respond(200, json=body)
    resp = await OpenAIModel("gpt-4o-mini", client=openai_client).complete("Hi")
    assert (resp.text, resp.finish_reason) == (REFUSAL, "content_filter")


@respx.mock
async def test_a_streamed_refusal_comes_back_as_content_filter_with_its_text(openai_client):
    """delta.refusal pieces are streamed as text and the stream ends with content_filter."""
    chunks = openai_chunks([])
    base = {k: chunks[0][k] for k in ("id", "object", "created", "model")}
    pieces = [
        {**base, "choices": [{"index": 0, "delta": {"refusal": p}, "finish_reason": None}]}
        for p in ("I'm sorry, ", "I can't help with that.")
    ]
    chunks[1:1] = pieces
    respx.post(OPENAI_URL).respond(
        200, content=sse(chunks), headers={"content-type": "text/event-stream"}
    )
    events = [e async for e in OpenAIModel("gpt-4o-mini", client=openai_client).stream("Hi")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == REFUSAL
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert (done.response.text, done.response.finish_reason) == (REFUSAL, "content_filter")


class _City(BaseModel):
    name: str
    population: int


@respx.mock
async def test_generate_stops_at_a_refusal_instead_of_asking_again(openai_client):
    """A refusal raises ContentFilteredError carrying its text after one call, not three."""
    body = openai_completion(None)
    body["choices"][0]["message"]["refusal"] = REFUSAL
    route = respx.post(OPENAI_URL).respond(200, json=body)
    with pytest.raises(ContentFilteredError, match="refused") as info:
        await generate(
            OpenAIModel("gpt-4o-mini", client=openai_client), "Oslo?", response_model=_City
        )
    assert route.call_count == 1
    assert info.value.partial is not None and info.value.partial.text == REFUSAL


@respx.mock
async def test_generate_cut_off_by_max_tokens_says_raise_max_tokens(openai_client):
    """An answer cut off by the output limit fails at once, naming max_tokens as the fix."""
    route = respx.post(OPENAI_URL).respond(
        200, json=openai_completion('{"name": "Os', finish="length")
    )
    with pytest.raises(StructuredOutputError, match=r"max_tokens=16.*raise max_tokens") as info:
        await generate(
            OpenAIModel("gpt-4o-mini", client=openai_client),
            "Oslo?",
            response_model=_City,
            options={"max_tokens": 16},
        )
    assert route.call_count == 1
    assert info.value.attempts == 1 and info.value.raw == '{"name": "Os'


def _clients() -> dict[str, object]:
    import anthropic
    import openai

    return {
        "sync openai": openai.OpenAI(api_key="sk-test", max_retries=0),
        "sync anthropic": anthropic.Anthropic(api_key="sk-ant-test", max_retries=0),
        "async openai": openai.AsyncOpenAI(api_key="sk-test", max_retries=0),
        "async anthropic": anthropic.AsyncAnthropic(api_key="sk-ant-test", max_retries=0),
    }


@pytest.mark.parametrize(
    ("adapter", "client", "message"),
    [
        ("OpenAIModel", "sync openai", r"needs an async client: pass openai\.AsyncOpenAI"),
        ("OpenAIResponsesModel", "sync openai", r"pass openai\.AsyncOpenAI\(\.\.\.\) instead"),
        ("AnthropicModel", "sync anthropic", r"pass anthropic\.AsyncAnthropic\(\.\.\.\)"),
        (
            "OpenAIModel",
            "async anthropic",
            r"takes an async openai SDK client; got anthropic\.AsyncAnthropic",
        ),
        (
            "OpenAIModel",
            "sync anthropic",
            r"takes an async openai SDK client; got anthropic\.Anthropic",
        ),
        (
            "AnthropicModel",
            "async openai",
            r"takes an async anthropic SDK client; got openai\.AsyncOpenAI",
        ),
    ],
)
def test_a_client_the_adapter_cannot_await_is_refused_when_it_is_built(
    adapter: str, client: str, message: str
) -> None:
    """A sync SDK client (which would block the event loop, then fail on await) or the other
    provider's client is a TypeError at construction, naming the client to pass."""
    import cadence_llm

    with pytest.raises(TypeError, match=message):
        getattr(cadence_llm, adapter)("some-model", client=_clients()[client])
