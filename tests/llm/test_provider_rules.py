"""Requests that real providers reject or mishandle, reproduced through the real SDKs over HTTP.

Each test drives the official ``anthropic`` / ``openai`` SDK against a respx route that checks
the request the way the provider does (see ``_anthropic_rules``) and answers 400 when a rule is
broken, so a regression shows up as the provider's own error.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, Field

from cadence_llm import (
    AnthropicModel,
    AssistantMessage,
    FallbackChain,
    ModelRequest,
    OpenAIModel,
    ResponseFormat,
    UserMessage,
    agent,
    classify,
    generate,
    tool,
)

from ._anthropic_rules import messages_api
from .conftest import ANTHROPIC_URL, OPENAI_URL, anthropic_message, openai_completion, sse


class Invoice(BaseModel):
    """An invoice with constraints the Messages API cannot enforce."""

    number: str = Field(max_length=12)
    total: float = Field(ge=0)
    lines: int = Field(default=1, ge=1, le=100)
    note: str | None = None


INVOICE = {"number": "INV-7", "total": 12.5, "lines": 2, "note": None}


@respx.mock
async def test_anthropic_structured_output_sends_a_schema_the_api_accepts(anthropic_client):
    """generate() on Claude sends the SDK-transformed schema (no minimum/maxLength, closed objects)."""
    route = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api(
            [anthropic_message([{"type": "text", "text": json.dumps(INVOICE)}])]
        )
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    invoice = await generate(model, "Extract the invoice", response_model=Invoice)
    assert route.call_count == 1
    assert invoice == Invoice(**INVOICE)
    schema = json.loads(route.calls[0].request.content)["output_config"]["format"]["schema"]
    assert schema["additionalProperties"] is False
    assert "minimum" not in schema["properties"]["total"]
    assert "minimum: 0" in schema["properties"]["total"]["description"]  # kept as a hint


@respx.mock
async def test_anthropic_classify_schema_is_accepted(anthropic_client):
    """classify() on Claude works: its enum schema is closed the way the Messages API requires."""
    route = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api([anthropic_message([{"type": "text", "text": '{"label": "b"}'}])])
    )
    route_to = classify(
        AnthropicModel("claude-sonnet-5-5", client=anthropic_client), labels=["a", "b"]
    )
    assert await route_to.label({"query": "which?"}) == "b"
    assert route.call_count == 1


@respx.mock
async def test_anthropic_accepts_a_raw_dict_schema_after_the_transform(anthropic_client):
    """A hand-written ResponseFormat schema with constraints is transformed too, not only pydantic's."""
    route = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api([anthropic_message([{"type": "text", "text": '{"n": 3}'}])])
    )
    fmt = ResponseFormat(
        type="json_schema",
        schema={"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    response = await model.complete(
        ModelRequest(messages=(UserMessage(content="n?"),), response_format=fmt)
    )
    assert response.text == '{"n": 3}' and route.call_count == 1


@tool
def lookup(city: str) -> str:
    """Look up a city's weather."""
    return f"sunny in {city}"


@respx.mock
async def test_repeated_tool_call_ids_stay_valid_for_anthropic(openai_client, anthropic_client):
    """An agent whose OpenAI turn repeated a call id falls over to Claude with ids Claude accepts."""
    same_id = [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "lookup", "arguments": json.dumps({"city": city})},
        }
        for city in ("Oslo", "Rome")
    ]
    oa = respx.post(OPENAI_URL).mock(
        side_effect=[
            httpx.Response(
                200, json=openai_completion(None, tool_calls=same_id, finish="tool_calls")
            ),
            httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}}),
        ]
    )
    an = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api([anthropic_message([{"type": "text", "text": "Both sunny."}])])
    )
    chain = FallbackChain(
        [
            OpenAIModel("gpt-4o-mini", client=openai_client),
            AnthropicModel("claude-sonnet-5-5", client=anthropic_client),
        ],
        retry=1,
    )
    result = await agent(chain, [lookup]).run({"query": "Weather in Oslo and Rome?"})
    assert result.answer == "Both sunny."
    assert (oa.call_count, an.call_count) == (2, 1)
    sent = json.loads(an.calls[0].request.content)["messages"]
    ids = [b["id"] for b in sent[1]["content"] if b["type"] == "tool_use"]
    answered = [b["tool_use_id"] for b in sent[2]["content"]]
    assert len(set(ids)) == 2 and ids == answered


