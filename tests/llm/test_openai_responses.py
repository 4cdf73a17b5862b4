"""OpenAIResponsesModel drives the real openai SDK's Responses API over HTTP, intercepted by respx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, Field

from cadence_llm import (
    AssistantMessage,
    BadRequestError,
    ContextWindowExceededError,
    ModelRequest,
    OpenAIResponsesModel,
    RateLimitedError,
    ResponseFormat,
    ServerError,
    StreamDone,
    SystemMessage,
    TextDelta,
    Thinking,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    ToolMessage,
    TruncatedStreamError,
    UserMessage,
    agent,
    generate,
    tool,
)

from .conftest import FailingStream, sse

URL = "https://api.openai.com/v1/responses"


def response_body(
    output: list[dict[str, Any]],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
    usage: tuple[int, int, int] = (30, 8, 0),
) -> dict[str, Any]:
    """A Response object as the API returns it."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": "gpt-5-mini-2026-08-01",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": usage[0],
            "input_tokens_details": {"cached_tokens": usage[2], "cache_write_tokens": 0},
            "output_tokens": usage[1],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage[0] + usage[1],
        },
    }


def message(text: str) -> dict[str, Any]:
    """An assistant output message item."""
    return {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A function_call output item."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "Need the weather tool."}],
    "encrypted_content": "gAAAAencrypted",
}


@pytest.fixture
def model(openai_client: Any) -> OpenAIResponsesModel:
    """A Responses model over a default AsyncOpenAI client."""
    return OpenAIResponsesModel("gpt-5-mini", client=openai_client)


@respx.mock
async def test_text_usage_and_the_request_shape(model):
    """Text and usage come back; messages go as input items, max_tokens as max_output_tokens."""
    route = respx.post(URL).respond(200, json=response_body([message("Paris.")], usage=(40, 3, 32)))
    response = await model.complete(
        ModelRequest.of("Capital of France?", system="One word.", max_tokens=16, temperature=0)
    )
    assert route.call_count == 1
    assert response.text == "Paris." and response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 3)
    assert response.usage.cached_tokens == 32
    assert response.provider_id == "resp_1" and response.model == "gpt-5-mini-2026-08-01"
    body = json.loads(route.calls[0].request.content)
    assert body["input"] == [
        {"role": "system", "content": "One word."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert body["max_output_tokens"] == 16 and body["temperature"] == 0
    assert body["store"] is False and body["model"] == "gpt-5-mini"


def test_the_sdk_retries_are_switched_off(openai_client):
    """A client with the SDK's default retries is used with max_retries=0."""
    assert OpenAIResponsesModel("m", client=openai_client).client.max_retries == 0


@respx.mock
async def test_tool_calls_and_results_round_trip(model):
    """function_call items become ToolCalls; the next request sends them back with their outputs."""
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(
                200,
                json=response_body([function_call("call_a", "weather", {"city": "Oslo"})]),
            ),
            httpx.Response(200, json=response_body([message("Sunny.")])),
        ]
    )
    tools = (
        ToolDefinition(
            name="weather",
            description="Weather now",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        ),
    )
    first = await model.complete(
        ModelRequest(messages=(UserMessage(content="Oslo?"),), tools=tools, tool_choice="weather")
    )
    assert first.finish_reason == "tool_calls"
    assert first.tool_calls == (
        ToolCall(id="call_a", name="weather", arguments='{"city": "Oslo"}'),
    )
    body = json.loads(route.calls[0].request.content)
    assert body["tools"] == [
        {
            "type": "function",
            "name": "weather",
            "description": "Weather now",
            "parameters": tools[0].parameters,
            "strict": False,
        }
    ]
    assert body["tool_choice"] == {"type": "function", "name": "weather"}
    follow = ModelRequest(
        messages=(
            UserMessage(content="Oslo?"),
            first.to_message(),
            ToolMessage(tool_call_id="call_a", content="sunny"),
        ),
        tools=tools,
    )
    assert (await model.complete(follow)).text == "Sunny."
    sent = json.loads(route.calls[1].request.content)["input"]
    assert sent[1] == {
        "type": "function_call",
        "call_id": "call_a",
        "name": "weather",
        "arguments": '{"city": "Oslo"}',
    }
    assert sent[2] == {"type": "function_call_output", "call_id": "call_a", "output": "sunny"}


