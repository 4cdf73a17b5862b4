"""A breaker store in Redis, so every process of a service shares one circuit.

Each operation is one Lua script, which Redis runs atomically: the state machine of
``cadence.resilience._store`` is re-implemented in Lua so that a read-modify-write never
interleaves with another process's. Time comes from the Redis server (``TIME``), the one clock
all processes agree on. The ``redis`` package is optional (``pip install
'cadence-orchestration[redis]'``) and imported only when this store is created.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import weakref
from typing import Any

from cadence.exceptions import CadenceDefinitionError
from cadence.resilience._store import (
    Admission,
    BreakerConfig,
    BreakerSnapshot,
    CircuitState,
    Outcome,
)
from cadence.resilience._util import check_positive

__all__ = ["RedisBreakerStore"]

_PRELUDE = """
local key = KEYS[1]
local threshold = tonumber(ARGV[1])
local recovery = tonumber(ARGV[2])
local half_max = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local probe_timeout = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', key, 'state', 'gen', 'failures', 'opened_at', 'probes',
                     'successes', 'lease_until')
local state = h[1] or 'closed'
local gen = tonumber(h[2] or '0')
local failures = tonumber(h[3] or '0')
local opened_at = tonumber(h[4] or '0')
local probes = tonumber(h[5] or '0')
local successes = tonumber(h[6] or '0')
local lease_until = tonumber(h[7] or '0')
local dirty = false
local function move(to)
  state = to; gen = gen + 1; probes = 0; successes = 0; dirty = true
end
local function open_now()
  opened_at = now; move('open')
end
if state == 'open' and now - opened_at >= recovery then
  move('half_open')
elseif state == 'half_open' and probes > successes and now >= lease_until then
  open_now()
end
local function save()
  if dirty then
    redis.call('HSET', key, 'state', state, 'gen', tostring(gen), 'failures', tostring(failures),
               'opened_at', string.format('%.6f', opened_at), 'probes', tostring(probes),
               'successes', tostring(successes), 'lease_until', string.format('%.6f', lease_until))
    -- Never expire a circuit before it could recover: an open circuit outlives the TTL.
    redis.call('PEXPIRE', key, math.max(ttl, math.ceil((recovery + probe_timeout) * 1000)))
  end
end
local function retry_after()
  if state == 'open' then return math.max(0, opened_at + recovery - now) end
  if state == 'half_open' then return math.max(0, math.min(lease_until - now, recovery)) end
  return 0
end
"""

_ACQUIRE = (
    _PRELUDE
    + """
local admitted, probe = 0, 0
if state == 'closed' then
  admitted = 1
elseif state == 'half_open' and probes < half_max then
  probes = probes + 1; lease_until = now + probe_timeout; admitted = 1; probe = 1; dirty = true
end
save()
return {admitted, gen, probe, string.format('%.6f', admitted == 1 and 0 or retry_after())}
"""
)

_RECORD = (
    _PRELUDE
    + """
local tgen = tonumber(ARGV[6])
local tprobe = ARGV[7] == '1'
local outcome = ARGV[8]
if tgen == gen then
  if state == 'closed' and not tprobe then
    if outcome == 's' then
      if failures ~= 0 then failures = 0; dirty = true end
    elseif outcome == 'f' then
      failures = failures + 1; dirty = true
      if failures >= threshold then open_now() end
    end
  elseif state == 'half_open' and tprobe then
    if outcome == 's' then
      successes = successes + 1; dirty = true
      if successes >= half_max then failures = 0; move('closed') end
    elseif outcome == 'f' then
      open_now()
    else
      probes = probes - 1; dirty = true
    end
  end
end
save()
return state
"""
)

_SNAPSHOT = (
    _PRELUDE
    + """
local in_flight = 0
if state == 'half_open' then in_flight = probes - successes end
local wait = 0
if state == 'open' then wait = retry_after() end
return {state, failures, in_flight, string.format('%.6f', wait), gen}
"""
)


_SHA = {src: hashlib.sha1(src.encode()).hexdigest() for src in (_ACQUIRE, _RECORD, _SNAPSHOT)}


# The connection settings a sync twin of an asyncio client copies (with every ssl_* option):
# where to connect and how to authenticate, never the asyncio client's own helper objects.
_CONNECTION_SETTINGS = frozenset(
    {
        "host",
        "port",
        "path",
        "db",
        "username",
        "password",
        "credential_provider",
        "client_name",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "health_check_interval",
        "protocol",
        "encoding",
        "encoding_errors",
        "decode_responses",
    }
)


def _init_parameters(cls: type) -> set[str]:
    """The named parameters of ``cls.__init__`` and of its bases' (they pass ``**kwargs`` up)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "RedisBreakerStore needs the redis client: pip install 'cadence-orchestration[redis]'"
        ) from exc
    return redis


