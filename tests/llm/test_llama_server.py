"""End to end: llama.cpp's OpenAI-compatible server on loopback, driven by OpenAIModel and OpenAICompatModel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from cadence_llm import (
    FallbackChain,
    ModelRequest,
    OpenAICompatModel,
    OpenAIModel,
    ResponseFormat,
    StreamDone,
    TextDelta,
)
from cadence_llm.models.weights import resolve_weights

pytestmark = pytest.mark.slow
# Generous: on a loaded 2-core machine one small generation has taken over a minute.
SLOW_MACHINE_TIMEOUT = 600.0

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` with SmolLM2 on a free loopback port; stop it by PID."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(resolve_weights("smollm2")),
            "--model_alias",
            "smollm2",
            "--chat_format",
            "chatml-function-calling",
            "--interrupt_requests",
            "False",
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {proc.returncode}; see {log.name}"
                )
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
async def openai_model(server):
    """OpenAIModel on the official SDK, pointed at the local server."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=server, api_key="unused", max_retries=2, timeout=SLOW_MACHINE_TIMEOUT
    )
    model = OpenAIModel(
        "smollm2", client=client, max_tokens_field="max_tokens", schema_style="json_object"
    )
    yield model
    await model.aclose()


@pytest.fixture
async def compat_model(server):
    """OpenAICompatModel over plain httpx, pointed at the local server."""
    model = OpenAICompatModel("smollm2", base_url=server, timeout=SLOW_MACHINE_TIMEOUT)
    yield model
    await model.aclose()


@pytest.fixture(params=["openai", "compat"])
def model(request, openai_model, compat_model):
    """Each test runs once with each adapter."""
    return openai_model if request.param == "openai" else compat_model


async def test_completion(model):
    """A completion comes back with text and usage from the real server."""
    resp = await model.complete(ModelRequest.of("Say hello.", max_tokens=16, temperature=0))
    assert resp.text.strip()
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.finish_reason in ("stop", "length")


async def test_streaming(model):
    """A streamed completion yields deltas whose text equals the final response."""
    events = [
        e
        async for e in model.stream(
            ModelRequest.of("Name three colours.", max_tokens=16, temperature=0)
        )
    ]
    assert isinstance(events[-1], StreamDone)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text and text == events[-1].response.text


async def test_json_constrained_output_parses(model):
    """A JSON-schema response format yields JSON of the schema's shape."""
    resp = await model.complete(
        ModelRequest.of(
            "Give a city and its population as JSON.",
            max_tokens=64,
            temperature=0,
            response_format=ResponseFormat(type="json_schema", schema=SCHEMA),
        )
    )
    data = json.loads(resp.text)
    assert isinstance(data["city"], str) and isinstance(data["population"], int)


async def test_chain_falls_back_to_the_live_server(server, compat_model):
    """A chain whose first model's server is down (connection refused) answers from the live server."""
    dead = OpenAICompatModel("smollm2", base_url=f"http://127.0.0.1:{_free_port()}/v1")
    result = await FallbackChain([dead, compat_model], retry=1).run(
        ModelRequest.of("Hi", max_tokens=8)
    )
    assert result.model == "smollm2" and result.response.text
    assert type(result.attempts[0].error).__name__ == "ModelConnectionError"
    await dead.aclose()


async def test_tool_call_and_tool_result_round_trip(model):
    """A forced tool call comes back in shape, and the tool result is accepted in a follow-up turn."""
    from cadence_llm import ToolDefinition, ToolMessage

    tool = ToolDefinition(
        name="get_weather",
        description="Weather for a city",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
    request = ModelRequest.of(
        "What is the weather in Paris?", tools=(tool,), tool_choice="get_weather", max_tokens=32
    )
    first = await model.complete(request)
    (call,) = first.tool_calls
    assert call.name == "get_weather" and isinstance(json.loads(call.arguments)["city"], str)
    follow_up = ModelRequest(
        messages=(
            *request.messages,
            first.to_message(),
            ToolMessage(
                tool_call_id=call.id, name=call.name, content='{"sky": "sunny", "celsius": 21}'
            ),
        ),
        tools=(tool,),
        tool_choice="none",
        max_tokens=16,
    )
    second = await model.complete(follow_up)
    assert second.text.strip() and not second.tool_calls
