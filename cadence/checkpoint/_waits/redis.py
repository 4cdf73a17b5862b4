"""Wait records in the Redis of a ``RedisCheckpointStore``.

Keys: ``<prefix>:waits:{<cadence>:<run_id>}`` (a hash: wait key -> record JSON) and, per
cadence, ``<prefix>:waits-pending:<cadence>`` (a sorted set of the waiting records, scored by
deadline, ``+inf`` without one) so wakers find due waits without scanning. A resolution is an
optimistic transaction (``WATCH`` the run's hash, decide, ``MULTI``/``EXEC``, retry on a
conflict), so two resumers racing for one wait never both win.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from cadence.checkpoint._waits._record import (
    WAITING,
    Decide,
    WaitRecord,
    WaitStoreBase,
    record_from_json,
    record_to_json,
)
from cadence.checkpoint.redis import LoopClient  # imports no redis until used

__all__ = ["RedisWaitStore"]


def _import_redis() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "waits on Redis need the redis client: pip install 'cadence-orchestration[redis]'"
        ) from exc
    return aioredis


class RedisWaitStore(WaitStoreBase):
    """Wait records in Redis.

    Args:
        url: A Redis URL.
        prefix: Key prefix (the checkpoint store's).
        client: A ``redis.asyncio.Redis`` to use instead of connecting to ``url``.
    """

    def __init__(self, url: str, *, prefix: str = "cadence", client: Any = None) -> None:
        self.url = url
        self.prefix = prefix
        self._clients = LoopClient(url, client)

    async def _redis(self) -> Any:
        # One client per event loop, closed as its loop shuts down (see LoopClient).
        _import_redis()  # the error naming the waits' extra, if the client is missing
        return await self._clients.get()

    async def aclose(self) -> None:
        """Close the connection pool (only a client this store created)."""
        if self._clients.owned:
            await self._clients.aclose()

    def _run_key(self, cadence_name: str, run_id: str) -> str:
        return f"{self.prefix}:waits:{{{quote(cadence_name, safe='')}:{quote(run_id, safe='')}}}"

    def _pending_key(self, cadence_name: str) -> str:
        return f"{self.prefix}:waits-pending:{quote(cadence_name, safe='')}"

    async def _transact(
        self, cadence_name: str, run_id: str, key: str, decide: Decide
    ) -> WaitRecord | None:
        from redis.exceptions import WatchError

        run_key = self._run_key(cadence_name, run_id)
        member = json.dumps([run_id, key])
        async with (await self._redis()).pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(run_key)
                    text = await pipe.hget(run_key, key)
                    current = None if text is None else record_from_json(text, cadence_name, run_id)
                    new = decide(current)
                    if new is None or new is current:
                        await pipe.unwatch()
                        return new
                    pipe.multi()
                    pipe.hset(run_key, key, record_to_json(new))
                    if new.status == WAITING:
                        score = "+inf" if new.deadline is None else new.deadline
                        pipe.zadd(self._pending_key(cadence_name), {member: score})
                    else:
                        pipe.zrem(self._pending_key(cadence_name), member)
                    await pipe.execute()
                    return new
                except WatchError:
                    continue  # someone changed the run's records in between: decide again

    async def get_waits(self, cadence_name: str, run_id: str) -> list[WaitRecord]:
        """Every record of the run, oldest first."""
        raw = await (await self._redis()).hgetall(self._run_key(cadence_name, run_id))
        records = [record_from_json(text, cadence_name, run_id) for text in raw.values()]
        return sorted(records, key=lambda r: r.created_at)

    async def list_waits(
        self, cadence_name: str, *, run_id: str | None = None, due_before: float | None = None
    ) -> list[WaitRecord]:
        """Waiting records of the cadence (of one run, or due by ``due_before``), oldest first."""
        if run_id is not None:
            records = [
                r
                for r in await self.get_waits(cadence_name, run_id)
                if r.status == WAITING
                and (due_before is None or (r.deadline is not None and r.deadline <= due_before))
            ]
            return records
        client = await self._redis()
        top = "+inf" if due_before is None else due_before
        members = await client.zrangebyscore(self._pending_key(cadence_name), "-inf", top)
        records = []
        for member in members:
            rid, key = json.loads(member)
            text = await client.hget(self._run_key(cadence_name, rid), key)
            if text is None:
                continue  # deleted meanwhile
            record = record_from_json(text, cadence_name, rid)
            if record.status == WAITING and (due_before is None or record.deadline is not None):
                records.append(record)
        return sorted(records, key=lambda r: r.created_at)

    async def delete_waits(self, cadence_name: str, run_id: str) -> None:
        """Forget the run's records."""
        client = await self._redis()
        run_key = self._run_key(cadence_name, run_id)
        keys = await client.hkeys(run_key)
        pipe = client.pipeline(transaction=True)
        if keys:
            pipe.zrem(self._pending_key(cadence_name), *(json.dumps([run_id, k]) for k in keys))
        pipe.delete(run_key)
        await pipe.execute()