class City(BaseModel):
    """A city with a constraint."""

    name: str
    population: int = Field(ge=0)
    country: str | None = None


@respx.mock
async def test_structured_output_is_strict_json_schema(model):
    """generate() sends text.format json_schema with strict: true and a strict schema."""
    route = respx.post(URL).respond(
        200,
        json=response_body(
            [message('{"name": "Oslo", "population": 700000, "country": "Norway"}')]
        ),
    )
    city = await generate(model, "Oslo facts", response_model=City)
    assert city == City(name="Oslo", population=700000, country="Norway")
    fmt = json.loads(route.calls[0].request.content)["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "City" and fmt["strict"] is True
    assert set(fmt["schema"]["required"]) == {"name", "population", "country"}
    assert fmt["schema"]["additionalProperties"] is False


@respx.mock
async def test_json_object_mode(model):
    """A plain JSON response format asks for json_object."""
    route = respx.post(URL).respond(200, json=response_body([message("{}")]))
    await model.complete(
        ModelRequest(
            messages=(UserMessage(content="x"),), response_format=ResponseFormat(type="json")
        )
    )
    assert json.loads(route.calls[0].request.content)["text"] == {"format": {"type": "json_object"}}


@respx.mock
async def test_reasoning_items_are_kept_and_passed_back(openai_client):
    """Reasoning items (with encrypted content) come back as thinking and are replayed next turn."""
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(
                200,
                json=response_body([REASONING, function_call("c1", "weather", {"city": "Rome"})]),
            ),
            httpx.Response(200, json=response_body([message("Warm.")])),
        ]
    )
    model = OpenAIResponsesModel(
        "gpt-5-mini", client=openai_client, reasoning={"effort": "low", "summary": "auto"}
    )
    first = await model.complete("Rome?")
    assert first.thinking == (
        Thinking(
            text="Need the weather tool.",
            signature="gAAAAencrypted",
            id="rs_1",
            provider="openai",
        ),
    )
    body = json.loads(route.calls[0].request.content)
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]
    request = ModelRequest(
        messages=(
            UserMessage(content="Rome?"),
            first.to_message(),
            ToolMessage(tool_call_id="c1", content="28C"),
        )
    )
    await model.complete(request)
    replayed = json.loads(route.calls[1].request.content)["input"][1]
    assert replayed == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Need the weather tool."}],
        "encrypted_content": "gAAAAencrypted",
    }


async def test_another_providers_thinking_is_not_sent(model):
    """Claude's thinking blocks in the transcript are left out of a Responses request."""
    claude = Thinking(text="...", signature="sig", provider="anthropic")
    body = model._payload(
        ModelRequest(
            messages=(UserMessage(content="q"), AssistantMessage(content="a", thinking=(claude,)))
        )
    )
    assert [i.get("type", i.get("role")) for i in body["input"]] == ["user", "assistant"]


@respx.mock
async def test_incomplete_answers_report_length(model):
    """status incomplete for max_output_tokens maps to finish_reason 'length'."""
    respx.post(URL).respond(
        200,
        json=response_body(
            [message("Once upon")], status="incomplete", incomplete="max_output_tokens"
        ),
    )
    assert (await model.complete("story")).finish_reason == "length"


