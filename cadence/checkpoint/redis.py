"""``RedisCheckpointStore``: checkpoints in Redis, shared by any number of workers and hosts.

Every operation that reads and then writes is one Lua script, so it is atomic on the server;
lease expiry uses the server's clock (``TIME``), so workers with skewed clocks still agree on
who holds a run. Needs the ``redis`` extra (``redis.asyncio``), imported on first use.

Keys per run: ``<prefix>:run:{<cadence>:<run_id>}`` (a hash: token, holder, expires, state,
attempt_step, attempts, failure, result, completed_at) and ``...:steps`` (a hash: step name ->
index). Names are percent-encoded so ``("a:b", "c")`` and ``("a", "b:c")`` never share a key. A
completed run keeps only the first key, with the store's ``retention`` as its expiry (the lease
token counter goes with it, which is harmless: no lease on the run is outstanding by then).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from cadence.checkpoint._protocol import (
    DEFAULT_RETENTION,
    check_lease_ttl,
    check_retention,
    corrupt_record,
    dump_state,
    lease_held,
    lease_lost,
    load_state,
)
from cadence.checkpoint._wait_backends import detach_waits
from cadence.checkpoint.codec import ScoreCodec
from cadence.exceptions import CheckpointError

__all__ = ["LoopClient", "RedisCheckpointStore", "connect"]

T = TypeVar("T")

_FENCE = """
local function fenced(key, token)
  if token == '' then return true end
  local cur = redis.call('HMGET', key, 'token', 'holder')
  return cur[1] == token and cur[2] ~= false and cur[2] ~= ''
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function number(key, field)
  local raw = redis.call('HGET', key, field)
  if raw == false then return nil end
  local value = tonumber(raw)
  if value == nil then error({err = 'CHECKPOINT_CORRUPT ' .. field .. ' a number'}) end
  return value
end
local function integer(key, field)
  local value = number(key, field)
  if value ~= nil and value ~= math.floor(value) then
    error({err = 'CHECKPOINT_CORRUPT ' .. field .. ' an integer'})
  end
  return value
end
"""

_SCRIPTS = {
    "save": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'attempt_step', '', 'attempts', 1)
redis.call('HDEL', KEYS[1], 'result', 'completed_at')
redis.call('PERSIST', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1""",
    "clear": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'state', 'attempt_step', 'attempts', 'failure', 'result', 'completed_at')
redis.call('PERSIST', KEYS[1])
return 1""",
    "acquire": """
local now = now_ms()
integer(KEYS[1], 'token')
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= '' and holder ~= ARGV[1] and holder ~= ARGV[3] then
  local expires = number(KEYS[1], 'expires') or 0
  if expires > now then return {0, expires - now, holder} end
end
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'expires', now + tonumber(ARGV[2]))
return {1, token}""",
    "renew": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
redis.call('HSET', KEYS[1], 'expires', now_ms() + tonumber(ARGV[2]))
return 1""",
    "release": """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then redis.call('HSET', KEYS[1], 'holder', '') end
return 1""",
    "attempt": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
local current = redis.call('HGET', KEYS[1], 'attempt_step')
if current == ARGV[2] or current == '' then
  integer(KEYS[1], 'attempts')
  return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
end
redis.call('HSET', KEYS[1], 'attempt_step', ARGV[2], 'attempts', 1)
return 1""",
    "end_attempt": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
local attempts = integer(KEYS[1], 'attempts') or 0
if attempts > 0 then redis.call('HSET', KEYS[1], 'attempts', attempts - 1) end
return 1""",
    "failure": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
redis.call('HSET', KEYS[1], 'failure', ARGV[2])
return 1""",
    "complete": """
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST') end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'state', 'attempt_step', 'attempts', 'failure')
redis.call('HSET', KEYS[1], 'result', ARGV[2], 'completed_at', now_ms())
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'holder', '') end
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3])) end
return 1""",
    "completion": """
local result = redis.call('HGET', KEYS[1], 'result')
if not result then return false end
local at = number(KEYS[1], 'completed_at') or 0
if ARGV[1] ~= '' and at + tonumber(ARGV[1]) <= now_ms() then return false end
return result""",
    "purge": """
