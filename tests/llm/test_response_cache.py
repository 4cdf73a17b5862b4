"""Exact-match response caching: keys, hits through the real SDK, tool-call turns, backends."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from cadence_llm import (
    AnthropicModel,
    FallbackChain,
    ModelRequest,
    OpenAIModel,
    ResponseFormat,
    ScriptedModel,
    StreamDone,
    SystemMessage,
    TextDelta,
    ToolDefinition,
    UserMessage,
    agent,
    tool,
)
from cadence_llm.cache import (
    CachedModel,
    InMemoryResponseCache,
    RedisResponseCache,
    SQLiteResponseCache,
    cache_key,
    check_response_cache,
)

from .conftest import OPENAI_URL, openai_chunks, openai_completion, sse

sys.path.insert(0, str(Path(__file__).parents[1] / "checkpoint"))
from _servers import start_redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this module."""
    url, stop = start_redis()
    yield url
    stop()


async def test_the_in_memory_cache_conforms():
    """The reference backend passes the conformance suite."""
    await check_response_cache(InMemoryResponseCache)


async def test_the_sqlite_cache_conforms(tmp_path):
    """SQLiteResponseCache passes the conformance suite."""
    await check_response_cache(lambda: SQLiteResponseCache(tmp_path / "cache.db"))


async def test_the_redis_cache_conforms(redis_url):
    """RedisResponseCache passes the conformance suite against a real redis-server."""
    await check_response_cache(lambda: RedisResponseCache(redis_url))


def test_the_in_memory_cache_evicts_the_least_recently_used():
    """With max_entries=2, adding a third answer drops the one used longest ago."""
    import asyncio

    async def go() -> list[str | None]:
        cache = InMemoryResponseCache(max_entries=2)
        await cache.set("a", "1")
        await cache.set("b", "2")
        await cache.get("a")
        await cache.set("c", "3")
        return [await cache.get(k) for k in ("a", "b", "c")]

    assert asyncio.run(go()) == ["1", None, "3"]


BASE = ModelRequest(
    messages=(SystemMessage(content="Be brief."), UserMessage(content="Capital of France?")),
    temperature=0.0,
)


@pytest.mark.parametrize(
    "changed",
    [
        BASE.model_copy(update={"temperature": 0.7}),
        BASE.model_copy(update={"max_tokens": 5}),
        BASE.model_copy(update={"seed": 1}),
        BASE.model_copy(update={"stop": ("\n",)}),
        BASE.model_copy(update={"extra": {"top_p": 0.5}}),
        BASE.model_copy(update={"tools": (ToolDefinition(name="search"),)}),
        BASE.model_copy(update={"tool_choice": "none"}),
        BASE.model_copy(update={"response_format": ResponseFormat(type="json")}),
        BASE.model_copy(update={"messages": (SystemMessage(content="Be kind."), BASE.messages[1])}),
    ],
    ids=[
        "temperature",
        "max_tokens",
        "seed",
        "stop",
        "extra",
        "tools",
        "tool_choice",
        "format",
        "system",
    ],
)
def test_every_part_of_the_request_is_in_the_key(changed):
    """Changing any field of the request (sampling, tools, format, transcript) changes the key."""
    model = ScriptedModel(["x"], name="m")
    assert cache_key(model, changed) != cache_key(model, BASE)


def test_equal_requests_and_equal_models_share_a_key():
    """A request rebuilt field by field, on an equal model, has the same key; another model not."""
    again = ModelRequest(
        messages=(SystemMessage(content="Be brief."), UserMessage(content="Capital of France?")),
        temperature=0.0,
    )
    assert cache_key(ScriptedModel(["x"], name="m"), again) == cache_key(
        ScriptedModel(["y"], name="m"), BASE
    )
    assert cache_key(ScriptedModel(["x"], name="other"), BASE) != cache_key(
        ScriptedModel(["x"], name="m"), BASE
    )


def test_adapter_settings_that_change_answers_are_in_the_key():
    """Two AnthropicModels differing only in thinking budget, or a chain and its first model, differ."""
    plain = AnthropicModel("claude-sonnet-5-5", api_key="x")
    thinking = AnthropicModel("claude-sonnet-5-5", api_key="x", thinking=2048)
    assert cache_key(plain, BASE) != cache_key(thinking, BASE)
    assert cache_key(FallbackChain([plain]), BASE) != cache_key(plain, BASE)


@respx.mock
async def test_a_repeated_request_is_answered_from_the_cache_without_http(openai_client):
    """The second identical call through the real SDK makes no HTTP request and costs no tokens."""
    route = respx.post(OPENAI_URL).respond(200, json=openai_completion("Paris.", usage=(12, 2, 0)))
    model = CachedModel(OpenAIModel("gpt-4o-mini", client=openai_client), InMemoryResponseCache())
    first = await model.complete(BASE)
    second = await model.complete(BASE)
    assert route.call_count == 1
    assert first.text == second.text == "Paris."
    assert first.usage.input_tokens == 12 and second.usage.total_tokens == 0
    assert (model.hits, model.misses) == (1, 1)


