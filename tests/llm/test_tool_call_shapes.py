"""Off-spec tool calls from chat-completions servers, through the real SDK and plain HTTP.

Gemini's OpenAI-compatible endpoint streams each tool call whole, without ``index``; some servers
send index 0 for every call, or a call's arguments as a JSON object instead of a string.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from cadence_llm import (
    ModelRequest,
    OpenAICompatModel,
    OpenAIModel,
    StreamDone,
    ToolCallDelta,
    ToolDefinition,
)

from .conftest import OPENAI_URL, openai_completion, sse

COMPAT_BASE = "http://127.0.0.1:8123/v1"
COMPAT_URL = f"{COMPAT_BASE}/chat/completions"
REQUEST = ModelRequest.of("add", tools=(ToolDefinition(name="add"),))


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    """One chat.completion.chunk with one choice."""
    return {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def call_delta(**fields: Any) -> dict[str, Any]:
    return chunk({"tool_calls": [{"type": "function", **fields}]})


def make(kind: str, openai_client: Any) -> tuple[Any, str]:
    if kind == "openai":
        return OpenAIModel("gemini-2.5-flash", client=openai_client), OPENAI_URL
    return OpenAICompatModel("gemini-2.5-flash", base_url=COMPAT_BASE), COMPAT_URL


async def stream_calls(kind: str, openai_client: Any, chunks: list[dict[str, Any]]) -> Any:
    model, url = make(kind, openai_client)
    with respx.mock:
        route = respx.post(url).respond(
            200, content=sse(chunks), headers={"content-type": "text/event-stream"}
        )
        events = [e async for e in model.stream(REQUEST)]
    assert route.call_count == 1
    assert isinstance(events[-1], StreamDone)
    return events, [(c.id, c.name, c.arguments) for c in events[-1].response.tool_calls]


KINDS = pytest.mark.parametrize("kind", ["openai", "compat"])


@KINDS
async def test_streamed_calls_without_index_stay_apart(kind: str, openai_client: Any) -> None:
    """Whole calls streamed without ``index`` become one call each, in order."""
    chunks = [
        call_delta(id="c1", function={"name": "add", "arguments": '{"a": 1}'}),
        call_delta(id="c2", function={"name": "add", "arguments": '{"a": 2}'}),
        chunk(finish="tool_calls"),
    ]
    events, got = await stream_calls(kind, openai_client, chunks)
    assert got == [("c1", "add", '{"a": 1}'), ("c2", "add", '{"a": 2}')]
    assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 1]


@KINDS
async def test_a_new_id_at_a_reused_index_starts_a_new_call(kind: str, openai_client: Any) -> None:
    """Index 0 for every call: a new id starts a new call; pieces without an id continue it."""
    chunks = [
        call_delta(index=0, id="c1", function={"name": "add", "arguments": '{"a":'}),
        call_delta(index=0, function={"arguments": " 1}"}),
        call_delta(index=0, id="c2", function={"name": "mul", "arguments": '{"a":'}),
        call_delta(index=0, function={"arguments": " 2}"}),
        chunk(finish="tool_calls"),
    ]
    _, got = await stream_calls(kind, openai_client, chunks)
    assert got == [("c1", "add", '{"a": 1}'), ("c2", "mul", '{"a": 2}')]


@KINDS
async def test_indexed_pieces_and_repeated_ids_still_join(kind: str, openai_client: Any) -> None:
    """Two interleaved indexed calls (one repeating its id on every piece) join by index."""
    chunks = [
        call_delta(index=0, id="c1", function={"name": "add", "arguments": ""}),
        call_delta(index=1, id="c2", function={"name": "mul", "arguments": '{"b"'}),
        call_delta(index=0, id="c1", function={"arguments": '{"a": 1}'}),
        call_delta(index=1, function={"arguments": ": 2}"}),
        chunk(finish="tool_calls"),
    ]
    _, got = await stream_calls(kind, openai_client, chunks)
    assert got == [("c1", "add", '{"a": 1}'), ("c2", "mul", '{"b": 2}')]


@KINDS
async def test_streamed_arguments_as_an_object_become_json(kind: str, openai_client: Any) -> None:
    """Arguments streamed as a JSON object arrive as JSON text, not as a Python repr."""
    chunks = [
        call_delta(id="c1", function={"name": "add", "arguments": {"a": 1, "tags": ["x"]}}),
        chunk(finish="tool_calls"),
    ]
    _, got = await stream_calls(kind, openai_client, chunks)
    assert [(i, n, json.loads(a)) for i, n, a in got] == [("c1", "add", {"a": 1, "tags": ["x"]})]


@KINDS
async def test_completed_arguments_as_an_object_become_json(kind: str, openai_client: Any) -> None:
    """A completion whose call carries its arguments as an object gives JSON text."""
    model, url = make(kind, openai_client)
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": {"a": 1}}}
    with respx.mock:
        route = respx.post(url).respond(
            200, json=openai_completion(None, tool_calls=[call], finish="tool_calls")
        )
        response = await model.complete(REQUEST)
    assert route.call_count == 1
    assert json.loads(response.tool_calls[0].arguments) == {"a": 1}
