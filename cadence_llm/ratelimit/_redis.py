"""A rate-limit store in Redis, so every worker process shares one window per model.

Each operation is one Lua script, which Redis runs atomically: the sliding log of
``_store.py`` as a sorted set (entry ids scored by time) plus a hash of each entry's tokens and
the window's total. Time comes from the Redis server (``TIME``), the one clock all processes
agree on. The ``redis`` package is optional (``pip install 'cadence-orchestration[redis]'``).
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import Any

from ._store import RateLimit

__all__ = ["RedisLimitStore"]

_PRELUDE = """
local log, tok, meta = KEYS[1], KEYS[2], KEYS[3]
local per = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local total = tonumber(redis.call('HGET', meta, 'total') or '0')
local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - per)
for _, id in ipairs(expired) do
  total = total - tonumber(redis.call('HGET', tok, id) or '0')
  redis.call('HDEL', tok, id)
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', log, '-inf', now - per) end
-- An empty log holds no tokens: the log may have expired before the meta hash (a block
-- extends the hash's TTL), and a stale total would disable the token limit for good.
if redis.call('ZCARD', log) == 0 then total = 0 end
local ttl = math.ceil(per * 2000) + 1000
local function save()
  redis.call('HSET', meta, 'total', total)
  redis.call('PEXPIRE', log, ttl); redis.call('PEXPIRE', tok, ttl); redis.call('PEXPIRE', meta, ttl)
end
"""

_ACQUIRE = (
    _PRELUDE
    + """
local max_requests, max_tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
local need, id = tonumber(ARGV[4]), ARGV[5]
local wait = math.max(0, tonumber(redis.call('HGET', meta, 'blocked') or '0') - now)
local n = redis.call('ZCARD', log)
if wait == 0 and max_requests > 0 and n + 1 > max_requests then
  local e = redis.call('ZRANGE', log, n - max_requests, n - max_requests, 'WITHSCORES')
  wait = tonumber(e[2]) + per - now
end
if wait == 0 and max_tokens > 0 and total + need > max_tokens then
  local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tonumber(redis.call('HGET', tok, entries[i]) or '0')
    if total - freed + need <= max_tokens then wait = tonumber(entries[i + 1]) + per - now; break end
  end
end
if wait <= 0 then
  redis.call('ZADD', log, now, id); redis.call('HSET', tok, id, need)
  total = total + need; wait = 0
end
save()
return string.format('%.6f', wait)
"""
)

_SETTLE = (
    _PRELUDE
    + """
local id, used = ARGV[2], tonumber(ARGV[3])
local old = redis.call('HGET', tok, id)
if old then total = total + used - tonumber(old); redis.call('HSET', tok, id, used) end
save()
return 1
"""
)

_BLOCK = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'blocked') or '0')
if until_ > current then redis.call('HSET', KEYS[1], 'blocked', string.format('%.6f', until_)) end
local ttl = math.ceil(tonumber(ARGV[2]) * 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

_SHA = {src: hashlib.sha1(src.encode()).hexdigest() for src in (_ACQUIRE, _SETTLE, _BLOCK)}


class RedisLimitStore:
    """Rate-limit windows in Redis, shared by every process using the same URL and prefix.

    Args:
        url: A Redis URL such as ``redis://127.0.0.1:6379/0`` (one asyncio client per loop).
        client: A ready ``redis.asyncio.Redis`` client instead of ``url``.
        prefix: Prefix of the keys holding each window.
        socket_timeout: Socket and connect timeout of clients created from ``url``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "cadence:ratelimit:",
        socket_timeout: float = 1.0,
    ) -> None:
        if url is None and client is None:
            raise ValueError("RedisLimitStore needs url='redis://host:port/db' or client=")
        try:
            import redis.asyncio
            import redis.exceptions
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "RedisLimitStore needs the redis client: pip install 'cadence-orchestration[redis]'"
            ) from exc
        self._redis = redis
        self.url = url
        self.prefix = prefix
        self._socket_timeout = socket_timeout
        self._client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"RedisLimitStore(url={self.url!r}, prefix={self.prefix!r})"

    def _async(self) -> Any:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()  # asyncio clients belong to the loop that made them
        client = self._clients.get(loop)
        if client is None:
            assert self.url is not None  # __init__ requires url or client
            client = self._redis.asyncio.Redis.from_url(
                self.url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
            )
            self._clients[loop] = client
        return client

    async def _eval(self, source: str, keys: list[str], args: list[Any]) -> Any:
        client = self._async()
        try:
            return await client.evalsha(_SHA[source], len(keys), *keys, *args)
        except self._redis.exceptions.NoScriptError:
            return await client.eval(source, len(keys), *keys, *args)

    def _keys(self, key: str) -> list[str]:
        base = self.prefix + key
        return [base + ":log", base + ":tok", base + ":meta"]

    async def acquire(self, key: str, limit: RateLimit, tokens: int, ident: str) -> float:
        """Admit or say how long to wait, atomically for every process."""
        args = [repr(float(limit.per)), limit.requests or 0, limit.tokens or 0, tokens, ident]
        return float(await self._eval(_ACQUIRE, self._keys(key), args))

    async def settle(self, key: str, limit: RateLimit, ident: str, tokens: int) -> None:
        """Correct an admitted request's tokens."""
        await self._eval(_SETTLE, self._keys(key), [repr(float(limit.per)), ident, tokens])

    async def block(self, key: str, seconds: float) -> None:
        """Refuse requests under ``key`` for ``seconds``, in every process."""
        await self._eval(
            _BLOCK, self._keys(key)[2:], [repr(float(seconds)), max(seconds, 1.0) + 120]
        )

    async def aclose(self) -> None:
        """Close the client this event loop uses (created from ``url``)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
