"""A finished run stays finished; leases never strand a run; lost state is never papered over."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cadence import Cadence, Score, Skip
from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    SQLiteCheckpointStore,
    open_session,
)
from cadence.checkpoint._holder import holder_id, holder_is_dead, machine_id
from cadence.exceptions import CheckpointError
from cadence.testing import FakeClock

STEPS = ("validate", "charge", "ship")


@dataclasses.dataclass
class Order(Score):
    trail: list[str] = dataclasses.field(default_factory=list)


def build(store: Any, calls: list[str], *, slow: float = 0.0, skip_at: str = "") -> Cadence[Order]:
    def step(name: str) -> Any:
        async def run(score: Order) -> None:
            calls.append(name)
            score.trail.append(name)
            if slow:
                await asyncio.sleep(slow)
            if name == skip_at:
                raise Skip("nothing to ship")

        return run

    cadence = Cadence("orders", Order()).with_checkpoint(store)
    for name in STEPS:
        cadence.then(name, step(name))
    return cadence


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest, **kw: Any) -> Any:
    if kind == "memory":
        return InMemoryCheckpointStore(**kw)
    if kind == "sqlite":
        return SQLiteCheckpointStore(tmp_path / "cp.db", **kw)
    if kind == "redis":
        return RedisCheckpointStore(request.getfixturevalue("redis_url"), **kw)
    return PostgresCheckpointStore(request.getfixturevalue("postgres_dsn"), **kw)


async def close(store: Any) -> None:
    closer = getattr(store, "aclose", None)
    if closer is not None:
        await closer()


ALL_STORES = ["memory", "sqlite", "redis", "postgres"]


# -- completion records ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_STORES)
async def test_a_completed_run_id_returns_its_result_and_runs_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Every store keeps the result: the same run id again executes no step."""
    store, calls = make_store(kind, tmp_path, request), []
    run_id = f"A-{os.getpid()}-{id(calls)}"
    first = await build(store, calls).run(Order(), run_id=run_id)
    again = await build(store, calls).run(Order(), run_id=run_id)
    assert calls == list(STEPS)
    assert again.trail == first.trail == list(STEPS)
    await close(store)


async def test_a_crash_after_the_last_checkpoint_completes_without_running_again() -> None:
    """Every step recorded but no completion (crash in between): nothing runs, then it is done."""
    store = InMemoryCheckpointStore()
    from cadence.checkpoint import ScoreCodec

    state = ScoreCodec().encode_score(Order(trail=list(STEPS)))
    for index, name in enumerate(STEPS):
        await store.save_checkpoint("orders", "B", name, index, state)
    calls: list[str] = []
    result = await build(store, calls).run(Order(), run_id="B")
    assert calls == [] and result.trail == list(STEPS)
    assert await store.get_completion("orders", "B") == state


async def test_a_run_ended_by_skip_is_completed_with_what_it_returned() -> None:
    """Skip ends the run cleanly; the completion record holds the skipping step's changes."""
    store, calls = InMemoryCheckpointStore(), []
    result = await build(store, calls, skip_at="charge").run(Order(), run_id="C")
    assert result.trail == ["validate", "charge"]
    replay = await build(store, calls, skip_at="charge").run(Order(), run_id="C")
    assert replay.trail == ["validate", "charge"] and calls == ["validate", "charge"]


async def test_a_worker_waiting_on_a_live_lease_gets_the_finished_result() -> None:
    """A duplicate of a running run waits for it and returns its result without executing."""
    store, calls = InMemoryCheckpointStore(lease_ttl=1.0), []
    cadence = build(store, calls, slow=0.05)
    first = asyncio.create_task(cadence.run(Order(), run_id="D"))
    await asyncio.sleep(0.01)  # the first run holds the lease now
    duplicate = await cadence.run(Order(), run_id="D")
    assert (await first).trail == duplicate.trail == list(STEPS)
    assert calls == list(STEPS)


async def test_clear_checkpoints_lets_a_completed_run_id_start_afresh() -> None:
    """clear_checkpoints forgets the completion record too: the id runs again."""
    store, calls = InMemoryCheckpointStore(), []
    await build(store, calls).run(Order(), run_id="E")
    await store.clear_checkpoints("orders", "E")
    await build(store, calls).run(Order(), run_id="E")
    assert calls == list(STEPS) * 2


async def test_a_failed_completion_write_records_the_failure_and_releases_the_lease() -> None:
    """If the completion record cannot be written the run fails and another worker may resume."""

    class Flaky(InMemoryCheckpointStore):
        async def complete_run(self, *args: Any, **kwargs: Any) -> None:
            raise CheckpointError("disk full", code="STORE_DOWN")

    store, calls = Flaky(), []
    with pytest.raises(CheckpointError, match="disk full"):
        await build(store, calls).run(Order(), run_id="F")
    assert "disk full" in (await store.get_failure("orders", "F") or "")
    await store.acquire_lease("orders", "F", holder="next", ttl=1)  # released: no LEASE_HELD
    assert await store.get_completed_measures("orders", "F") == {"validate", "charge"}