@respx.mock
async def test_anthropic_ids_from_other_providers_are_made_valid(anthropic_client):
    """Ids the Messages API would refuse (dots, colons) are mapped consistently on calls and results."""
    from cadence_llm import AssistantMessage, ToolCall, ToolMessage

    route = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api([anthropic_message([{"type": "text", "text": "ok"}])])
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    calls = (
        ToolCall(id="fc.1:a", name="lookup", arguments="{}"),
        ToolCall(id="fc_1_a", name="lookup", arguments="{}"),
    )
    request = ModelRequest(
        messages=(
            UserMessage(content="go"),
            AssistantMessage(tool_calls=calls),
            ToolMessage(tool_call_id="fc.1:a", content="x"),
            ToolMessage(tool_call_id="fc_1_a", content="y"),
        )
    )
    assert (await model.complete(request)).text == "ok"
    sent = json.loads(route.calls[0].request.content)["messages"]
    ids = [b["id"] for b in sent[1]["content"]]
    assert len(set(ids)) == 2
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ids


def _stream_body(text: str) -> bytes:
    return sse(
        [
            {
                "type": "message_start",
                "message": {
                    "id": "msg_long",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-5-5",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 30000},
            },
            {"type": "message_stop"},
        ],
        done=False,
        named=True,
    )


@respx.mock
async def test_large_max_tokens_on_anthropic_streams_instead_of_failing():
    """max_tokens=32000 with a default-timeout client answers (streamed underneath), not ValueError."""
    from anthropic import AsyncAnthropic

    route = respx.post(ANTHROPIC_URL).mock(
        return_value=httpx.Response(
            200, content=_stream_body("a long essay"), headers={"content-type": "text/event-stream"}
        )
    )
    model = AnthropicModel("claude-sonnet-5-5", client=AsyncAnthropic(api_key="sk-ant-test"))
    response = await model.complete(ModelRequest.of("Write at length", max_tokens=32000))
    assert route.call_count == 1
    assert json.loads(route.calls[0].request.content)["stream"] is True
    assert response.text == "a long essay" and response.finish_reason == "stop"
    assert response.usage.output_tokens == 30000


THINKING = {"type": "thinking", "thinking": "I should look up Oslo.", "signature": "sig-1"}


@respx.mock
async def test_thinking_tool_loop_works_on_turn_two(anthropic_client):
    """With thinking on, turn 2 replays turn 1's thinking block unchanged, so the loop finishes."""
    turn1 = anthropic_message(
        [
            THINKING,
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Oslo"}},
        ],
        stop="tool_use",
    )
    turn2 = anthropic_message([{"type": "text", "text": "Sunny in Oslo."}])
    route = respx.post(ANTHROPIC_URL).mock(
        side_effect=messages_api([turn1, turn2], signatures={"sig-1"})
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client, thinking=2048)
    result = await agent(model, [lookup], options={"max_tokens": 4096}).run(
        {"query": "Weather in Oslo?"}
    )
    assert result.answer == "Sunny in Oslo."
    assert route.call_count == 2
    body = json.loads(route.calls[1].request.content)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["messages"][1]["content"][0] == THINKING
    assistant = result.messages[1]
    assert assistant.thinking[0].text == "I should look up Oslo."  # type: ignore[union-attr]


@respx.mock
async def test_streamed_thinking_is_assembled_with_its_signature(anthropic_client):
    """Streamed thinking and signature deltas end up in StreamDone's response, replayable next turn."""
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_t",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-5-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm, "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Oslo."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig-9"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "redacted_thinking", "data": "opaque"},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "text_delta", "text": "Done"},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    respx.post(ANTHROPIC_URL).mock(
        return_value=httpx.Response(
            200,
            content=sse(events, done=False, named=True),
            headers={"content-type": "text/event-stream"},
        )
    )
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client, thinking=1024)
    final = [e async for e in model.stream(ModelRequest.of("think", max_tokens=2048))][-1]
    response = final.response  # type: ignore[union-attr]
    assert response.text == "Done"
    assert [(t.text, t.signature, t.redacted) for t in response.thinking] == [
        ("Hmm, Oslo.", "sig-9", None),
        ("", None, "opaque"),
    ]
    assert response.to_message().thinking == response.thinking