async def test_stop_and_seed_are_refused_before_any_call(model):
    """The Responses API has no stop or seed: asking for them fails clearly, with no HTTP call."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL).respond(200, json=response_body([message("x")]))
        with pytest.raises(BadRequestError, match="no stop or seed"):
            await model.complete(ModelRequest.of("x", stop=("\n",), seed=1))
        assert route.call_count == 0


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (
            429,
            {"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}},
            {"retry-after": "2"},
            RateLimitedError,
        ),
        (
            400,
            {
                "error": {
                    "message": "Your input exceeds the context window of this model.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
            {},
            ContextWindowExceededError,
        ),
        (
            500,
            {"error": {"message": "boom", "type": "server_error", "code": None}},
            {},
            ServerError,
        ),
    ],
)
@respx.mock
async def test_http_errors_are_normalized(model, status, body, headers, error):
    """HTTP failures of the Responses API become the normalized error family."""
    route = respx.post(URL).respond(status, json=body, headers=headers)
    with pytest.raises(error) as info:
        await model.complete("x")
    assert route.call_count == 1
    if error is RateLimitedError:
        assert info.value.retry_after == 2.0


@respx.mock
async def test_a_failed_response_raises_its_error(model):
    """A body with status 'failed' raises its error, classified (here a server error)."""
    respx.post(URL).respond(
        200,
        json=response_body([], status="failed", error={"code": "server_error", "message": "oops"}),
    )
    with pytest.raises(ServerError, match="oops"):
        await model.complete("x")


def stream_events(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """Number events the way the API does (sequence_number)."""
    return [{**e, "sequence_number": i} for i, e in enumerate(events)]


def created() -> dict[str, Any]:
    body = response_body([], status="in_progress")
    body["usage"] = None
    return {"type": "response.created", "response": body}


def text_delta(delta: str) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
        "logprobs": [],
    }


def completed(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "response.completed", "response": response_body(output, usage=(11, 4, 0))}


def stream_response(events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(
        200,
        content=sse(events, done=False, named=True),
        headers={"content-type": "text/event-stream"},
    )


@respx.mock
async def test_streamed_text_ends_with_usage(model):
    """Text deltas stream, and StreamDone holds the assembled answer with the final usage."""
    events = stream_events(
        created(), text_delta("Hel"), text_delta("lo"), completed([message("Hello")])
    )
    route = respx.post(URL).mock(return_value=stream_response(events))
    got = [e async for e in model.stream("hi")]
    assert [e.text for e in got if isinstance(e, TextDelta)] == ["Hel", "lo"]
    done = got[-1]
    assert isinstance(done, StreamDone)
    assert done.response.text == "Hello" and done.response.usage.output_tokens == 4
    assert done.response.provider_id == "resp_1"
    assert json.loads(route.calls[0].request.content)["stream"] is True


@respx.mock
async def test_streamed_function_call_and_reasoning(model):
    """A streamed function call (arguments in pieces) and reasoning summary are assembled."""
    call = function_call("call_s", "weather", {"city": "Oslo"})
    events = stream_events(
        created(),
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**REASONING, "summary": [], "encrypted_content": None},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "Use tool.",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**call, "arguments": "", "status": "in_progress"},
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_call_s",
            "output_index": 1,
            "delta": '{"city": ',
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_call_s",
            "output_index": 1,
            "delta": '"Oslo"}',
        },
        completed([REASONING, call]),
    )
    respx.post(URL).mock(return_value=stream_response(events))
    got = [e async for e in model.stream("hi")]
    assert any(isinstance(e, ToolCallDelta) and e.name == "weather" for e in got)
    response = got[-1].response  # type: ignore[union-attr]
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == (
        ToolCall(id="call_s", name="weather", arguments='{"city": "Oslo"}'),
    )
    assert [(t.text, t.signature, t.id) for t in response.thinking] == [
        ("Use tool.", "gAAAAencrypted", "rs_1")
    ]


@respx.mock
async def test_a_stream_without_its_final_event_is_truncated(model):
    """A stream that ends before response.completed raises TruncatedStreamError with the partial text."""
    events = stream_events(created(), text_delta("Half an"))
    respx.post(URL).mock(return_value=stream_response(events))
    with pytest.raises(TruncatedStreamError) as info:
        _ = [e async for e in model.stream("hi")]
    assert info.value.partial is not None and info.value.partial.text == "Half an"


@respx.mock
async def test_a_dropped_stream_is_a_connection_error(model):
    """A connection dropped mid-stream surfaces as a normalized, retryable error."""
    from cadence_llm import ModelConnectionError

    head = sse(stream_events(created(), text_delta("Hi")), done=False, named=True)
    respx.post(URL).mock(
        return_value=httpx.Response(
            200, stream=FailingStream(head), headers={"content-type": "text/event-stream"}
        )
    )
    with pytest.raises(ModelConnectionError) as info:
        _ = [e async for e in model.stream("hi")]
    assert info.value.retryable


@respx.mock
async def test_an_error_event_in_the_stream_is_classified(model):
    """An 'error' event inside the stream raises the matching normalized error."""
    events = stream_events(
        created(),
        {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None},
    )
    respx.post(URL).mock(return_value=stream_response(events))
    with pytest.raises(RateLimitedError, match="Slow down"):
        _ = [e async for e in model.stream("hi")]


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@respx.mock
async def test_an_agent_runs_on_the_responses_api(model):
    """An agent's tool loop works end to end on the Responses API."""
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(
                200, json=response_body([function_call("c9", "weather", {"city": "Oslo"})])
            ),
            httpx.Response(200, json=response_body([message("It is sunny in Oslo.")])),
        ]
    )
    result = await agent(model, [weather], system="Be brief.").run({"query": "Oslo weather?"})
    assert result.answer == "It is sunny in Oslo." and result.tool_calls == 1
    assert route.call_count == 2
    second = json.loads(route.calls[1].request.content)["input"]
    assert second[0] == {"role": "system", "content": "Be brief."}
    assert second[-1] == {
        "type": "function_call_output",
        "call_id": "c9",
        "output": "sunny in Oslo",
    }
    assert isinstance(result.messages[0], SystemMessage)