# -- retention ---------------------------------------------------------------------------------


async def test_memory_completion_records_expire_after_retention() -> None:
    """Past ``retention`` a run id is new again, and old records are dropped from memory."""
    clock = [0.0]
    store, calls = InMemoryCheckpointStore(retention=60, clock=lambda: clock[0]), []
    await build(store, calls).run(Order(), run_id="G1")
    clock[0] = 61
    await build(store, calls).run(Order(), run_id="G1")
    assert calls == list(STEPS) * 2
    await build(store, calls).run(Order(), run_id="G2")
    assert ("orders", "G1") in store._runs  # re-completed at 61: still within retention
    clock[0] = 200
    await build(store, calls).run(Order(), run_id="G3")  # completing drops expired records
    assert set(store._runs) == {("orders", "G3")}


async def test_sqlite_drops_expired_completion_records_as_runs_complete(tmp_path: Path) -> None:
    """Expired rows are deleted by later completions and by purge_completed, no cron needed."""
    store = SQLiteCheckpointStore(tmp_path / "cp.db", retention=0.2)
    for i in range(3):
        await store.complete_run("orders", f"old-{i}", {"v": i})
    await asyncio.sleep(0.3)
    assert await store.get_completion("orders", "old-0") is None
    await store.complete_run("orders", "new", {"v": "new"})
    with sqlite3.connect(tmp_path / "cp.db") as conn:
        rows = [r[0] for r in conn.execute("SELECT run_id FROM cadence_runs")]
    assert rows == ["new"]
    assert await store.purge_completed(older_than=0) == 1
    await store.aclose()


async def test_redis_completion_record_carries_the_retention_as_expiry(redis_url: str) -> None:
    """A completed run's key expires with the retention; retention=None keeps it."""
    prefix = f"retention-{os.getpid()}"  # the server is shared: count only this test's runs
    store = RedisCheckpointStore(redis_url, retention=120, prefix=prefix)
    await store.save_checkpoint("orders", "H", "validate", 0, {"v": 0})
    await store.complete_run("orders", "H", {"v": 1})
    run_key, steps_key = store._keys("orders", "H")
    client = store._redis()
    assert 0 < await client.pttl(run_key) <= 120_000
    assert await client.exists(steps_key) == 0
    keep = RedisCheckpointStore(redis_url, retention=None, client=client, prefix=prefix)
    await keep.complete_run("orders", "H2", {"v": 2})
    assert await client.pttl(keep._keys("orders", "H2")[0]) == -1
    assert await keep.purge_completed(older_than=0, cadence_name="orders") == 2
    await store.aclose()


async def test_postgres_completion_records_expire_after_retention(postgres_dsn: str) -> None:
    """PostgreSQL ignores completion records older than the retention and purges them."""
    store = PostgresCheckpointStore(postgres_dsn, retention=0.2)
    await store.complete_run("orders-pg-retention", "I", {"v": 1})
    assert await store.get_completion("orders-pg-retention", "I") == {"v": 1}
    await asyncio.sleep(0.3)
    assert await store.get_completion("orders-pg-retention", "I") is None
    assert await store.purge_completed(cadence_name="orders-pg-retention") == 1
    await store.aclose()


def test_retention_must_be_positive_or_none(tmp_path: Path) -> None:
    """A zero, negative or non-numeric retention is refused when the store is made."""
    for bad in (0, -1, "7d", True):
        with pytest.raises(ValueError, match="retention must be"):
            SQLiteCheckpointStore(tmp_path / "cp.db", retention=bad)  # type: ignore[arg-type]


