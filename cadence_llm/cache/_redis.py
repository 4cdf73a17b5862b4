"""``RedisResponseCache``: answers in Redis, shared by every worker that points at it."""

from __future__ import annotations

from typing import Any

from cadence.checkpoint.redis import LoopClient  # imports no redis until used

from .._optional import require

__all__ = ["RedisResponseCache"]


class RedisResponseCache:
    """Cached answers as Redis strings with a TTL (``SET ... PX``).

    asyncio connections belong to one event loop, so each loop using the cache (successive
    ``asyncio.run()`` / ``run_sync()`` calls, threads running loops of their own) gets a client
    of its own, closed as that loop shuts down, rather than one client handed from loop to
    loop and left for the garbage collector to find unclosed.

    Args:
        url: A Redis URL (``redis://localhost:6379/0``).
        prefix: Key prefix, to share a database with other data.
        client: An existing ``redis.asyncio.Redis`` to use instead of connecting to ``url``
            (its own timeouts apply).
        timeout: Seconds to wait for a connection or an answer from Redis before giving up
            (the call then goes to the model): an unreachable or stalled Redis must not hold
            up every model call, and redis-py waits without limit by default.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        prefix: str = "cadence:llm:response",
        client: Any = None,
        timeout: float = 1.0,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        # The caller's client on every loop, else one of ours per loop (closed with its loop).
        self._clients = LoopClient(url, client, factory=self._connect)

    def __repr__(self) -> str:
        return f"RedisResponseCache({self.url!r}, prefix={self.prefix!r})"

    def _connect(self, url: str) -> Any:
        aioredis = require("redis.asyncio", "redis")
        return aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
        )

    async def _redis(self) -> Any:
        return await self._clients.get()

    async def get(self, key: str) -> str | None:
        """The value under ``key``; Redis drops expired keys itself."""
        value = await (await self._redis()).get(f"{self.prefix}:{key}")
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any, expiring after ``ttl`` seconds."""
        px = None if ttl is None else max(1, int(ttl * 1000))
        await (await self._redis()).set(f"{self.prefix}:{key}", value, px=px)

    async def aclose(self) -> None:
        """Close this loop's connection pool now (only a client this cache created).

        Other loops' clients close as their loops shut down; a later call opens a new one.
        """
        if self._clients.owned:
            await self._clients.aclose()
