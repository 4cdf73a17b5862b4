"""``RedisResponseCache``: answers in Redis, shared by every worker that points at it."""

from __future__ import annotations

import asyncio
from typing import Any

from .._optional import require

__all__ = ["RedisResponseCache"]


class RedisResponseCache:
    """Cached answers as Redis strings with a TTL (``SET ... PX``).

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
        self._client = client
        self._own_client = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisResponseCache({self.url!r}, prefix={self.prefix!r})"

    def _redis(self) -> Any:
        # asyncio connections belong to one event loop: a new loop gets a client of its own.
        loop = asyncio.get_running_loop()
        if self._client is None or (self._own_client and self._loop is not loop):
            aioredis = require("redis.asyncio", "redis")
            self._client = aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
            )
            self._loop = loop
        return self._client

    async def get(self, key: str) -> str | None:
        """The value under ``key``; Redis drops expired keys itself."""
        value = await self._redis().get(f"{self.prefix}:{key}")
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any, expiring after ``ttl`` seconds."""
        px = None if ttl is None else max(1, int(ttl * 1000))
        await self._redis().set(f"{self.prefix}:{key}", value, px=px)

    async def aclose(self) -> None:
        """Close the connection pool (only a client this cache created)."""
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None
