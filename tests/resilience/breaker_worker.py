"""A separate process sharing one Redis-backed circuit breaker (driven by test_redis_store).

Usage: ``python breaker_worker.py URL PREFIX THRESHOLD MODE``

- ``steps``: for each ``call`` line on stdin, call a failing dependency through the breaker
  and print ``failed`` (it was called and failed) or ``open`` (the breaker refused).
- ``race``: wait for a ``go`` line, then call (async) until the breaker refuses; print the
  number of times the dependency was actually called.
"""

from __future__ import annotations

import asyncio
import sys

from cadence.exceptions import CircuitOpenError
from cadence.resilience import CircuitBreaker, RedisBreakerStore


def main() -> None:
    url, prefix, threshold, mode = sys.argv[1:5]
    store = RedisBreakerStore(url, prefix=prefix)
    breaker = CircuitBreaker(
        "shared",
        failure_threshold=int(threshold),
        recovery_timeout=60.0,
        store=store,
        on_store_error="reject",
    )
    calls = 0

    def dependency() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    async def dependency_async() -> None:
        dependency()

    print("ready", flush=True)
    if mode == "steps":
        for line in sys.stdin:
            if line.strip() != "call":
                continue
            try:
                breaker.call(dependency)
            except CircuitOpenError:
                print("open", flush=True)
            except ConnectionError:
                print("failed", flush=True)
        store.close()
        return

    async def race() -> None:
        while True:
            try:
                await breaker.call_async(dependency_async)
            except CircuitOpenError:
                break
            except ConnectionError:
                pass
        await store.aclose()

    sys.stdin.readline()
    asyncio.run(race())
    print(calls, flush=True)


if __name__ == "__main__":
    main()
