"""Every store's wait records pass the wait conformance suite of ``cadence.testing``."""

from __future__ import annotations

from pathlib import Path

from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
)
from cadence.testing import check_wait_store


async def test_in_memory_waits_conform() -> None:
    """The reference backend passes its own suite (one store: memory is not shared)."""
    shared = InMemoryCheckpointStore()
    await check_wait_store(lambda: shared)


async def test_sqlite_waits_conform(tmp_path: Path) -> None:
    """Wait records in the SQLite file pass the suite."""
    await check_wait_store(lambda: SQLiteCheckpointStore(tmp_path / "cp.db"))


async def test_redis_waits_conform(redis_url: str) -> None:
    """Wait records in a real redis-server pass the suite."""
    await check_wait_store(lambda: RedisCheckpointStore(redis_url))


async def test_postgres_waits_conform(postgres_dsn: str) -> None:
    """Wait records in a real PostgreSQL pass the suite."""
    await check_wait_store(lambda: PostgresCheckpointStore(postgres_dsn))
