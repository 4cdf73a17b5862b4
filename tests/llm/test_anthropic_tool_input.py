"""A conversation continued on Anthropic sends every earlier tool call's input as an object.

Another provider's call (an OpenAI turn of a fallback chain) may carry arguments that are not a
JSON object; Anthropic refuses a ``tool_use.input`` that is not one.
"""

from __future__ import annotations

import json

import pytest
import respx

from cadence_llm import (
    AnthropicModel,
    AssistantMessage,
    ModelRequest,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)

from .conftest import ANTHROPIC_URL, anthropic_message


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ('{"city": "Oslo"}', {"city": "Oslo"}),
        ("", {}),
        ("[1, 2]", {"_raw": "[1, 2]"}),
        ("null", {"_raw": "null"}),
        ('"{\\"city\\": \\"Oslo\\"}"', {"_raw": '"{\\"city\\": \\"Oslo\\"}"'}),
        ("3", {"_raw": "3"}),
        ("{not json", {"_raw": "{not json"}),
    ],
)
async def test_earlier_call_input_is_always_an_object(anthropic_client, arguments, sent):
    """Arguments that are not a JSON object go out wrapped as ``{"_raw": text}``."""
    request = ModelRequest(
        messages=(
            UserMessage(content="Weather?"),
            AssistantMessage(
                tool_calls=(ToolCall(id="call_1", name="get_weather", arguments=arguments),)
            ),
            ToolMessage(tool_call_id="call_1", content="rain"),
        ),
        tools=(ToolDefinition(name="get_weather"),),
    )
    with respx.mock:
        route = respx.post(ANTHROPIC_URL).respond(200, json=anthropic_message())
        await AnthropicModel("claude-sonnet-5-5", client=anthropic_client).complete(request)
    assert route.call_count == 1
    block = json.loads(route.calls[0].request.content)["messages"][1]["content"][0]
    assert block == {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": sent}
