"""Store behaviour beyond the conformance suite: event loops, corruption, lazy imports."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cadence import Score
from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
    open_session,
)
from cadence.exceptions import CheckpointError


@dataclasses.dataclass
class Trail(Score):
    trail: list[str] = dataclasses.field(default_factory=list)


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_one_store_serves_successive_event_loops(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A store shared by several asyncio.run() calls (as run_sync does) keeps working."""
    store = {
        "sqlite": lambda: SQLiteCheckpointStore(tmp_path / "loops.db"),
        "redis": lambda: RedisCheckpointStore(request.getfixturevalue("redis_url")),
        "postgres": lambda: PostgresCheckpointStore(request.getfixturevalue("postgres_dsn")),
    }[kind]()

    async def save(i: int) -> None:
        await store.save_checkpoint("loops", "r", f"s{i}", i, {"i": i})
        if kind == "redis":  # redis-py cannot close a finished loop's sockets for us
            await store.aclose()

    for i in range(3):
        asyncio.run(save(i))

    async def read_and_close() -> set[str]:
        try:
            return await store.get_completed_measures("loops", "r")
        finally:
            await store.clear_checkpoints("loops", "r")
            await store.aclose()

    assert asyncio.run(read_and_close()) == {"s0", "s1", "s2"}


async def test_garbage_in_the_sqlite_file_raises_the_typed_error(tmp_path: Path) -> None:
    """Bytes that are not JSON where the state should be end in CheckpointError, not a crash."""
    path = tmp_path / "cp.db"
    store = SQLiteCheckpointStore(path)
    await store.save_checkpoint("c", "r", "a", 0, {"ok": True})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cadence_runs SET state = ?", ("{not json",))
    with pytest.raises(CheckpointError) as info:
        await open_session(
            store, cadence_name="c", run_id="r", score=Trail(), step_names=["a", "b"]
        )
    assert info.value.code == "CHECKPOINT_CORRUPT"
    await store.aclose()


async def test_live_runs_renew_their_lease() -> None:
    """A run longer than its lease keeps it: the session renews in the background."""
    store = InMemoryCheckpointStore(lease_ttl=0.06)
    session = await open_session(
        store, cadence_name="c", run_id="r", score=Trail(), step_names=["a"]
    )
    await asyncio.sleep(0.2)  # over three lease lifetimes
    with pytest.raises(CheckpointError) as info:
        await store.acquire_lease("c", "r", holder="other", ttl=1)
    assert info.value.code == "LEASE_HELD"
    await session.finish(None)
    await store.acquire_lease("c", "r", holder="other", ttl=1)


def test_importing_checkpoint_loads_no_driver() -> None:
    """``import cadence.checkpoint`` loads neither sqlite3, redis nor psycopg until a store is used."""
    code = (
        "import sys, cadence.checkpoint; "
        "print(sorted(m for m in ('sqlite3', 'redis', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_missing_redis_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the redis package the store says which extra to install."""
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ImportError, match=r"cadence-orchestration\[redis\]"):
        await RedisCheckpointStore("redis://127.0.0.1:1/0").get_failure("c", "r")


async def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without psycopg the store says which extra to install."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ImportError, match=r"cadence-orchestration\[postgres\]"):
        await PostgresCheckpointStore("postgresql://x@127.0.0.1:1/x").get_failure("c", "r")


def test_public_names_are_sorted_and_importable() -> None:
    """``cadence.checkpoint.__all__`` is sorted and every name in it resolves."""
    import cadence.checkpoint as checkpoint

    assert list(checkpoint.__all__) == sorted(checkpoint.__all__)
    for name in checkpoint.__all__:
        assert getattr(checkpoint, name) is not None