local at = number(KEYS[1], 'completed_at')
if at == nil or at > now_ms() - tonumber(ARGV[1]) then return 0 end
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= '' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1""",
}


def _import_redis() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "RedisCheckpointStore needs the redis client: pip install 'cadence-orchestration[redis]'"
        ) from exc
    return aioredis


def connect(url: str) -> Any:
    """A ``redis.asyncio.Redis`` for ``url`` that retries a command on a dropped connection.

    ``Redis.from_url`` retries nothing, so the first command after the server restarted or
    closed an idle connection (its ``timeout`` setting, a proxy) would fail -- often a step's
    checkpoint, after the step did its work. Each store operation is safe to repeat.
    """
    aioredis = _import_redis()
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 2)
    return aioredis.Redis.from_url(url, decode_responses=True, retry=retry)


async def _close_at_shutdown(client: Any) -> AsyncGenerator[None, None]:
    """Started once on a client's loop; the loop finalizes it when it shuts down."""
    try:
        yield
    finally:
        await client.aclose()


class LoopClient:
    """A ``redis.asyncio`` client per event loop, each closed as its loop ends.

    asyncio connections belong to one event loop, so successive ``asyncio.run()`` /
    ``run_sync()`` calls, and threads running loops of their own, each get a client of their
    own (not "Event loop is closed", nor another loop's connections). A loop cannot close
    another loop's sockets, so each client is closed on its own loop as that loop shuts down:
    an async generator started on the loop closes it when ``asyncio.run`` finalizes the loop's
    async generators. A client given by the caller is used on every loop and never closed at
    loop shutdown (it is the caller's). ``factory(url)`` makes the clients (default: the
    stores' :func:`connect`); the response cache passes its own.
    """

    def __init__(
        self, url: str, client: Any = None, *, factory: Callable[[str], Any] | None = None
    ) -> None:
        self.url = url
        self.client: Any = client  # the caller's; ours live in _loops
        self.owned = client is None
        self._connect = factory or connect
        self._loops: dict[
            asyncio.AbstractEventLoop, tuple[Any, AsyncGenerator[None, None] | None]
        ] = {}

    def current(self) -> Any:
        """The client for the running loop, made on first use."""
        if not self.owned:
            return self.client
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            for old in [old for old in self._loops if old.is_closed()]:
                del self._loops[old]  # closed with their loops; the entries only hold them
            found = self._loops[loop] = (self._connect(self.url), None)
        return found[0]

    async def get(self) -> Any:
        """The client for the running loop, with its closing at the loop's shutdown arranged."""
        client = self.current()
        if self.owned:
            loop = asyncio.get_running_loop()
            if self._loops[loop][1] is None:
                closer = _close_at_shutdown(client)
                await closer.__anext__()  # registered with this loop, finalized at its shutdown
                self._loops[loop] = (client, closer)
        return client

    async def aclose(self) -> None:
        """Close the running loop's client now (other loops' close as those loops shut down);
        a caller's client is closed and kept (it reconnects on use)."""
        if not self.owned:
            if self.client is not None:
                await self.client.aclose()
            return
        found = self._loops.pop(asyncio.get_running_loop(), None)
        if found is None:
            return
        client, closer = found
        if closer is not None:
            await closer.aclose()  # runs its finally: client.aclose()
        else:
            await client.aclose()


