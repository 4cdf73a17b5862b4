"""``Idempotency-Key``: duplicate requests join the same run and get the same response.

Clients retry POSTs when a connection drops; without a key each retry charges the card again.
With one, the first request starts the run and every duplicate -- concurrent or later -- gets
that run's response. Two parts make this work:

* an in-process registry of runs in flight, keyed by the idempotency key: a duplicate that
  arrives while the run is going awaits the same result instead of starting a second run. The
  run belongs to the registry, not to the request that started it, so a client that hangs up
  does not cancel work its retry will ask for;
* an :class:`IdempotencyStore` of finished responses, for duplicates that arrive later (or on
  another worker, with a shared store). Any checkpoint store can serve as one.

Failures with a 5xx status, and the 4xx answers that tell the client to retry later (408,
409, 425, 429: another worker holds the run, a breaker mapped to 429), are shared with the
duplicates that joined the run but not stored, so a later retry runs again. A store that fails
to keep a finished response is logged, not turned into an error: the run is done, and a 500
would make the client retry work that already happened. Reusing a key for a different request (other body or query) is an
error (422), as the IETF ``Idempotency-Key`` draft recommends.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cadence.exceptions import CadenceError

__all__ = [
    "CheckpointIdempotencyStore",
    "IdempotencyKeyError",
    "IdempotencyRegistry",
    "IdempotencyStore",
    "InMemoryIdempotencyStore",
    "StoredResponse",
    "as_idempotency_store",
    "fingerprint",
]

_MAX_KEY_LENGTH = 255
_RETRY_LATER = frozenset({408, 409, 425, 429})
"""4xx statuses that ask the client to try again; like 5xx they are not kept for replay."""

logger = logging.getLogger("cadence.integrations")


def _replayable(status: int) -> bool:
    """Whether a response with ``status`` is kept for later duplicates of its key."""
    return status < 500 and status not in _RETRY_LATER


class IdempotencyKeyError(CadenceError):
    """The ``Idempotency-Key`` is malformed (400) or reused for another request (422)."""

    default_code = "IDEMPOTENCY_KEY_INVALID"

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message, code)
        self.status = status


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A finished response, as replayed to duplicates."""

    status: int
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()
    fingerprint: str = ""

    def to_state(self) -> dict[str, Any]:
        """JSON-friendly form, for stores that keep dicts (checkpoint stores)."""
        return {
            "status": self.status,
            "body": base64.b64encode(self.body).decode("ascii"),
            "media_type": self.media_type,
            "headers": [list(h) for h in self.headers],
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StoredResponse:
        """Rebuild a response saved with :meth:`to_state`."""
        return cls(
            int(state["status"]),
            base64.b64decode(state["body"]),
            str(state["media_type"]),
            tuple((str(k), str(v)) for k, v in state.get("headers", ())),
            str(state.get("fingerprint", "")),
        )


@runtime_checkable
class IdempotencyStore(Protocol):
    """Where finished responses are kept, keyed by the scoped idempotency key."""

    async def get(self, key: str) -> StoredResponse | None:
        """The stored response for ``key``, or ``None``."""
        ...

    async def put(self, key: str, response: StoredResponse) -> None:
        """Keep ``response`` for ``key``."""
        ...


class InMemoryIdempotencyStore:
    """Finished responses in process memory, each kept for ``ttl`` seconds (LRU-bounded).

    Args:
        ttl: Seconds a response is replayed for (the IETF draft suggests at least 24 hours).
        max_entries: Oldest entries are dropped beyond this many.
        clock: Monotonic seconds; inject a fake clock in tests.
    """

    def __init__(
        self,
        *,
        ttl: float = 24 * 3600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ttl > 0 or not max_entries >= 1:  # `not >` refuses NaN, which never expires
            raise ValueError(
                f"InMemoryIdempotencyStore needs ttl > 0 seconds and max_entries >= 1, got "
                f"ttl={ttl!r}, max_entries={max_entries!r}"
            )
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, StoredResponse]] = OrderedDict()
        self._lock = threading.Lock()  # Flask serves requests from several threads

    async def get(self, key: str) -> StoredResponse | None:
        """The stored response for ``key`` unless it expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._items[key]
                return None
            return item[1]

    async def put(self, key: str, response: StoredResponse) -> None:
        """Keep ``response`` for ``ttl`` seconds."""
        with self._lock:
            self._items[key] = (self._clock() + self._ttl, response)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class CheckpointIdempotencyStore:
    """Keeps finished responses in a cadence checkpoint store (memory, SQLite, Redis, Postgres).

    Each response is one checkpoint of the pseudo cadence ``namespace`` with the scoped key as
    its run id, so a shared store deduplicates across workers.
    """

    def __init__(self, store: Any, *, namespace: str = "cadence.idempotency") -> None:
        self._store = store
        self._namespace = namespace

    async def get(self, key: str) -> StoredResponse | None:
        """The stored response for ``key``, or ``None``."""
        state = await self._store.get_last_score_state(self._namespace, key)
        return None if state is None else StoredResponse.from_state(state)

    async def put(self, key: str, response: StoredResponse) -> None:
        """Save ``response`` as the key's checkpoint."""
        await self._store.save_checkpoint(self._namespace, key, "response", 0, response.to_state())