def _openai_strict_rules(request: httpx.Request) -> httpx.Response:
    """OpenAI's strict structured-output rules: closed objects, every property required."""
    body = json.loads(request.content)
    spec = body["response_format"]["json_schema"]
    if not spec.get("strict"):
        return httpx.Response(200, json=openai_completion('{"oops": true}'))  # not constrained

    def check(node: Any) -> str | None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                props = node.get("properties", {})
                if node.get("additionalProperties") is not False:
                    return "'additionalProperties' is required to be supplied and to be false"
                missing = [k for k in props if k not in node.get("required", [])]
                if missing:
                    return (
                        f"'required' must include every key in properties. Missing {missing[0]!r}"
                    )
            for value in node.values():
                found = check(value)
                if found:
                    return found
        elif isinstance(node, list):
            for value in node:
                found = check(value)
                if found:
                    return found
        return None

    found = check(spec["schema"])
    if found:
        return httpx.Response(
            400,
            json={
                "error": {
                    "message": f"Invalid schema for response_format {spec['name']!r}: {found}",
                    "type": "invalid_request_error",
                    "param": "response_format",
                    "code": None,
                }
            },
        )
    return httpx.Response(200, json=openai_completion(json.dumps(INVOICE)))


@respx.mock
async def test_openai_json_schema_is_strict_and_accepted(openai_client):
    """generate() on OpenAI sends strict: true with a schema strict mode accepts (constrained decoding)."""
    route = respx.post(OPENAI_URL).mock(side_effect=_openai_strict_rules)
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    invoice = await generate(model, "Extract", response_model=Invoice, max_retries=0)
    assert invoice == Invoice(**INVOICE)
    assert route.call_count == 1
    spec = json.loads(route.calls[0].request.content)["response_format"]["json_schema"]
    assert spec["strict"] is True and spec["name"] == "Invoice"


@respx.mock
async def test_openai_dict_schema_that_strict_mode_would_refuse_is_sent_unstrict(openai_client):
    """A hand-written schema strict mode cannot take is sent without strict, not rejected with 400."""
    route = respx.post(OPENAI_URL).mock(side_effect=_openai_strict_rules)
    fmt = ResponseFormat(
        type="json_schema", schema={"type": "object", "properties": {"x": {"type": "string"}}}
    )
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    response = await model.complete(
        ModelRequest(messages=(UserMessage(content="x?"),), response_format=fmt)
    )
    assert route.call_count == 1 and response.text == '{"oops": true}'
    assert (
        "strict" not in json.loads(route.calls[0].request.content)["response_format"]["json_schema"]
    )


@pytest.mark.parametrize("strict", [True, False])
@respx.mock
async def test_response_format_strict_overrides_the_choice(openai_client, strict):
    """ResponseFormat(strict=...) forces strict on or off for a hand-written schema."""
    route = respx.post(OPENAI_URL).respond(200, json=openai_completion('{"x": "y"}'))
    schema = {
        "type": "object",
        "properties": {"x": {"type": "string"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    fmt = ResponseFormat(type="json_schema", schema=schema, strict=strict)
    model = OpenAIModel("gpt-4o-mini", client=openai_client)
    await model.complete(ModelRequest(messages=(UserMessage(content="x?"),), response_format=fmt))
    spec = json.loads(route.calls[0].request.content)["response_format"]["json_schema"]
    assert spec.get("strict", False) is strict


@respx.mock
async def test_an_empty_claude_answer_does_not_break_the_re_ask(anthropic_client):
    """Claude answering content=[] is re-asked without sending that empty turn back.

    The re-ask used to send {"role": "assistant", "content": []}, which the API refuses with
    400 ("all messages must have non-empty content"), so the repair itself failed.
    """
    empty = anthropic_message([])
    good = anthropic_message([{"type": "text", "text": json.dumps(INVOICE)}])
    route = respx.post(ANTHROPIC_URL).mock(side_effect=messages_api([empty, good]))
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    invoice = await generate(model, "Invoice INV-7, 12.50, two lines.", response_model=Invoice)
    assert invoice.number == "INV-7"
    assert route.call_count == 2
    sent = json.loads(route.calls[1].request.content)["messages"]
    assert all(m["content"] for m in sent)


@respx.mock
async def test_empty_texts_in_a_transcript_are_left_out(anthropic_client):
    """An empty user or assistant text becomes no block, so the API accepts the request."""
    respx.post(ANTHROPIC_URL).mock(side_effect=messages_api([anthropic_message()]))
    model = AnthropicModel("claude-sonnet-5-5", client=anthropic_client)
    request = ModelRequest(
        messages=(
            UserMessage(content="Hello"),
            AssistantMessage(content=""),
            UserMessage(content=""),
            UserMessage(content="Still there?"),
        )
    )
    response = await model.complete(request)
    assert response.text == "Hi there"
