"""Whole JSON bodies where the adapters expect something else, through the real SDKs.

A server or proxy that ignores ``stream=True`` answers with one JSON completion (or a JSON error
body), and some answer a plain call with a 200 whose body is an error object: the adapters read
what the server said instead of reporting a truncated stream or a malformed answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from cadence_llm import (
    OverloadedError,
    RateLimitedError,
    ServerError,
    StreamDone,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
)

from ._provider_server import ProviderServer, reply, sse_text, stream
from ._provider_server import provider as provider  # the fixture, used by name
from .test_provider_server import RESPONSE, chunk, completion
from .test_provider_server import models as models  # the fixture, used by name


def chat_answer() -> dict[str, Any]:
    """A chat.completion with text and one tool call."""
    body = completion("whole answer", finish="tool_calls")
    body["choices"][0]["message"]["tool_calls"] = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "find", "arguments": '{"city": "Zürich"}'},
        }
    ]
    return body


def responses_answer() -> dict[str, Any]:
    """A completed Responses API answer with reasoning, text and one function call."""
    return {
        **RESPONSE,
        "status": "completed",
        "error": None,
        "output": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "thinking it over"}],
                "encrypted_content": "enc",
            },
            {
                "type": "message",
                "id": "m1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "whole answer", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "find",
                "arguments": '{"city": "Zürich"}',
            },
        ],
        "usage": {
            "input_tokens": 5,
            "output_tokens": 7,
            "total_tokens": 12,
            "input_tokens_details": {"cached_tokens": 2},
            "output_tokens_details": {"reasoning_tokens": 4},
        },
    }


def anthropic_answer() -> dict[str, Any]:
    """A Messages API answer with a thinking block, text and one tool use."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "thinking it over", "signature": "sig"},
            {"type": "text", "text": "whole answer"},
            {"type": "tool_use", "id": "t1", "name": "find", "input": {"city": "Zürich"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 7, "cache_read_input_tokens": 2},
    }


ANSWERS = {"openai": chat_answer, "responses": responses_answer, "anthropic": anthropic_answer}

ERROR_BODIES = [
    ("openai", {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, RateLimitedError),
    ("responses", {"error": {"message": "boom", "code": "server_error"}}, ServerError),
    ("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, OverloadedError),
    ("compat", {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, RateLimitedError),
]  # fmt: skip


@pytest.mark.parametrize("kind", list(ANSWERS))
async def test_a_stream_answered_with_a_whole_json_answer_gives_that_answer(
    provider: ProviderServer, models: Any, kind: str
) -> None:
    """A server that ignores stream=True and sends one JSON answer streams exactly what
    complete() reads from the same body: text, tool calls, reasoning, usage and finish reason."""
    provider.script(reply(200, ANSWERS[kind]()), reply(200, ANSWERS[kind]()))
    whole = await models[kind].complete("hi")
    events = [e async for e in models[kind].stream("hi")]
    assert isinstance(events[-1], StreamDone)
    assert events[-1].response == whole
    assert whole.text == "whole answer" and whole.tool_calls[0].name == "find"
    assert whole.usage.output_tokens == 7 and whole.finish_reason == "tool_calls"
    assert [type(e) for e in events[:-1] if isinstance(e, TextDelta | ToolCallDelta)] == [
        TextDelta,
        ToolCallDelta,
    ]
    if kind != "openai":
        assert whole.thinking[0].text == "thinking it over"
        assert any(isinstance(e, ThinkingDelta) for e in events)


@pytest.mark.parametrize(("kind", "body", "expected"), ERROR_BODIES)
async def test_a_stream_answered_with_a_json_error_body_raises_its_error(
    provider: ProviderServer, models: Any, kind: str, body: dict[str, Any], expected: type
) -> None:
    """A streaming request answered with a 200 JSON error body raises the error the body names."""
    provider.script(reply(200, body))
    with pytest.raises(expected) as caught:
        async for _ in models[kind].stream("hi"):
            pass
    assert caught.value.partial is None


@pytest.mark.parametrize(("kind", "body", "expected"), ERROR_BODIES)
async def test_a_200_error_body_to_a_plain_call_raises_its_error(
    provider: ProviderServer, models: Any, kind: str, body: dict[str, Any], expected: type
) -> None:
    """complete() answered with a 200 whose JSON body is an error object raises the error the
    body names (not MalformedResponseError)."""
    provider.script(reply(200, body))
    with pytest.raises(expected) as caught:
        await models[kind].complete("hi")
    assert caught.value.status_code == 200


async def test_a_failed_response_with_output_still_raises_its_error(
    provider: ProviderServer, models: Any
) -> None:
    """A Responses answer with status "failed" raises its classified error, streamed or not."""
    failed = {
        **responses_answer(),
        "status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "slow down"},
    }
    provider.script(reply(200, failed), reply(200, failed))
    with pytest.raises(RateLimitedError):
        await models["responses"].complete("hi")
    with pytest.raises(RateLimitedError):
        async for _ in models["responses"].stream("hi"):
            pass


@pytest.mark.parametrize("kind", ["openai", "compat"])
async def test_a_chat_stream_cut_after_its_finish_chunk_keeps_the_answer_usage_unreported(
    provider: ProviderServer, models: Any, kind: str
) -> None:
    """A stream cut after the finish chunk, before the usage chunk and [DONE], ends normally:
    the answer is complete and its usage is the all-zero Usage() of "not reported"."""
    chunks = [chunk({"role": "assistant", "content": "Hello"}), chunk({}, "stop")]
    provider.script(stream(sse_text(chunks, done=False)))
    events = [e async for e in models[kind].stream("hi")]
    assert isinstance(events[-1], StreamDone)
    assert events[-1].response.text == "Hello" and events[-1].response.finish_reason == "stop"
    assert events[-1].response.usage == Usage()
