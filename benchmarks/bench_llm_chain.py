"""Fallback-chain benchmarks over HTTP fakes, each reported against a baseline from the same run.

1. Fault injection: a 3-model chain (OpenAI SDK, Anthropic SDK, plain-HTTP OpenAI-compatible),
   each provider an HTTP fake that fails 30% of requests with a realistic mix (429 with
   Retry-After, 500, 503, Anthropic 529, 408, malformed JSON) and otherwise answers after 1 ms.
   1,000 requests: success rate, and p50/p99 *added* latency = the chain's wall time minus the
   successful attempt's own time (failed tries, backoff and Retry-After waits, chain overhead).
2. Overhead: a succeeding call through ``FallbackChain([OpenAIModel])`` and through
   ``OpenAIModel`` alone, against the raw SDK call ``client.chat.completions.create``, all over a
   zero-latency HTTP fake: CPU µs per call (process time, so a busy machine does not blur it)
   and the ratio.

The fakes are transport-level (``MockTransport``): requests are really serialized, sent through
the SDKs' HTTP stacks and parsed; only the socket is missing, so nothing leaves the process.

Run: ``python benchmarks/bench_llm_chain.py [--requests 1000] [--calls 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402  (the transport the openai/anthropic SDKs use)

from cadence.resilience import Retry  # noqa: E402
from cadence_llm import (  # noqa: E402
    AnthropicModel,
    FallbackChain,
    ModelRequest,
    OpenAICompatModel,
    OpenAIModel,
)

OPENAI_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}
ANTHROPIC_OK = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def _failure(rng: random.Random, anthropic: bool) -> tuple[int, Any, dict[str, str]]:
    kind = rng.choice(["429", "500", "503", "overloaded", "408", "malformed"])
    if kind == "429":
        return (
            429,
            {"error": {"message": "rate limited", "type": "rate_limit_error"}},
            {"retry-after": "0.01"},
        )
    if kind == "overloaded":
        if anthropic:
            return (
                529,
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                {},
            )
        return 503, {"error": {"message": "overloaded"}}, {}
    if kind == "malformed":
        return 200, b"{not json", {}
    return int(kind), {"error": {"message": f"HTTP {kind}"}}, {}


class FlakyProvider:
    """An HTTP fake: fails ``failure_rate`` of requests with mixed errors, else answers after ``latency``."""

    def __init__(
        self,
        ok_body: dict[str, Any],
        *,
        failure_rate: float,
        latency: float,
        seed: int,
        anthropic: bool = False,
    ) -> None:
        self.ok = json.dumps(ok_body).encode()
        self.failure_rate = failure_rate
        self.latency = latency
        self.rng = random.Random(seed)
        self.anthropic = anthropic
        self.requests = 0

    async def __call__(self, request: Any) -> Any:
        self.requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.rng.random() < self.failure_rate:
            status, body, headers = _failure(self.rng, self.anthropic)
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
        else:
            status, content, headers = 200, self.ok, {}
        return httpx2.Response(
            status, content=content, headers={"content-type": "application/json", **headers}
        )


def build(failure_rate: float, latency: float) -> tuple[list[Any], list[FlakyProvider]]:
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

    fakes = [
        FlakyProvider(OPENAI_OK, failure_rate=failure_rate, latency=latency, seed=1),
        FlakyProvider(
            ANTHROPIC_OK, failure_rate=failure_rate, latency=latency, seed=2, anthropic=True
        ),
        FlakyProvider(OPENAI_OK, failure_rate=failure_rate, latency=latency, seed=3),
    ]
    oa = AsyncOpenAI(
        api_key="x", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fakes[0]))
    )
    an = AsyncAnthropic(
        api_key="x", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fakes[1]))
    )
    compat_client = httpx2.AsyncClient(transport=httpx2.MockTransport(fakes[2]))
    models = [
        OpenAIModel("gpt-4o-mini", client=oa),
        AnthropicModel("claude-sonnet-5-5", client=an),
        OpenAICompatModel("local", base_url="http://fake.invalid/v1", client=compat_client),
    ]
    return models, fakes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fault_injection(requests: int) -> dict[str, Any]:
    models, fakes = build(failure_rate=0.30, latency=0.001)
    chain = FallbackChain(
        models, retry=Retry(2, delay=0.005, backoff="exponential", max_delay=0.05)
    )
    request = ModelRequest.of("hello", max_tokens=5)
    ok = 0
    added: list[float] = []
    direct: list[float] = []
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            result = await chain.run(request)
        except Exception:
            continue
        total = time.perf_counter() - t0
        ok += 1
        success = result.attempts[-1]
        direct.append(success.duration)
        added.append(max(0.0, total - success.duration))
    return {
        "requests": requests,
        "success_rate": ok / requests,
        "http_requests": sum(f.requests for f in fakes),
        "p50_added_ms": pct(added, 0.50) * 1e3,
        "p99_added_ms": pct(added, 0.99) * 1e3,
        "p50_call_ms": pct(direct, 0.50) * 1e3,
    }


async def overhead(calls: int) -> dict[str, float]:
    models, _ = build(failure_rate=0.0, latency=0.0)
    model = models[0]
    client = model.client
    chain = FallbackChain([model], retry=2)
    request = ModelRequest.of("hello", max_tokens=5)
    payload = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}],
        "max_completion_tokens": 5,
    }

    async def raw() -> None:
        await client.chat.completions.create(**payload)

    async def adapter() -> None:
        await model.complete(request)

    async def chained() -> None:
        await chain.complete(request)

    results: dict[str, list[float]] = {"raw": [], "adapter": [], "chain": []}
    fns = {"raw": raw, "adapter": adapter, "chain": chained}
    for fn in fns.values():  # warm-up
        for _ in range(50):
            await fn()
    rounds = 20
    for _ in range(rounds):  # interleaved rounds so load changes hit all three alike
        for name, fn in fns.items():
            # CPU time of this (single-threaded) process: other processes on a busy machine
            # inflate wall time but not the work a call costs.
            t0 = time.process_time()
            for _ in range(calls // rounds):
                await fn()
            results[name].append((time.process_time() - t0) / (calls // rounds))
    best = {k: min(v) * 1e6 for k, v in results.items()}
    return {
        "raw_us": best["raw"],
        "adapter_us": best["adapter"],
        "chain_us": best["chain"],
        "adapter_ratio": best["adapter"] / best["raw"],
        "chain_ratio": best["chain"] / best["raw"],
        "chain_minus_raw_us": best["chain"] - best["raw"],
        "chain_minus_adapter_us": best["chain"] - best["adapter"],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()
    fi = await fault_injection(args.requests)
    ov = await overhead(args.calls)
    if args.json:
        print(json.dumps({"fault_injection": fi, "overhead": ov}, indent=2))
        return
    print("Fault injection: 3-model chain, each provider failing 30% (mixed errors), retry=2/model")
    print(f"  requests            {fi['requests']}")
    print(f"  success rate        {fi['success_rate']:.1%}")
    print(f"  HTTP requests sent  {fi['http_requests']}")
    print(
        f"  added latency p50   {fi['p50_added_ms']:.2f} ms   (successful call itself: p50 {fi['p50_call_ms']:.2f} ms)"
    )
    print(f"  added latency p99   {fi['p99_added_ms']:.2f} ms")
    print(
        "Overhead per succeeding call over a zero-latency HTTP fake (CPU time, best of 20 rounds)"
    )
    print(f"  raw SDK call        {ov['raw_us']:.0f} µs   1.00x")
    print(f"  OpenAIModel         {ov['adapter_us']:.0f} µs   {ov['adapter_ratio']:.2f}x")
    print(
        f"  FallbackChain       {ov['chain_us']:.0f} µs   {ov['chain_ratio']:.2f}x   "
        f"({ov['chain_minus_raw_us']:+.0f} µs vs raw SDK, "
        f"{ov['chain_minus_adapter_us']:+.0f} µs vs OpenAIModel)"
    )


if __name__ == "__main__":
    asyncio.run(main())