@respx.mock
async def test_failed_calls_are_not_cached(openai_client):
    """A provider error is not stored: the next identical call goes to the provider again."""
    route = respx.post(OPENAI_URL).mock(
        side_effect=[
            httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}}),
            httpx.Response(200, json=openai_completion("ok")),
        ]
    )
    model = CachedModel(OpenAIModel("gpt-4o-mini", client=openai_client), InMemoryResponseCache())
    with pytest.raises(Exception, match="boom"):
        await model.complete(BASE)
    assert (await model.complete(BASE)).text == "ok"
    assert route.call_count == 2


@respx.mock
async def test_streams_are_cached_and_replayed(openai_client):
    """A streamed answer is stored when done; the same request then replays it with no HTTP call."""
    route = respx.post(OPENAI_URL).mock(
        return_value=httpx.Response(
            200,
            content=sse(openai_chunks(["Hel", "lo"])),
            headers={"content-type": "text/event-stream"},
        )
    )
    model = CachedModel(OpenAIModel("gpt-4o-mini", client=openai_client), InMemoryResponseCache())
    live = [e async for e in model.stream(BASE)]
    replay = [e async for e in model.stream(BASE)]
    assert route.call_count == 1
    assert "".join(e.text for e in replay if isinstance(e, TextDelta)) == "Hello"
    assert isinstance(replay[-1], StreamDone) and isinstance(live[-1], StreamDone)
    assert replay[-1].response.text == live[-1].response.text


calls: list[str] = []


@tool
def lookup(city: str) -> str:
    """Look up the weather."""
    calls.append(city)
    return f"{len(calls)} degrees in {city}"


async def test_a_cached_tool_call_turn_is_only_reused_for_the_same_transcript():
    """An agent's tool-call turn is replayed for an identical transcript, never for another."""
    calls.clear()
    scripted = ScriptedModel(
        [
            _tool_turn("Oslo"),
            "first answer",
            "second answer",
            _tool_turn("Rome"),
            "third answer",
        ],
        name="m",
    )
    cache = InMemoryResponseCache()
    model = CachedModel(scripted, cache)
    one = await agent(model, [lookup]).run({"query": "Weather in Oslo?"})
    # Same first turn (hit: same tool call, same id), but the tool answers differently now,
    # so the second turn's transcript differs and must reach the model.
    two = await agent(model, [lookup]).run({"query": "Weather in Oslo?"})
    three = await agent(model, [lookup]).run({"query": "Weather in Rome?"})
    assert (one.answer, two.answer, three.answer) == (
        "first answer",
        "second answer",
        "third answer",
    )
    assert scripted.calls == 5 and model.hits == 1
    assert one.messages[1].tool_calls == two.messages[1].tool_calls  # type: ignore[union-attr]
    assert calls == ["Oslo", "Oslo", "Rome"]


def _tool_turn(city: str):
    from cadence_llm import ModelResponse, ToolCall

    return ModelResponse(
        tool_calls=(ToolCall(id="call_1", name="lookup", arguments=json.dumps({"city": city})),),
        finish_reason="tool_calls",
    )


async def test_a_broken_cache_never_fails_a_call(caplog):
    """get/set raising is logged and treated as a miss: the model answers."""

    class Broken:
        async def get(self, key):
            raise ConnectionError("cache down")

        async def set(self, key, value, ttl=None):
            raise ConnectionError("cache down")

    model = CachedModel(ScriptedModel(["fine"], name="m"), Broken())
    assert (await model.complete("hi")).text == "fine"
    assert "failed on get" in caplog.text and "failed on set" in caplog.text


async def test_truncated_or_unknown_answers_follow_cache_if():
    """Only answers cache_if accepts are stored (by default not an 'unknown' finish)."""
    from cadence_llm import ModelResponse

    scripted = ScriptedModel([ModelResponse(text="odd", finish_reason="unknown"), "next"], name="m")
    model = CachedModel(scripted, InMemoryResponseCache())
    await model.complete("hi")
    assert (await model.complete("hi")).text == "next"


async def test_a_sqlite_cache_file_is_shared_between_instances(tmp_path):
    """Two caches on one file (as two processes would) see each other's answers."""
    path = tmp_path / "shared.db"
    writer, reader = SQLiteResponseCache(path), SQLiteResponseCache(path)
    try:
        first = CachedModel(ScriptedModel(["from writer"], name="m"), writer)
        await first.complete("hi")
        second = CachedModel(ScriptedModel(["never"], name="m"), reader)
        assert (await second.complete("hi")).text == "from writer"
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_a_redis_cache_is_shared_between_workers(redis_url):
    """Two RedisResponseCache clients (two workers) share answers through redis-server."""
    a, b = (
        RedisResponseCache(redis_url, prefix="t-shared"),
        RedisResponseCache(redis_url, prefix="t-shared"),
    )
    try:
        await CachedModel(ScriptedModel(["from a"], name="m"), a, ttl=60).complete("shared?")
        other = ScriptedModel(["never"], name="m")
        assert (await CachedModel(other, b).complete("shared?")).text == "from a"
        assert other.calls == 0
    finally:
        await a.aclose()
        await b.aclose()


def test_bad_arguments_are_refused():
    """A non-model, a non-cache or a non-positive ttl is refused when built."""
    with pytest.raises(TypeError, match="not a model"):
        CachedModel(object(), InMemoryResponseCache())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a response cache"):
        CachedModel(ScriptedModel(["x"]), object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        CachedModel(ScriptedModel(["x"]), InMemoryResponseCache(), ttl=0)