class RedisBreakerStore:
    """Breaker state in Redis, shared by every process using the same key prefix.

    Pass a URL (clients are created lazily: one sync client, and one asyncio client per event
    loop) or ready-made clients. Give the clients short socket timeouts: while Redis is
    unreachable the breaker applies its ``on_store_error`` policy after each failed call.

    Args:
        url: A Redis URL such as ``redis://127.0.0.1:6379/0``.
        client: A ``redis.Redis`` client for sync callers (instead of ``url``). Given alone,
            async callers use it too, from a worker thread.
        async_client: A ``redis.asyncio.Redis`` client for async callers (instead of ``url``).
            Given alone, sync callers use a sync client the store opens with its connection
            settings (closed by :meth:`close`).
        prefix: Prefix of the hash key holding each breaker's state.
        ttl: Seconds an idle breaker's key lives; an expired key reads as a closed circuit.
            A key is always kept at least ``recovery_timeout + probe_timeout`` after a
            write, so an open circuit never expires back to closed early.
        socket_timeout: Socket and connect timeout of clients created from ``url``.
        max_connections: Connections per client created from ``url``. Callers beyond it
            wait for a free connection (a herd of callers queues instead of failing).
        pool_timeout: How long a caller waits for a free connection before the store counts
            as unreachable.
    """

    nonblocking = False

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        async_client: Any = None,
        prefix: str = "cadence:breaker:",
        ttl: float = 86_400.0,
        socket_timeout: float = 1.0,
        max_connections: int = 50,
        pool_timeout: float = 5.0,
    ) -> None:
        if url is None and client is None and async_client is None:
            raise CadenceDefinitionError(
                "RedisBreakerStore needs url='redis://host:port/db' or client=/async_client="
            )
        if url is not None and not isinstance(url, str):
            raise CadenceDefinitionError(
                f"RedisBreakerStore url must be a string such as 'redis://127.0.0.1:6379/0', "
                f"got {url!r}"
            )
        if not isinstance(prefix, str):
            raise CadenceDefinitionError(
                f"RedisBreakerStore prefix must be a string, got {prefix!r}"
            )
        # A TTL that rounds to 0 ms would make every PEXPIRE delete the key: a breaker that
        # never opens, silently.
        ttl = check_positive("RedisBreakerStore ttl", ttl, "write e.g. ttl=86400.0 (one day)")
        socket_timeout = check_positive(
            "RedisBreakerStore socket_timeout", socket_timeout, "write e.g. socket_timeout=1.0"
        )
        pool_timeout = check_positive(
            "RedisBreakerStore pool_timeout", pool_timeout, "write e.g. pool_timeout=5.0"
        )
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise CadenceDefinitionError(
                f"RedisBreakerStore max_connections must be an int >= 1, got {max_connections!r}"
            )
        self._redis = _import_redis()
        self.url = url
        self.prefix = prefix
        self._ttl_ms = max(1, math.ceil(ttl * 1000))
        self._socket_timeout = socket_timeout
        self._max_connections = max_connections
        self._pool_timeout = pool_timeout
        self._client = client
        self._own_client = False  # whether close() closes self._client
        self._async_client = async_client
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"RedisBreakerStore(url={self.url!r}, prefix={self.prefix!r})"

    # -- clients -----------------------------------------------------------------------------

    def _sync(self) -> Any:
        if self._client is None:
            if self.url is None:
                # Given only async_client: a sync caller (a sync function behind the breaker)
                # gets a sync client with the same connection settings. Raising here instead
                # would only be logged by the breaker as a store outage: no breaker at all.
                self._client = self._sync_twin(self._async_client)
                self._own_client = True
                return self._client
            pool = self._redis.BlockingConnectionPool.from_url(self.url, **self._pool_options())
            self._client = self._redis.Redis(connection_pool=pool)
            self._own_client = True
        return self._client

    def _sync_twin(self, async_client: Any) -> Any:
        """A ``redis.Redis`` connecting where ``async_client`` does, with its settings."""
        pool = getattr(async_client, "connection_pool", None)
        settings = getattr(pool, "connection_kwargs", None)
        aio = self._redis.asyncio.connection
        sync_class = {
            aio.Connection: self._redis.Connection,
            aio.SSLConnection: self._redis.SSLConnection,
            aio.UnixDomainSocketConnection: self._redis.UnixDomainSocketConnection,
        }.get(getattr(pool, "connection_class", None))
        if sync_class is None or not isinstance(settings, dict):
            raise RuntimeError(
                "RedisBreakerStore was given only async_client, and a sync caller cannot use "
                f"it: cannot tell where {async_client!r} connects (not a plain TCP, TLS or unix "
                "socket client); pass client=redis.Redis(...) as well"
            )
        accepted = _init_parameters(sync_class)
        options = {
            name: value
            for name, value in settings.items()
            if name in accepted and (name in _CONNECTION_SETTINGS or name.startswith("ssl_"))
        }
        provider = settings.get("credential_provider")
        if provider is not None and not callable(getattr(provider, "get_credentials", None)):
            options.pop("credential_provider", None)
        twin_pool = self._redis.BlockingConnectionPool(
            connection_class=sync_class,
            max_connections=self._max_connections,
            timeout=self._pool_timeout,
            **options,
        )
        return self._redis.Redis(connection_pool=twin_pool)

    def _async(self) -> Any:
        if self._async_client is not None:
            return self._async_client
        assert self.url is not None  # without async_client or url, _eval_async uses client
        # asyncio clients are bound to the loop that created their connections.
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            # Clients of loops closed without aclose() reference their loop and would keep it
            # alive (a WeakKeyDictionary value holding its key): drop them.
            for old in [old for old in self._async_clients if old.is_closed()]:
                del self._async_clients[old]
            pool = self._redis.asyncio.BlockingConnectionPool.from_url(
                self.url, **self._pool_options()
            )
            client = self._redis.asyncio.Redis(connection_pool=pool)
            self._async_clients[loop] = client
        return client

    def _pool_options(self) -> dict[str, Any]:
        return {
            "max_connections": self._max_connections,
            "timeout": self._pool_timeout,
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
        }

    def _eval(self, source: str, key: str, args: list[Any]) -> Any:
        client = self._sync()
        try:
            return client.evalsha(_SHA[source], 1, self.prefix + key, *args)
        except self._redis.exceptions.NoScriptError:
            return client.eval(source, 1, self.prefix + key, *args)

    async def _eval_async(self, source: str, key: str, args: list[Any]) -> Any:
        if self._async_client is None and self.url is None:
            # Given only client: async callers use it from a worker thread (its pool is
            # thread-safe) rather than finding no asyncio client and failing open.
            return await asyncio.to_thread(self._eval, source, key, args)
        client = self._async()
        try:
            return await client.evalsha(_SHA[source], 1, self.prefix + key, *args)
        except self._redis.exceptions.NoScriptError:
            return await client.eval(source, 1, self.prefix + key, *args)

    def close(self) -> None:
        """Close the sync client this store created (from ``url``, or for sync callers next to
        an ``async_client``)."""
        if self._client is not None and self._own_client:
            self._client.close()
            self._client.connection_pool.disconnect()  # our own pool: close its sockets
            self._client = None
            self._own_client = False

    async def aclose(self) -> None:
        """Close the asyncio client this event loop uses (created from ``url``)."""
        if self.url is None:
            return
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose(close_connection_pool=True)

    # -- encoding ----------------------------------------------------------------------------

    def _args(self, config: BreakerConfig) -> list[Any]:
        return [
            config.failure_threshold,
            repr(float(config.recovery_timeout)),
            config.half_open_max_calls,
            self._ttl_ms,
            repr(float(config.probe_timeout)),
        ]

    @staticmethod
    def _admission(reply: Any) -> Admission:
        admitted, generation, probe, retry_after = reply
        return Admission(bool(int(admitted)), int(generation), bool(int(probe)), float(retry_after))

    @staticmethod
    def _snapshot(reply: Any) -> BreakerSnapshot:
        state, failures, in_flight, retry_after, generation = reply
        text = state.decode() if isinstance(state, bytes) else str(state)
        return BreakerSnapshot(
            CircuitState(text), int(failures), int(in_flight), float(retry_after), int(generation)
        )

    # -- the store protocol, sync --------------------------------------------------------------

    def acquire(self, key: str, config: BreakerConfig) -> Admission:
        """Decide atomically whether a call may proceed."""
        return self._admission(self._eval(_ACQUIRE, key, self._args(config)))

    def record(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Report atomically how an admitted call ended."""
        args = [*self._args(config), generation, "1" if probe else "0", outcome.value]
        self._eval(_RECORD, key, args)

    def snapshot(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Read the shared state."""
        return self._snapshot(self._eval(_SNAPSHOT, key, self._args(config)))

    def reset(self, key: str) -> None:
        """Delete the shared state: every process sees a closed circuit."""
        self._sync().delete(self.prefix + key)

    # -- the store protocol, async -------------------------------------------------------------

    async def acquire_async(self, key: str, config: BreakerConfig) -> Admission:
        """Async :meth:`acquire`."""
        return self._admission(await self._eval_async(_ACQUIRE, key, self._args(config)))

    async def record_async(
        self, key: str, config: BreakerConfig, generation: int, probe: bool, outcome: Outcome
    ) -> None:
        """Async :meth:`record`."""
        args = [*self._args(config), generation, "1" if probe else "0", outcome.value]
        await self._eval_async(_RECORD, key, args)

    async def snapshot_async(self, key: str, config: BreakerConfig) -> BreakerSnapshot:
        """Async :meth:`snapshot`."""
        return self._snapshot(await self._eval_async(_SNAPSHOT, key, self._args(config)))

    async def reset_async(self, key: str) -> None:
        """Async :meth:`reset`."""
        if self._async_client is None and self.url is None:
            await asyncio.to_thread(self.reset, key)
            return
        await self._async().delete(self.prefix + key)
