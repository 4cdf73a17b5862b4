"""Wait records next to a run's checkpoints, for every checkpoint store cadence ships.

:func:`wait_store_for` finds the wait records that belong with a checkpoint store: the store
itself when it implements :class:`WaitStore`, else a backend for cadence's own stores (same
SQLite file, same Redis, same PostgreSQL database; the in-memory store gets an in-memory one).
Backends load on first use, so ``import cadence.checkpoint`` stays cheap.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cadence.checkpoint._wait_backends import backends
from cadence.checkpoint._waits._record import (
    APPROVAL,
    RESOLVED,
    SIGNAL,
    SLEEP,
    TIMED_OUT,
    WAITING,
    WaitRecord,
    WaitStore,
    WaitStoreBase,
    already_resolved,
    check_json,
    not_found,
)
from cadence.exceptions import WaitError

__all__ = [
    "APPROVAL",
    "RESOLVED",
    "SIGNAL",
    "SLEEP",
    "TIMED_OUT",
    "WAITING",
    "WaitRecord",
    "WaitStore",
    "WaitStoreBase",
    "already_resolved",
    "check_json",
    "not_found",
    "wait_store_for",
]

_METHODS = ("create_wait", "resolve_wait", "get_waits", "list_waits", "delete_waits")


def _unwrap(store: Any) -> Any:
    # Integrations wrap a store to add behaviour (Dramatiq records results first); the wait
    # records belong to the store underneath.
    while True:
        inner = getattr(store, "_inner", None)
        if inner is None or inner is store:
            return store
        store = inner


def _backend(store: Any) -> Any:
    # The store modules import their drivers lazily, so importing them here costs little.
    from cadence.checkpoint.memory import InMemoryCheckpointStore
    from cadence.checkpoint.postgres import PostgresCheckpointStore
    from cadence.checkpoint.redis import RedisCheckpointStore
    from cadence.checkpoint.sqlite import SQLiteCheckpointStore

    if isinstance(store, InMemoryCheckpointStore):
        from cadence.checkpoint._waits.memory import MemoryWaitStore

        return MemoryWaitStore()
    if isinstance(store, SQLiteCheckpointStore):
        from cadence.checkpoint._waits.sqlite import SQLiteWaitStore

        return SQLiteWaitStore(store.path, busy_timeout=store.busy_timeout)
    if isinstance(store, RedisCheckpointStore):
        from cadence.checkpoint._waits.redis import RedisWaitStore

        clients = store._clients
        client = None if clients.owned else clients.client
        return RedisWaitStore(store.url, prefix=store.prefix, client=client)
    if isinstance(store, PostgresCheckpointStore):
        from cadence.checkpoint._waits.postgres import PostgresWaitStore

        return PostgresWaitStore(store.dsn)
    return None


def wait_store_for(store: Any) -> WaitStore:
    """The wait records that go with checkpoint store ``store`` (one backend per store object).

    Raises:
        WaitError: ``WAIT_UNSUPPORTED`` for a store that keeps no wait records.
    """
    store = _unwrap(store)
    if all(callable(getattr(store, m, None)) for m in _METHODS):
        found: WaitStore = store
        return found
    try:
        cached = backends.get(store)
    except TypeError:  # not weak-referenceable: no caching possible
        cached = None
    if cached is not None:
        result: WaitStore = cached
        return result
    backend = _backend(store)
    if backend is None:
        raise WaitError(
            f"{type(store).__name__} keeps no wait records, so a run cannot park on it; use "
            "SQLiteCheckpointStore, RedisCheckpointStore, PostgresCheckpointStore or "
            "InMemoryCheckpointStore, or implement cadence.checkpoint.WaitStore on your store",
            code="WAIT_UNSUPPORTED",
        )
    with contextlib.suppress(TypeError):  # not weak-referenceable: no caching
        backends[store] = backend
    result = backend
    return result
