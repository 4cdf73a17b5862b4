"""The adapters through the real openai and anthropic SDKs against a provider on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from cadence_llm import (
    AnthropicModel,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    MalformedResponseError,
    ModelConnectionError,
    ModelNotFoundError,
    ModelTimeoutError,
    OpenAICompatModel,
    OpenAIModel,
    OpenAIResponsesModel,
    OverloadedError,
    RateLimitedError,
    ServerError,
    StreamDone,
    TextDelta,
    TruncatedStreamError,
)
from cadence_llm.models.base import ModelAdapter

from ._provider_server import ProviderServer, reply, sse_text, stream
from ._provider_server import provider as provider  # the fixture, used by name

KINDS = ("openai", "responses", "anthropic", "compat")


@pytest.fixture
async def models(provider: ProviderServer) -> AsyncIterator[dict[str, ModelAdapter]]:
    """Each adapter pointed at the server; the SDK clients keep their default retries (2)."""
    built: dict[str, ModelAdapter] = {
        "openai": OpenAIModel("gpt", client=AsyncOpenAI(api_key="k", base_url=provider.url)),
        "responses": OpenAIResponsesModel(
            "gpt", client=AsyncOpenAI(api_key="k", base_url=provider.url)
        ),
        "anthropic": AnthropicModel(
            "claude", client=AsyncAnthropic(api_key="k", base_url=provider.url)
        ),
        "compat": OpenAICompatModel("m", base_url=provider.url),
    }
    yield built
    for model in built.values():
        await model.aclose()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """A chat.completion.chunk."""
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def completion(content: object, finish: str = "stop") -> dict[str, Any]:
    """A chat.completion whose message content is ``content`` (a string or a list of parts)."""
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 4},
        },
    }


ANTHROPIC_START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    },
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "model": "gpt",
    "output": [],
    "status": "in_progress",
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}


def started_stream(kind: str) -> str:
    """The opening events of a streamed answer "Hé 👋" in ``kind``'s wire format, unfinished."""
    if kind == "anthropic":
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        delta = {"type": "text_delta", "text": "Hé 👋"}
        events = [
            ANTHROPIC_START,
            block,
            {"type": "content_block_delta", "index": 0, "delta": delta},
        ]
        return sse_text(events, named=True, done=False)
    if kind == "responses":
        created = {"type": "response.created", "sequence_number": 0, "response": RESPONSE}
        text = {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "m1",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hé 👋",
            "logprobs": [],
        }
        return sse_text([created, text], named=True, done=False)
    return sse_text([chunk({"role": "assistant", "content": "Hé 👋"})], done=False)


ERRORS = [
    (400, {"error": {"message": "bad", "type": "invalid_request_error"}}, {}, BadRequestError),
    (401, {"error": {"message": "no key", "type": "authentication_error"}}, {}, AuthenticationError),
    (403, {"error": {"message": "denied", "type": "permission_error"}}, {}, AuthenticationError),
    (404, {"error": {"message": "no such model", "type": "not_found_error"}}, {}, ModelNotFoundError),
    (408, {"error": {"message": "slow request"}}, {}, ModelTimeoutError),
    (409, {"error": {"message": "lock timeout"}}, {}, ServerError),
    (413, {"error": {"message": "too big", "type": "request_too_large"}}, {}, ContextWindowExceededError),
    (422, {"error": {"message": "unprocessable"}}, {}, BadRequestError),
    (429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"retry-after": "3"}, RateLimitedError),
    (500, {"error": {"message": "boom", "type": "api_error"}}, {}, ServerError),
    (503, {"error": {"message": "unavailable"}}, {}, OverloadedError),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, {}, OverloadedError),
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("status", "body", "headers", "expected"), ERRORS)
async def test_http_errors_map_onto_the_family_with_one_request(
    provider, models, kind, status, body, headers, expected
):
    """Each status becomes its documented error, after exactly one request (no SDK retries)."""
    provider.script(reply(status, body, headers))
    with pytest.raises(expected) as caught:
        await models[kind].complete("hi")
    assert len(provider.bodies) == 1
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.retry_after == 3.0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_409_lock_timeout_is_retryable(provider, models, kind):
    """409 (which both SDKs retry as a lock timeout) is a retryable ServerError, not a bad request."""
    provider.script(reply(409, {"error": {"message": "lock timeout", "type": "conflict"}}))
    with pytest.raises(ServerError) as caught:
        await models[kind].complete("hi")
    assert caught.value.retryable and caught.value.should_fallback


