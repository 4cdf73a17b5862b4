"""Rate limiter overhead per call, against the same chain without a limiter, in one run.

A one-model ``FallbackChain`` over a ``FunctionModel`` that answers at once, called N times:
without a limiter (baseline), with a ``RateLimiter`` on the in-process store, and with a
``RateLimiter`` on a real redis-server on loopback (one Lua script per attempt, started here
and stopped at the end). Limits are high enough never to refuse, so what is measured is the
cost of asking. Reports wall µs per call and the added µs against the baseline.

Run: ``python benchmarks/bench_ratelimit.py [--calls 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cadence_llm import FallbackChain, FunctionModel, ModelResponse  # noqa: E402
from cadence_llm.ratelimit import RateLimit, RateLimiter, RedisLimitStore  # noqa: E402
from tests.checkpoint._servers import start_redis  # noqa: E402


async def answer(request: object) -> ModelResponse:
    return ModelResponse(text="ok")


async def per_call(chain: FallbackChain, calls: int) -> float:
    for _ in range(200):  # warm up
        await chain.complete("hi")
    started = time.perf_counter()
    for _ in range(calls):
        await chain.complete("hi")
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int) -> None:
    model = FunctionModel(answer, name="m")
    limit = {"m": RateLimit(requests=10**9, tokens=10**12)}
    url, stop = start_redis()
    try:
        store = RedisLimitStore(url)
        rows = [
            ("no limiter (baseline)", FallbackChain([model])),
            ("in-process limiter", FallbackChain([model], limiter=RateLimiter(limit))),
            ("Redis limiter", FallbackChain([model], limiter=RateLimiter(limit, store=store))),
        ]
        results = [(name, await per_call(chain, calls)) for name, chain in rows]
        await store.aclose()
    finally:
        stop()
    base = results[0][1]
    print(f"rate limiter overhead, {calls} calls each (wall time, same process)")
    print(f"{'':24} {'µs/call':>9} {'added µs':>9} {'ratio':>6}")
    for name, us in results:
        print(f"{name:24} {us:9.1f} {us - base:9.1f} {us / base:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    asyncio.run(main(parser.parse_args().calls))
