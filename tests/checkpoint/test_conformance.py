"""Every store passes the conformance suite of ``cadence.testing``."""

from __future__ import annotations

from pathlib import Path

from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
)
from cadence.testing import check_checkpoint_store


async def test_in_memory_store_conforms() -> None:
    """The reference store passes its own suite."""
    await check_checkpoint_store(InMemoryCheckpointStore)


async def test_sqlite_store_conforms(tmp_path: Path) -> None:
    """SQLiteCheckpointStore passes the suite (all checks on one file)."""
    await check_checkpoint_store(lambda: SQLiteCheckpointStore(tmp_path / "cp.db"))


async def test_redis_store_conforms(redis_url: str) -> None:
    """RedisCheckpointStore passes the suite against a real redis-server."""
    await check_checkpoint_store(lambda: RedisCheckpointStore(redis_url))


async def test_postgres_store_conforms(postgres_dsn: str) -> None:
    """PostgresCheckpointStore passes the suite against a real PostgreSQL."""
    await check_checkpoint_store(lambda: PostgresCheckpointStore(postgres_dsn))
