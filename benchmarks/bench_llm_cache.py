"""Response-cache benchmark: a cache hit against a direct call, measured side by side.

The direct call is ``OpenAIModel.complete`` through the real ``openai`` SDK to a zero-latency
transport-level fake (``MockTransport``): the request is really serialized, sent through the
SDK's HTTP stack and the answer parsed, only the socket and the provider's own latency are
missing — so it is the *floor* of a real call, and the ratios below are the least a hit saves.
A real provider adds network and generation time (hundreds of milliseconds), all of it saved.

Measured per call (wall time, median and p99 over ``--calls`` calls, after a warm-up):

- direct call (the baseline),
- ``CachedModel`` hit on ``InMemoryResponseCache``, ``SQLiteResponseCache`` (a file in a temp
  dir, WAL) and ``RedisResponseCache`` (a redis-server started here, if installed),
- a miss (lookup + call + store) in memory and on SQLite, against a direct call with a new
  request each time. SQLite runs on a worker thread: under load, waking it right after the
  SDK's call can cost milliseconds of scheduling (see the docs' measured table).

The request is a realistic agent turn: a system prompt, 6 messages and 3 tool schemas, so the
key (SHA-256 of the normalized request) is not measured on a toy.

Run: ``python benchmarks/bench_llm_cache.py [--calls 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "checkpoint"))

import httpx2  # noqa: E402  (the transport the openai SDK uses)

from cadence_llm import (  # noqa: E402
    AssistantMessage,
    ModelRequest,
    OpenAIModel,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from cadence_llm.cache import (  # noqa: E402
    CachedModel,
    InMemoryResponseCache,
    RedisResponseCache,
    SQLiteResponseCache,
    cache_key,
)

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "It is sunny in Oslo, 21 degrees."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 420, "completion_tokens": 12, "total_tokens": 432},
}


def request(n: int = 0) -> ModelRequest:
    """An agent's second turn; ``n`` varies the question so misses are real misses."""
    tools = tuple(
        ToolDefinition(
            name=name,
            description=f"{name} tool",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                "required": ["city"],
            },
        )
        for name in ("weather", "forecast", "air_quality")
    )
    call = ToolCall(id="call_1", name="weather", arguments='{"city": "Oslo"}')
    return ModelRequest(
        messages=(
            SystemMessage(content="You are a concise weather assistant. " * 10),
            UserMessage(content=f"What is the weather in Oslo? ({n})"),
            AssistantMessage(tool_calls=(call,)),
            ToolMessage(tool_call_id="call_1", content='{"temp": 21, "sky": "sunny"}'),
            UserMessage(content="And tomorrow?"),
            AssistantMessage(content="Tomorrow looks similar."),
        ),
        tools=tools,
        temperature=0.0,
        max_tokens=200,
    )


def direct_model() -> OpenAIModel:
    from openai import AsyncOpenAI

    def handler(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=ANSWER)

    client = AsyncOpenAI(
        api_key="x", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    )
    return OpenAIModel("gpt-4o-mini", client=client)


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99) - 1] * 1e6


async def measure(
    variants: dict[str, Callable[[int], Awaitable[Any]]], calls: int, rounds: int = 10
) -> dict[str, list[float]]:
    """Time every variant in interleaved rounds, so a change in machine load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    counter = 0
    for fn in variants.values():  # warm-up
        for _ in range(50):
            counter += 1
            await fn(counter)
    per_round = max(1, calls // rounds)
    for _ in range(rounds):
        for name, fn in variants.items():
            for _ in range(per_round):
                counter += 1
                t0 = time.perf_counter()
                await fn(counter)
                samples[name].append(time.perf_counter() - t0)
    return samples


async def main(calls: int) -> None:
    model = direct_model()
    fixed = request()
    memory = CachedModel(model, InMemoryResponseCache())
    await memory.complete(fixed)
    tmp = tempfile.TemporaryDirectory()
    sqlite_cache = SQLiteResponseCache(Path(tmp.name) / "cache.db")
    on_sqlite = CachedModel(model, sqlite_cache)
    await on_sqlite.complete(fixed)
    variants: dict[str, Callable[[int], Awaitable[Any]]] = {
        "direct call (SDK, zero-latency fake)": lambda _i: model.complete(fixed),
        "direct call, a new request each time": lambda i: model.complete(request(i)),
        "cache key only": lambda _i: _key(model, fixed),
        "hit: in-memory": lambda _i: memory.complete(fixed),
        "miss + store: in-memory (new requests)": lambda i: memory.complete(request(i)),
        "hit: SQLite": lambda _i: on_sqlite.complete(fixed),
        "miss + store: SQLite (new requests)": lambda i: on_sqlite.complete(request(i)),
    }
    stop = redis_cache = None
    try:
        from _servers import start_redis

        url, stop = start_redis()
    except RuntimeError as exc:
        print(f"(redis: skipped, {exc})")
    if stop is not None:
        redis_cache = RedisResponseCache(url)
        on_redis = CachedModel(model, redis_cache)
        await on_redis.complete(fixed)
        variants["hit: Redis (loopback)"] = lambda _i: on_redis.complete(fixed)
    try:
        results = await measure(variants, calls)
    finally:
        await sqlite_cache.aclose()
        tmp.cleanup()
        if redis_cache is not None:
            await redis_cache.aclose()
        if stop is not None:
            stop()
    base = statistics.median(results["direct call (SDK, zero-latency fake)"])
    print(f"{calls} calls each in 10 interleaved rounds; load average {os.getloadavg()[0]:.1f}")
    print(f"on {os.cpu_count()} cores")
    print(f"{'measure':40} {'median µs':>10} {'p99 µs':>10} {'÷ direct':>9}")
    for name, taken in results.items():
        median, p99 = summary(taken)
        print(f"{name:40} {median:10.1f} {p99:10.1f} {median / (base * 1e6):9.2f}")
    print(json.dumps({k: round(summary(v)[0], 1) for k, v in results.items()}))


async def _key(model: OpenAIModel, req: ModelRequest) -> str:
    return cache_key(model, req)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
