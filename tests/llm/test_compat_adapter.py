"""OpenAICompatModel speaks plain HTTP to any chat-completions server (respx plays the server)."""

from __future__ import annotations

import json

import pytest
import respx

from cadence_llm import (
    AuthenticationError,
    ContextWindowExceededError,
    MalformedResponseError,
    ModelRequest,
    OpenAICompatModel,
    OverloadedError,
    RateLimitedError,
    ResponseFormat,
    ServerError,
    StreamDone,
    TextDelta,
    TruncatedStreamError,
)

from .conftest import openai_chunks, openai_completion, openai_error, sse

URL = "http://127.0.0.1:8123/v1/chat/completions"


def make() -> OpenAICompatModel:
    return OpenAICompatModel("local-model", base_url="http://127.0.0.1:8123/v1", api_key="secret")


@respx.mock
async def test_completion_with_auth_header_and_json_object_schema():
    """The request carries the bearer key and a llama.cpp-style json_object schema."""
    route = respx.post(URL).respond(200, json=openai_completion('{"ok": true}'))
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    resp = await make().complete(
        ModelRequest.of(
            "x", max_tokens=20, response_format=ResponseFormat(type="json_schema", schema=schema)
        )
    )
    assert resp.text == '{"ok": true}' and resp.system == "openai_compat"
    req = route.calls[0].request
    assert req.headers["authorization"] == "Bearer secret"
    body = json.loads(req.content)
    assert body["response_format"] == {"type": "json_object", "schema": schema}
    assert body["max_tokens"] == 20


@respx.mock
async def test_streaming():
    """SSE chunks become deltas and a final response."""
    respx.post(URL).respond(
        200, content=sse(openai_chunks(["a", "b"])), headers={"content-type": "text/event-stream"}
    )
    events = [e async for e in make().stream("x")]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", "b"]
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "ab"


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (
            429,
            openai_error("slow down", type_="rate_limit", code="rate_limit_exceeded"),
            RateLimitedError,
        ),
        (503, "upstream unavailable", OverloadedError),
        (502, "<html>bad gateway</html>", ServerError),
        (401, openai_error("bad key", type_="auth"), AuthenticationError),
        (
            400,
            openai_error(
                "the request exceeds the available context size", type_="invalid_request_error"
            ),
            ContextWindowExceededError,
        ),
        # llama.cpp's server reports validation errors as 500: the text still decides.
        (
            500,
            openai_error(
                "Requested tokens (5000) exceed context window of 2048", type_="server_error"
            ),
            ContextWindowExceededError,
        ),
    ],
)
@respx.mock
async def test_errors(status, body, error_type):
    """Status and body decide the error class, JSON or not."""
    kwargs = {"json": body} if isinstance(body, dict) else {"content": body.encode()}
    route = respx.post(URL).respond(status, **kwargs)
    with pytest.raises(error_type):
        await make().complete("x")
    assert route.call_count == 1


@respx.mock
async def test_malformed_json():
    """A 200 with a non-JSON body is a MalformedResponseError."""
    respx.post(URL).respond(200, content=b"oops")
    with pytest.raises(MalformedResponseError):
        await make().complete("x")


@respx.mock
async def test_error_chunk_in_stream():
    """An error object sent as an SSE chunk raises the matching error."""
    payload = sse(openai_chunks(["a"], finish=None), done=False) + sse(
        [openai_error("overloaded", type_="server_error", code="overloaded")], done=False
    )
    respx.post(URL).respond(200, content=payload, headers={"content-type": "text/event-stream"})
    with pytest.raises(ServerError) as info:
        async for _ in make().stream("x"):
            pass
    assert info.value.partial is not None and info.value.partial.text == "a"


@respx.mock
async def test_truncated_stream():
    """A stream that ends without a finish reason or [DONE] is truncated."""
    respx.post(URL).respond(
        200,
        content=sse(openai_chunks(["a"], finish=None), done=False),
        headers={"content-type": "text/event-stream"},
    )
    with pytest.raises(TruncatedStreamError):
        async for _ in make().stream("x"):
            pass


def test_base_url_must_be_http():
    """A base URL without a scheme is refused at construction, naming the expected form."""
    with pytest.raises(ValueError, match="http"):
        OpenAICompatModel("m", base_url="127.0.0.1:8000/v1")


@respx.mock
async def test_async_context_manager_closes_the_client():
    """``async with`` closes the adapter's HTTP client on exit."""
    respx.post(URL).respond(200, json=openai_completion("hi"))
    async with make() as model:
        assert (await model.complete("x")).text == "hi"
    assert model.client.is_closed