async def test_sqlite_files_from_before_completion_records_are_upgraded(tmp_path: Path) -> None:
    """A database created without the completion columns gains them and keeps its runs."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """CREATE TABLE cadence_runs (cadence TEXT NOT NULL, run_id TEXT NOT NULL,
            token INTEGER NOT NULL DEFAULT 0, holder TEXT, expires REAL NOT NULL DEFAULT 0,
            state TEXT, attempt_step TEXT, attempts INTEGER NOT NULL DEFAULT 0, failure TEXT,
            PRIMARY KEY (cadence, run_id));
            CREATE TABLE cadence_steps (cadence TEXT NOT NULL, run_id TEXT NOT NULL,
            step TEXT NOT NULL, step_index INTEGER NOT NULL, PRIMARY KEY (cadence, run_id, step));
            INSERT INTO cadence_runs (cadence, run_id, state) VALUES ('c', 'r', '{"v": 1}');"""
        )
    store = SQLiteCheckpointStore(path)
    assert await store.get_last_score_state("c", "r") == {"v": 1}
    await store.complete_run("c", "r", {"v": 2})
    assert await store.get_completion("c", "r") == {"v": 2}
    await store.aclose()


# -- leases after a crash ----------------------------------------------------------------------


def test_holder_names_tell_dead_processes_from_live_and_unknown_ones() -> None:
    """Only a holder provably gone on this machine counts as dead."""
    assert not holder_is_dead(holder_id()), "our own live session"
    assert holder_is_dead(f"{machine_id()}:{os.getpid()}:another-process:1"), "pid reused"
    assert not holder_is_dead(f"{machine_id()}:{os.getppid()}:x:1"), "a live process"
    assert not holder_is_dead(f"elsewhere|boot|ns:{os.getpid()}:x:1"), "another machine"
    for garbage in ("", "w1", "a:b:c:d", None, 42):
        assert not holder_is_dead(garbage)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert holder_is_dead(f"{machine_id()}:{int(child.stdout)}:x:1"), "an exited process"


_HOLD_LEASE = textwrap.dedent(
    """
    import asyncio, dataclasses, sys, time
    from cadence.checkpoint import SQLiteCheckpointStore, open_session

    @dataclasses.dataclass
    class Order:
        trail: list = dataclasses.field(default_factory=list)

    async def main():
        store = SQLiteCheckpointStore(sys.argv[1], lease_ttl=600)
        await open_session(store, cadence_name="orders", run_id="K", score=Order(),
                           step_names=["validate"])
        print("holding", flush=True)
        time.sleep(600)

    asyncio.run(main())
    """
)


def test_a_lease_of_a_worker_killed_with_sigkill_is_taken_over_at_once(tmp_path: Path) -> None:
    """After kill -9 the successor gets the run without waiting out the 600 s lease."""
    path = tmp_path / "cp.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LEASE, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )

    async def while_alive() -> str | None:
        store = SQLiteCheckpointStore(path)
        try:
            await open_session(
                store,
                cadence_name="orders",
                run_id="K",
                score=Order(),
                step_names=["validate"],
                lease_wait=0,
            )
        except CheckpointError as exc:
            return exc.code
        finally:
            await store.aclose()
        return None

    async def after_kill() -> list[str]:
        store = SQLiteCheckpointStore(path, lease_wait=0)  # the dead holder must be recognised
        try:
            return (await build(store, []).run(Order(), run_id="K")).trail
        finally:
            await store.aclose()

    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"holding\n"
        assert asyncio.run(while_alive()) == "LEASE_HELD"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert asyncio.run(after_kill()) == list(STEPS)
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


async def test_a_live_holders_lease_is_waited_for_up_to_lease_wait() -> None:
    """LEASE_HELD comes after lease_wait seconds, not at once; by default one lease_ttl."""
    with FakeClock() as clock:
        store = InMemoryCheckpointStore(lease_ttl=30, clock=clock.monotonic)
        await store.acquire_lease("orders", "L", holder="a worker elsewhere", ttl=100)
        with pytest.raises(CheckpointError) as info:
            await open_session(
                store,
                cadence_name="orders",
                run_id="L",
                score=Order(),
                step_names=["validate"],
                lease_wait=10,
            )
        assert info.value.code == "LEASE_HELD" and 10 <= clock.monotonic() < 11
        await store.acquire_lease("orders", "M", holder="a worker elsewhere", ttl=30)
        start = clock.monotonic()
        session = await open_session(
            store, cadence_name="orders", run_id="M", score=Order(), step_names=["validate"]
        )
        assert 30 <= clock.monotonic() - start < 31  # the lease expired within the default wait
        await session.finish(None)


# -- lost and corrupt records ------------------------------------------------------------------


async def _drop_state(kind: str, store: Any, tmp_path: Path, run_id: str) -> None:
    if kind == "memory":
        store._runs[("orders", run_id)].state = None
    elif kind == "sqlite":
        with sqlite3.connect(tmp_path / "cp.db") as conn:
            conn.execute("UPDATE cadence_runs SET state = NULL WHERE run_id = ?", (run_id,))
    elif kind == "redis":
        await store._redis().hdel(store._keys("orders", run_id)[0], "state")
    else:

        async def drop(conn: Any) -> None:
            await conn.execute("UPDATE cadence_runs SET state = NULL WHERE run_id = %s", (run_id,))

        await store._txn(drop)


@pytest.mark.parametrize("kind", ALL_STORES)
async def test_recorded_steps_without_their_state_stop_the_run(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Steps recorded but the score record gone: CHECKPOINT_CORRUPT, no step runs again."""
    store, calls = make_store(kind, tmp_path, request), []
    run_id = f"N-{kind}-{os.getpid()}-{id(calls)}"

    def crash(score: Order) -> None:
        raise RuntimeError("crash")

    failing = Cadence("orders", Order()).with_checkpoint(store)
    failing.then("validate", lambda s: s.trail.append("validate")).then("charge", crash)
    with pytest.raises(Exception, match="crash"):
        await failing.run(Order(), run_id=run_id)
    await _drop_state(kind, store, tmp_path, run_id)
    with pytest.raises(CheckpointError) as info:
        await build(store, calls).run(Order(), run_id=run_id)
    assert info.value.code == "CHECKPOINT_CORRUPT" and "validate" in str(info.value)
    assert calls == []
    await close(store)


