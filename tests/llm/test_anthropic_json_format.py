"""AnthropicModel and "any JSON object": no output schema, an instruction in the system prompt."""

from __future__ import annotations

import json

import pytest
import respx

from cadence_llm import AnthropicModel, ModelRequest, ResponseFormat, SystemMessage, UserMessage

from .conftest import ANTHROPIC_URL, anthropic_message

ASK = "Reply with a single JSON object and nothing else."


@pytest.mark.parametrize(
    "fmt",
    [{"type": "json"}, {"type": "json_schema"}, {"type": "json_schema", "schema": {}}],
    ids=["json", "json_schema-without-schema", "json_schema-empty-schema"],
)
@pytest.mark.parametrize(
    ("messages", "expected_system"),
    [
        ((UserMessage(content="x"),), ASK),
        ((SystemMessage(content="Be brief."), UserMessage(content="x")), f"Be brief.\n\n{ASK}"),
        (
            (SystemMessage(content="Be brief.", cache=True), UserMessage(content="x")),
            [
                {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": ASK},
            ],
        ),
    ],
    ids=["no-system", "str-system", "block-system"],
)
@respx.mock
async def test_any_json_object_is_asked_for_not_constrained_to_empty(
    anthropic_client, fmt, messages, expected_system
):
    """Any-JSON sends no output schema (closed, it admits only {}) and appends a JSON request to the system prompt."""
    route = respx.post(ANTHROPIC_URL).respond(
        200, json=anthropic_message([{"type": "text", "text": '{"a": 1}'}])
    )
    resp = await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(
        ModelRequest(messages=messages, response_format=ResponseFormat.model_validate(fmt))
    )
    assert route.call_count == 1
    body = json.loads(route.calls[0].request.content)
    assert "output_config" not in body
    assert body["system"] == expected_system
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "x"}]}]
    assert json.loads(resp.text) == {"a": 1}


@respx.mock
async def test_a_real_schema_still_goes_to_output_config(anthropic_client):
    """A JSON schema with properties is still enforced through output_config, with no added instruction."""
    route = respx.post(ANTHROPIC_URL).respond(
        200, json=anthropic_message([{"type": "text", "text": '{"a": 1}'}])
    )
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(
        ModelRequest.of("x", response_format=ResponseFormat(type="json_schema", schema=schema))
    )
    body = json.loads(route.calls[0].request.content)
    assert body["output_config"]["format"]["schema"]["properties"] == schema["properties"]
    assert "system" not in body


@respx.mock
async def test_text_format_adds_neither_schema_nor_instruction(anthropic_client):
    """A text response format changes nothing in the request."""
    route = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
    await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(
        ModelRequest.of("x", response_format=ResponseFormat(type="text"))
    )
    body = json.loads(route.calls[0].request.content)
    assert "output_config" not in body and "system" not in body