def as_idempotency_store(store: Any) -> IdempotencyStore:
    """Accept an :class:`IdempotencyStore` or any checkpoint store."""
    if isinstance(store, IdempotencyStore):
        return store
    if callable(getattr(store, "save_checkpoint", None)) and callable(
        getattr(store, "get_last_score_state", None)
    ):
        return CheckpointIdempotencyStore(store)
    raise TypeError(
        f"idempotency_store must be an IdempotencyStore (async get/put) or a checkpoint store, "
        f"got {type(store).__name__}; e.g. InMemoryIdempotencyStore()"
    )


def fingerprint(*parts: bytes | str) -> str:
    """A digest of the request parts that must match when a key is reused."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """Validate a client's key: 1..255 visible ASCII characters."""
    if not 0 < len(key) <= _MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise IdempotencyKeyError(
            f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} visible ASCII characters",
            status=400,
            code="IDEMPOTENCY_KEY_INVALID",
        )
    return key


class IdempotencyRegistry:
    """Joins duplicate requests onto one run and replays finished responses.

    Thread-safe: Flask requests each run on their own event loop in their own thread, so the
    in-flight runs are tracked with ``concurrent.futures.Future`` objects any loop can await.
    """

    def __init__(self, store: IdempotencyStore) -> None:
        self.store = store
        self._inflight: dict[
            str, tuple[str, concurrent.futures.Future[tuple[StoredResponse, bool]]]
        ] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def respond(
        self,
        key: str,
        request_fingerprint: str,
        produce: Callable[[], Awaitable[StoredResponse]],
    ) -> tuple[StoredResponse, bool]:
        """The response for ``key`` and whether it was replayed (joined or stored).

        Raises:
            IdempotencyKeyError: The key was used before with a different fingerprint.
        """
        with self._lock:
            entry = self._inflight.get(key)
            owner = entry is None
            if entry is None:
                entry = (request_fingerprint, concurrent.futures.Future())
                self._inflight[key] = entry
        if entry[0] != request_fingerprint:
            raise _reused()
        if owner:
            task = asyncio.get_running_loop().create_task(
                self._run(key, request_fingerprint, produce, entry[1]),
                name=f"cadence-idempotent:{key}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a requester that goes away must not cancel the run the others await.
        response, replayed = await asyncio.shield(asyncio.wrap_future(entry[1]))
        if response.fingerprint != request_fingerprint:
            raise _reused()
        return response, replayed or not owner

    async def _run(
        self,
        key: str,
        request_fingerprint: str,
        produce: Callable[[], Awaitable[StoredResponse]],
        future: concurrent.futures.Future[tuple[StoredResponse, bool]],
    ) -> None:
        try:
            stored = await self.store.get(key)
            if stored is not None:
                future.set_result((stored, True))
                return
            response = await produce()
            if _replayable(response.status):
                try:
                    await self.store.put(key, response)
                except Exception:
                    logger.warning(
                        "could not store the response for Idempotency-Key %r; a retry with "
                        "this key will run again",
                        key,
                        exc_info=True,
                    )
            future.set_result((response, False))
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    async def aclose(self) -> None:
        """Cancel the runs still in flight on this loop (application shutdown)."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _reused() -> IdempotencyKeyError:
    return IdempotencyKeyError(
        "this Idempotency-Key was already used for a different request (other body or query); "
        "use a new key for a new request",
        status=422,
        code="IDEMPOTENCY_KEY_REUSED",
    )