@pytest.mark.parametrize("kind", KINDS)
async def test_x_should_retry_header_decides_retryable(provider, models, kind):
    """The server's x-should-retry header overrides the status's default, as in the SDKs."""
    provider.script(
        reply(500, {"error": {"message": "boom"}}, {"x-should-retry": "false"}),
        reply(400, {"error": {"message": "try again"}}, {"x-should-retry": "true"}),
    )
    with pytest.raises(ServerError) as first:
        await models[kind].complete("hi")
    with pytest.raises(BadRequestError) as second:
        await models[kind].complete("hi")
    assert (first.value.retryable, second.value.retryable) == (False, True)


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_after_ms_is_read(provider, models, kind):
    """A 429's retry-after-ms header gives retry_after in seconds."""
    provider.script(reply(429, {"error": {"message": "slow"}}, {"retry-after-ms": "1500"}))
    with pytest.raises(RateLimitedError) as caught:
        await models[kind].complete("hi")
    assert caught.value.retry_after == 1.5


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_json_body_is_a_malformed_response(provider, models, kind):
    """A 200 whose body is not JSON is a retryable MalformedResponseError showing the body."""
    provider.script(reply(200, "not json{"))
    with pytest.raises(MalformedResponseError, match="not json") as caught:
        await models[kind].complete("hi")
    assert caught.value.retryable


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_cut_before_its_final_event_is_truncated(provider, models, kind):
    """A stream that ends cleanly without the finish event raises TruncatedStreamError with the text."""
    provider.script(stream(started_stream(kind)))
    with pytest.raises(TruncatedStreamError) as caught:
        async for _ in models[kind].stream("hi"):
            pass
    assert caught.value.partial is not None and caught.value.partial.text == "Hé 👋"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_connection_reset_mid_stream_is_a_connection_error(provider, models, kind):
    """A TCP reset after the first events is a retryable ModelConnectionError with the partial text."""
    provider.script(stream(started_stream(kind), end="reset"))
    with pytest.raises(ModelConnectionError) as caught:
        async for _ in models[kind].stream("hi"):
            pass
    assert caught.value.retryable
    assert caught.value.partial is not None and caught.value.partial.text == "Hé 👋"


@pytest.mark.parametrize(
    ("kind", "event", "expected"),
    [
        ("openai", {"error": {"message": "slow", "code": "rate_limit_exceeded"}}, RateLimitedError),
        ("compat", {"error": {"message": "slow", "code": "rate_limit_exceeded"}}, RateLimitedError),
        ("responses", {"type": "error", "code": "server_error", "message": "boom"}, ServerError),
        (
            "anthropic",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            OverloadedError,
        ),
    ],
)
async def test_an_error_event_inside_a_stream_is_classified(
    provider, models, kind, event, expected
):
    """An error event after the first chunk is classified by its body and keeps the partial text."""
    named = kind in ("anthropic", "responses")
    provider.script(stream(started_stream(kind) + sse_text([event], named=named, done=False)))
    with pytest.raises(expected) as caught:
        async for _ in models[kind].stream("hi"):
            pass
    assert caught.value.partial is not None and caught.value.partial.text == "Hé 👋"


@pytest.mark.parametrize("kind", ["openai", "compat"])
async def test_content_given_as_parts_is_joined_text(provider, models, kind):
    """A message content sent as a list of parts gives the joined text, without reasoning parts."""
    parts = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
        {"type": "text", "text": "Hello "},
        {"type": "text", "text": "wörld"},
    ]
    provider.script(reply(200, completion(parts)))
    answer = await models[kind].complete("hi")
    assert answer.text == "Hello wörld"
    assert (answer.usage.input_tokens, answer.usage.cached_tokens) == (5, 2)


@pytest.mark.parametrize("kind", ["openai", "compat"])
async def test_streamed_content_parts_are_text_deltas(provider, models, kind):
    """Stream deltas whose content is a list of parts yield their text."""
    chunks = [
        chunk({"role": "assistant", "content": [{"type": "text", "text": "Hel"}]}),
        chunk({"content": [{"type": "text", "text": "lo"}]}),
        chunk({}, "stop"),
    ]
    provider.script(stream(sse_text(chunks)))
    events = [e async for e in models[kind].stream("hi")]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "Hello"


async def test_anthropic_tool_arguments_match_between_complete_and_stream(provider, models):
    """Non-ASCII tool arguments from complete() are unescaped, the same text a stream carries."""
    arguments = '{"city": "Zürich"}'
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "tool_use", "id": "t1", "name": "find", "input": {"city": "Zürich"}}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    tool = {"type": "tool_use", "id": "t1", "name": "find", "input": {}}
    events = [
        ANTHROPIC_START,
        {"type": "content_block_start", "index": 0, "content_block": tool},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": arguments},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    provider.script(reply(200, message), stream(sse_text(events, named=True, done=False)))
    answer = await models["anthropic"].complete("hi")
    streamed = [e async for e in models["anthropic"].stream("hi")][-1]
    assert isinstance(streamed, StreamDone)
    assert answer.tool_calls[0].arguments == streamed.response.tool_calls[0].arguments == arguments


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (completion("whole answer"), None),
        ({"error": {"message": "overloaded", "type": "server_error"}}, ServerError),
    ],
)
async def test_compat_stream_answered_with_a_json_body(provider, models, body, expected):
    """A server that answers a streaming request with plain JSON gives that answer, or its error."""
    provider.script(reply(200, body))
    if expected is None:
        events = [e async for e in models["compat"].stream("hi")]
        assert isinstance(events[-1], StreamDone)
        assert events[-1].response.text == "whole answer"
        assert events[-1].response.usage.output_tokens == 7
    else:
        with pytest.raises(expected, match="overloaded"):
            async for _ in models["compat"].stream("hi"):
                pass