class RedisCheckpointStore:
    """Checkpoints, leases and attempt counts in Redis.

    Args:
        url: A Redis URL (``redis://localhost:6379/0``).
        prefix: Key prefix, to share a database with other data.
        lease_ttl: Default lease duration in seconds for sessions on this store.
        lease_wait: Seconds a session waits for a live holder's lease before ``LEASE_HELD``
            (``None``: one ``lease_ttl``; ``0``: never waits).
        retention: Seconds a completed run's record is kept: the run's key gets that expiry
            (``None``: kept until purged). Configure Redis with ``maxmemory-policy noeviction``:
            an evicted record is forgotten progress.
        codec: Score codec for sessions on this store.
        client: An existing ``redis.asyncio.Redis`` to use instead of connecting to ``url``.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        prefix: str = "cadence",
        lease_ttl: float = 30.0,
        lease_wait: float | None = None,
        retention: float | None = DEFAULT_RETENTION,
        codec: ScoreCodec | None = None,
        client: Any = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.lease_ttl = _fits(check_lease_ttl(lease_ttl), "lease_ttl")
        self.lease_wait = lease_wait
        self.retention = _fits(check_retention(retention), "retention")
        self.codec = codec
        self._clients = LoopClient(url, client)
        self._scripts: dict[str, Any] = {}
        self._scripts_client: Any = None

    def __repr__(self) -> str:
        return f"RedisCheckpointStore({self.url!r}, prefix={self.prefix!r})"

    def _keys(self, cadence_name: str, run_id: str) -> list[str]:
        # The {hash tag} keeps both keys of a run in one Redis Cluster slot (scripts need that).
        base = f"{self.prefix}:run:{{{quote(cadence_name, safe='')}:{quote(run_id, safe='')}}}"
        return [base, f"{base}:steps"]

    def _redis(self) -> Any:
        return self._clients.current()

    async def _connected(self) -> Any:
        return await self._clients.get()

    async def _run(self, name: str, cadence_name: str, run_id: str, *args: Any) -> Any:
        client = await self._connected()
        if client is not self._scripts_client:  # a new loop's client: scripts register anew
            self._scripts, self._scripts_client = {}, client
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = client.register_script(_FENCE + _SCRIPTS[name])
        try:
            return await script(keys=self._keys(cadence_name, run_id), args=list(args))
        except Exception as exc:
            if "LEASE_LOST" in str(exc):
                raise lease_lost(cadence_name, run_id, int(args[0])) from None
            raise _translate(exc, cadence_name, run_id) from exc

    async def _read(self, call: Callable[[Any], Awaitable[T]], cadence_name: str, run_id: str) -> T:
        try:
            return await call(await self._connected())
        except Exception as exc:
            raise _translate(exc, cadence_name, run_id) from exc

    async def aclose(self) -> None:
        """Close the connection pool (and its wait records')."""
        waits = detach_waits(self)
        if waits is not None:
            await waits.aclose()
        self._scripts, self._scripts_client = {}, None
        await self._clients.aclose()

    @staticmethod
    def _token(token: int | None) -> str:
        return "" if token is None else str(token)

    async def save_checkpoint(
        self,
        cadence_name: str,
        run_id: str,
        step_name: str,
        step_index: int,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Record a completed step and the score after it, atomically (fenced by ``token``)."""
        text = dump_state(score_state)
        await self._run(
            "save", cadence_name, run_id, self._token(token), step_name, step_index, text
        )

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        """Names of the completed steps."""
        key = self._keys(cadence_name, run_id)[1]
        return set(await self._read(lambda r: r.hkeys(key), cadence_name, run_id))

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The latest saved score state, or ``None``."""
        key = self._keys(cadence_name, run_id)[0]
        text = await self._read(lambda r: r.hget(key, "state"), cadence_name, run_id)
        return None if text is None else load_state(text)

    async def clear_checkpoints(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Forget steps, state, attempts, failure and completion; the lease fields stay."""
        await self._run("clear", cadence_name, run_id, self._token(token))

    async def acquire_lease(
        self, cadence_name: str, run_id: str, *, holder: str, ttl: float, replace: str | None = None
    ) -> int:
        """Take the lease unless a different live holder (other than ``replace``) has it."""
        if not holder:
            raise CheckpointError("a lease holder must be a non-empty string")
        ms = max(1, round(ttl * 1000))
        result = await self._run("acquire", cadence_name, run_id, holder, ms, replace or "")
        if int(result[0]) == 0:
            raise lease_held(cadence_name, run_id, str(result[2]), int(result[1]) / 1000)
        return int(result[1])

    async def renew_lease(self, cadence_name: str, run_id: str, *, token: int, ttl: float) -> None:
        """Extend a lease that is still current."""
        await self._run("renew", cadence_name, run_id, str(token), max(1, round(ttl * 1000)))

    async def release_lease(self, cadence_name: str, run_id: str, *, token: int) -> None:
        """Release the lease if ``token`` is current."""
        await self._run("release", cadence_name, run_id, str(token))

    async def begin_attempt(
        self, cadence_name: str, run_id: str, step_name: str, *, token: int | None = None
    ) -> int:
        """Count an attempt at ``step_name``."""
        return int(await self._run("attempt", cadence_name, run_id, self._token(token), step_name))

    async def end_attempt(
        self, cadence_name: str, run_id: str, *, token: int | None = None
    ) -> None:
        """Take back the attempt counted last (the run parked at a wait: no failure)."""
        await self._run("end_attempt", cadence_name, run_id, self._token(token))

    async def record_failure(
        self, cadence_name: str, run_id: str, cause: str, *, token: int | None = None
    ) -> None:
        """Remember the cause of the latest failure."""
        await self._run("failure", cadence_name, run_id, self._token(token), cause)

    async def get_failure(self, cadence_name: str, run_id: str) -> str | None:
        """The latest failure cause."""
        key = self._keys(cadence_name, run_id)[0]
        value = await self._read(lambda r: r.hget(key, "failure"), cadence_name, run_id)
        return None if value is None else str(value)

    def _retention_ms(self, seconds: float | None) -> str:
        return "" if seconds is None else str(max(1, round(seconds * 1000)))

    async def complete_run(
        self,
        cadence_name: str,
        run_id: str,
        score_state: dict[str, Any],
        *,
        token: int | None = None,
    ) -> None:
        """Replace the run's checkpoints by its completion record and release ``token``."""
        text = dump_state(score_state)
        await self._run(
            "complete",
            cadence_name,
            run_id,
            self._token(token),
            text,
            self._retention_ms(self.retention),
        )

    async def get_completion(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        """The completed run's final state, unless it is older than ``retention``."""
        text = await self._run(
            "completion", cadence_name, run_id, self._retention_ms(self.retention)
        )
        return None if text is None else load_state(text)

    async def purge_completed(
        self, *, older_than: float | None = None, cadence_name: str | None = None
    ) -> int:
        """Delete completion records older than ``older_than`` (default: ``retention``) seconds.

        Records expire by themselves when ``retention`` is set; this is for records kept with
        ``retention=None`` or a purge sooner than the expiry. It scans the prefix's keys.
        """
        age = self.retention if older_than is None else older_than
        if age is None:
            return 0
        cadence = "*" if cadence_name is None else _escape_glob(quote(cadence_name, safe=""))
        purged = 0
        prefix = _escape_glob(self.prefix)  # "app[1]" is a prefix, not a pattern
        async for key in (await self._connected()).scan_iter(match=f"{prefix}:run:{{{cadence}:*}}"):
            inner = key[len(self.prefix) + 6 : -1]  # "<cadence>:<run_id>", both quoted
            name, _, run = inner.partition(":")
            # Not _retention_ms: an expiry must be >= 1 ms, but older_than=0 means every record.
            cutoff = str(max(0, round(age * 1000)))
            purged += int(await self._run("purge", unquote(name), unquote(run), cutoff))
        return purged


_MAX_SECONDS = 2**53 // 1000
"""Longest lease or retention in seconds: Redis keeps them as exact milliseconds (in Lua, and in
a key's expiry), so a longer one would fail with a server error only when a run completes."""


def _fits(seconds: T, name: str) -> T:
    if isinstance(seconds, float) and seconds > _MAX_SECONDS:
        raise ValueError(
            f"{name} must be at most {_MAX_SECONDS} seconds on Redis; got {seconds!r}"
            + (" (None keeps completion records until purged)" if name == "retention" else "")
        )
    return seconds


def _escape_glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _translate(exc: Exception, cadence_name: str, run_id: str) -> Exception:
    """A Redis error about the run's data as the typed error; anything else unchanged."""
    message = str(exc)
    if "CHECKPOINT_CORRUPT" in message:
        words = message.split("CHECKPOINT_CORRUPT", 1)[1].split()
        field, kind = (words[0], " ".join(words[1:3])) if len(words) >= 3 else ("?", "valid")
        return corrupt_record(cadence_name, run_id, f"the hash field {field!r} is not {kind}")
    if "WRONGTYPE" in message:
        return corrupt_record(cadence_name, run_id, "the run's key is not a Redis hash")
    return exc