def _unstored_items_are_refused(replies: list[dict[str, Any]]) -> Any:
    """A respx side effect answering as the API does with store=False: an input item given by
    id alone (a reasoning item without its encrypted content) refers to nothing it kept."""
    queue = iter(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        for item in body["input"]:
            if item.get("type") == "reasoning" and not item.get("encrypted_content"):
                return httpx.Response(
                    404,
                    json={
                        "error": {
                            "message": f"Item with id '{item['id']}' not found. Items are not "
                            "persisted when `store` is set to false.",
                            "type": "invalid_request_error",
                            "param": "input",
                            "code": None,
                        }
                    },
                )
        return httpx.Response(200, json=next(queue))

    return handle


@respx.mock
async def test_an_agent_on_a_reasoning_model_with_the_defaults_works_on_turn_two(model):
    """With store=False and no reasoning= option, a reasoning item comes back without its
    encrypted content; it is not replayed by id (the API answers 404 to that), so turn 2 works.
    """
    bare = {"type": "reasoning", "id": "rs_9", "summary": []}
    route = respx.post(URL).mock(
        side_effect=_unstored_items_are_refused(
            [
                response_body([bare, function_call("c9", "weather", {"city": "Oslo"})]),
                response_body([message("It is sunny in Oslo.")]),
            ]
        )
    )
    result = await agent(model, [weather]).run({"query": "Oslo weather?"})
    assert result.answer == "It is sunny in Oslo."
    assert route.call_count == 2
    second = json.loads(route.calls[1].request.content)["input"]
    assert [i.get("type", i.get("role")) for i in second] == [
        "user",
        "function_call",
        "function_call_output",
    ]


@respx.mock
async def test_with_store_true_a_reasoning_item_is_replayed_by_id(openai_client):
    """A stored response's reasoning item may be referred to by id alone: it is kept."""
    model = OpenAIResponsesModel("gpt-5-mini", client=openai_client, store=True)
    thinking = Thinking(text="", id="rs_9", provider="openai")
    body = model._payload(
        ModelRequest(
            messages=(UserMessage(content="q"), AssistantMessage(content="a", thinking=(thinking,)))
        )
    )
    assert body["input"][1]["type"] == "reasoning" and body["input"][1]["id"] == "rs_9"