@pytest.mark.parametrize(
    ("column", "value"), [("expires", "soon"), ("token", "x"), ("holder", b"\xff")]
)
async def test_corrupt_sqlite_lease_fields_raise_the_typed_error(
    tmp_path: Path, column: str, value: Any
) -> None:
    """A lease field of the wrong type is CHECKPOINT_CORRUPT naming it, not a TypeError."""
    store = SQLiteCheckpointStore(tmp_path / "cp.db")
    await store.acquire_lease("orders", "O", holder="w1", ttl=30)
    with sqlite3.connect(tmp_path / "cp.db") as conn:
        conn.execute(f"UPDATE cadence_runs SET {column} = ?", (value,))
    with pytest.raises(CheckpointError) as info:
        await store.acquire_lease("orders", "O", holder="w2", ttl=30)
    assert info.value.code == "CHECKPOINT_CORRUPT" and "lease" in str(info.value)
    await store.aclose()


@pytest.mark.parametrize(
    ("field", "value", "call"),
    [
        ("expires", "soon", "acquire"),
        ("token", "1.5", "acquire"),
        ("attempts", "many", "attempt"),
        ("completed_at", "x", "completion"),
    ],
)
async def test_corrupt_redis_fields_raise_the_typed_error(
    redis_url: str, field: str, value: str, call: str
) -> None:
    """A hash field that is not a number is CHECKPOINT_CORRUPT naming it, not a Lua error."""
    store = RedisCheckpointStore(redis_url, prefix=f"corrupt-{field}")
    token = await store.acquire_lease("orders", "P", holder="w1", ttl=30)
    await store.begin_attempt("orders", "P", "a", token=token)
    await store._redis().hset(store._keys("orders", "P")[0], mapping={field: value, "result": "{}"})
    calls = {
        "acquire": lambda: store.acquire_lease("orders", "P", holder="w2", ttl=30),
        "attempt": lambda: store.begin_attempt("orders", "P", "a", token=token),
        "completion": lambda: store.get_completion("orders", "P"),
    }
    with pytest.raises(CheckpointError) as info:
        await calls[call]()
    assert info.value.code == "CHECKPOINT_CORRUPT" and repr(field) in str(info.value)
    await store.aclose()


async def test_a_redis_key_of_the_wrong_type_raises_the_typed_error(redis_url: str) -> None:
    """A run key that is not a hash (WRONGTYPE) is CHECKPOINT_CORRUPT for reads and writes."""
    store = RedisCheckpointStore(redis_url, prefix="wrongtype")
    run_key, steps_key = store._keys("orders", "Q")
    await store._redis().set(run_key, "x")
    await store._redis().set(steps_key, "x")
    for call in (
        store.get_failure("orders", "Q"),
        store.get_completed_measures("orders", "Q"),
        store.acquire_lease("orders", "Q", holder="w", ttl=1),
    ):
        with pytest.raises(CheckpointError) as info:
            await call
        assert info.value.code == "CHECKPOINT_CORRUPT"
    await store.aclose()


def _deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = {"k": [value]}
    return value


async def test_deeply_nested_records_raise_checkpoint_error_not_recursion_error(
    tmp_path: Path,
) -> None:
    """Nesting far past any real score is a CheckpointError everywhere it can enter."""
    deep = _deep(5000)
    with pytest.raises(CheckpointError):
        await InMemoryCheckpointStore().save_checkpoint("c", "r", "a", 0, deep)
    store = SQLiteCheckpointStore(tmp_path / "cp.db")
    with pytest.raises(CheckpointError):
        await store.save_checkpoint("c", "r", "a", 0, deep)
    text = "[" * 100_000 + "]" * 100_000
    await store.save_checkpoint("c", "r", "a", 0, {"ok": True})
    with sqlite3.connect(tmp_path / "cp.db") as conn:
        conn.execute("UPDATE cadence_runs SET state = ?", (text,))
    with pytest.raises(CheckpointError) as info:
        await store.get_last_score_state("c", "r")
    assert info.value.code == "CHECKPOINT_CORRUPT"
    await store.aclose()
