"""One worker process of the shared-limit test: try N requests, print how many were admitted."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from cadence_llm.ratelimit import RateLimit, RateLimiter, RateLimitReachedError, RedisLimitStore


async def main(url: str, attempts: int, start_at: float) -> None:
    store = RedisLimitStore(url)
    limiter = RateLimiter({"gpt": RateLimit(requests=60, per=60.0)}, store=store)
    admitted: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))  # all workers start together
    for _ in range(attempts):
        try:
            await limiter.acquire("gpt")
            admitted.append(time.time())
        except RateLimitReachedError:
            pass
    await store.aclose()
    print(json.dumps(admitted))


asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
