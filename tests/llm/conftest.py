"""Builders for realistic provider responses (bodies, SSE streams) used by the adapter tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx
import pytest

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


class FakeLlama:
    """Stands in for ``llama_cpp.Llama``: answers every chat completion with one text and keeps
    each call's arguments (``model_path`` only when given, as a loaded ``Llama`` has one)."""

    def __init__(self, text: str = "ok", model_path: str | None = None) -> None:
        self.text = text
        self.calls: list[dict[str, Any]] = []
        if model_path is not None:
            self.model_path = model_path

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        message = {"role": "assistant", "content": self.text}
        return {
            "id": "local-1",
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }


def openai_completion(
    text: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str = "stop",
    model: str = "gpt-4o-mini-2024-07-18",
    usage: tuple[int, int, int] = (12, 5, 0),
) -> dict[str, Any]:
    """A chat.completion body as OpenAI sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
            "prompt_tokens_details": {"cached_tokens": usage[2]},
        },
    }


def openai_error(message: str, *, type_: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def openai_chunks(
    pieces: Iterable[str], *, finish: str | None = "stop", usage: bool = True
) -> list[dict[str, Any]]:
    """chat.completion.chunk objects for a streamed text answer."""
    base = {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
    }
    out = [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    ]
    for p in pieces:
        out.append(
            {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        )
    if finish is not None:
        out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if usage:
            out.append(
                {
                    **base,
                    "choices": [],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                }
            )
    return out


def sse(
    events: Iterable[Mapping[str, Any]],
    *,
    done: bool = True,
    named: bool = False,
    ensure_ascii: bool = True,
) -> bytes:
    """Server-Sent Events bytes; ``named`` adds ``event:`` lines (Anthropic style);
    ``ensure_ascii=False`` sends non-ASCII text as UTF-8 rather than ``\\u`` escapes."""
    lines = []
    for e in events:
        if named:
            lines.append(f"event: {e['type']}\n")
        lines.append(f"data: {json.dumps(e, ensure_ascii=ensure_ascii)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def anthropic_message(
    blocks: list[dict[str, Any]] | None = None,
    *,
    stop: str = "end_turn",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A Messages API response body."""
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5-20260901",
        "content": blocks if blocks is not None else [{"type": "text", "text": "Hi there"}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 20, "output_tokens": 4},
    }


def anthropic_error(type_: str, message: str) -> dict[str, Any]:
    """A Messages API error body."""
    return {"type": "error", "error": {"type": type_, "message": message}}


def anthropic_stream_events(
    pieces: Iterable[str], *, complete: bool = True
) -> list[dict[str, Any]]:
    """Raw Messages stream events for a text answer; ``complete=False`` stops before the end."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_s1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-5-5-20260901",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 15, "output_tokens": 1, "cache_read_input_tokens": 5},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    for p in pieces:
        events.append(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        )
    if complete:
        events += [
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
            {"type": "message_stop"},
        ]
    return events


class FailingStream(httpx.AsyncByteStream):
    """A response body that sends some bytes and then drops the connection."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        )

    async def aclose(self) -> None:
        return None


@pytest.fixture
def openai_client() -> Any:
    """An AsyncOpenAI client with the SDK's default retries (the adapter must turn them off)."""
    from openai import AsyncOpenAI

    return AsyncOpenAI(api_key="sk-test")


@pytest.fixture
def anthropic_client() -> Any:
    """An AsyncAnthropic client with the SDK's default retries (the adapter must turn them off)."""
    from anthropic import AsyncAnthropic

    return AsyncAnthropic(api_key="sk-ant-test")
