"""Strict structured output: only real subschemas are judged, not properties that share a keyword's name."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import respx

from cadence_llm import (
    ModelRequest,
    OpenAIModel,
    OpenAIResponsesModel,
    ResponseFormat,
    ToolDefinition,
)
from cadence_llm.models._json_schema import is_strict_compatible

from .conftest import OPENAI_URL, openai_completion

RESPONSES_URL = "https://api.openai.com/v1/responses"


def closed(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An object schema strict mode accepts: closed, every property required."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **more,
    }


STRING = {"type": "string"}
# A GeoJSON-like feature: properties named after schema keywords, each one a plain property.
FEATURE = closed(
    {
        "type": {"type": "string", "enum": ["Feature"]},
        "properties": closed({"name": STRING}),
        "items": {"type": "array", "items": closed({"id": {"type": "integer"}})},
        "$defs": STRING,
        "anyOf": {"type": "boolean"},
        "additionalProperties": STRING,
        "required": {"type": "array", "items": STRING},
    }
)


@pytest.mark.parametrize("name", ["properties", "items", "$defs", "anyOf", "not", "required"])
def test_a_property_named_like_a_keyword_is_a_property(name):
    """A closed schema with a property named after a schema keyword is strict-compatible."""
    assert is_strict_compatible(closed({name: closed({"x": STRING})}))
    assert is_strict_compatible(closed({name: STRING}))


def test_a_keyword_named_property_holding_an_object_is_still_judged():
    """The value of such a property is a subschema: an open object inside it is refused."""
    assert is_strict_compatible(FEATURE)
    opened = copy.deepcopy(FEATURE)
    del opened["properties"]["properties"]["additionalProperties"]
    assert not is_strict_compatible(opened)


@pytest.mark.parametrize(
    "where",
    [
        lambda sub: {"items": sub},
        lambda sub: {"prefixItems": [STRING, sub]},
        lambda sub: {"anyOf": [STRING, sub]},
        lambda sub: {"oneOf": [sub]},
        lambda sub: {"allOf": [sub]},
        lambda sub: {"not": sub},
        lambda sub: {"if": sub, "then": STRING, "else": STRING},
        lambda sub: {"$defs": {"Sub": sub}},
        lambda sub: {"definitions": {"Sub": sub}},
        lambda sub: {"type": "object", "properties": {"a": sub}},
    ],
    ids=[
        "items",
        "prefixItems",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "if",
        "$defs",
        "definitions",
        "properties",
    ],
)
def test_open_objects_in_every_subschema_position_are_found(where):
    """An open object nested at any subschema position makes the schema non-strict."""
    open_object = {"type": "object", "properties": {"x": STRING}}
    root = where(open_object)
    if root.get("type") == "object":
        root = closed(root["properties"])
    assert not is_strict_compatible(root)
    root_ok = where(closed({"x": STRING}))
    if root_ok.get("type") == "object":
        root_ok = closed(root_ok["properties"])
    assert is_strict_compatible(root_ok)


def test_data_values_are_not_judged_as_schemas():
    """enum, const and default values are data: an object among them is not an open schema."""
    data = {"properties": {"a": 1}, "type": "object"}
    schema = closed({"a": {"enum": [data], "const": data, "default": data}})
    assert is_strict_compatible(schema)


@respx.mock
async def test_chat_completions_sends_a_geojson_like_schema_strict(openai_client):
    """Through the real SDK, the chat completions format carries strict: true for such a schema."""
    route = respx.post(OPENAI_URL).respond(200, json=openai_completion("{}"))
    fmt = ResponseFormat(type="json_schema", schema=FEATURE, name="feature")
    await OpenAIModel("gpt-4o-mini", client=openai_client).complete(
        ModelRequest.of("x", response_format=fmt)
    )
    assert route.call_count == 1
    spec = json.loads(route.calls[0].request.content)["response_format"]["json_schema"]
    assert spec["strict"] is True and spec["schema"] == FEATURE


@respx.mock
async def test_responses_api_sends_such_a_tool_strict(openai_client):
    """Through the real SDK, a Responses tool with such parameters is sent with strict: true."""
    body = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": "gpt-5-mini",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 1,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2,
        },
    }
    route = respx.post(RESPONSES_URL).respond(200, json=body)
    tool = ToolDefinition(name="add_feature", parameters=FEATURE)
    await OpenAIResponsesModel("gpt-5-mini", client=openai_client).complete(
        ModelRequest.of("x", tools=(tool,))
    )
    assert route.call_count == 1
    sent = json.loads(route.calls[0].request.content)["tools"][0]
    assert sent["strict"] is True and sent["parameters"] == FEATURE
