"""Store edge cases: event loops, dropped connections, privileges, odd causes, changed classes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pydantic
import pytest
import redis
import redis.asyncio as aioredis

from cadence import Cadence, Score
from cadence.checkpoint import (
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    RedisCheckpointStore,
    ScoreCodec,
    SQLiteCheckpointStore,
    wait_store_for,
)
from cadence.exceptions import CheckpointError


@dataclasses.dataclass
class Counter(Score):
    n: int = 0


def _inc(score: Counter) -> None:
    score.n += 1


def test_a_redis_store_serves_successive_run_sync_calls(redis_url: str) -> None:
    """run_sync() twice on one Redis store works, and leaves no socket of a finished loop open."""
    store = RedisCheckpointStore(redis_url, prefix=f"loops-{uuid.uuid4().hex}")
    cadence = Cadence("loops", Counter()).with_checkpoint(store).then("inc", _inc)
    for i in range(4):
        assert cadence.run_sync(Counter(), run_id=f"r{i}").n == 1
        asyncio.run(wait_store_for(store).get_waits("loops", f"r{i}"))
    asyncio.run(store.aclose())  # from yet another loop: nothing left to close, no error
    gc.collect()  # an unclosed socket would be a ResourceWarning, an error in this suite


async def test_a_redis_store_keeps_the_client_it_was_given_after_aclose(redis_url: str) -> None:
    """aclose() on a store built with client= does not switch it to the default URL."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisCheckpointStore(client=client, prefix=f"given-{uuid.uuid4().hex}")
    await store.save_checkpoint("c", "r", "a", 0, {"i": 1})
    await store.aclose()
    assert await store.get_completed_measures("c", "r") == {"a"}
    await store.clear_checkpoints("c", "r")
    await store.aclose()
    await client.aclose()


def _kill_redis_clients(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as admin:
        admin.client_kill_filter(_type="normal", skipme=True)


def _kill_postgres_clients(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )


@pytest.mark.parametrize("kind", ["redis", "postgres"])
async def test_a_dropped_connection_is_reopened_for_the_next_write(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """The first checkpoint after the server dropped the store's connection succeeds."""
    address: str = request.getfixturevalue({"redis": "redis_url", "postgres": "postgres_dsn"}[kind])
    store: Any = (
        RedisCheckpointStore(address, prefix=f"drop-{uuid.uuid4().hex}")
        if kind == "redis"
        else PostgresCheckpointStore(address)
    )
    run_id = uuid.uuid4().hex
    token = await store.acquire_lease("drop", run_id, holder="w", ttl=30)
    await store.save_checkpoint("drop", run_id, "a", 0, {"i": 1}, token=token)
    (_kill_redis_clients if kind == "redis" else _kill_postgres_clients)(address)
    await store.save_checkpoint("drop", run_id, "b", 1, {"i": 2}, token=token)
    assert await store.get_completed_measures("drop", run_id) == {"a", "b"}
    await store.clear_checkpoints("drop", run_id, token=token)
    await store.aclose()


@contextlib.contextmanager
def _scratch_database(postgres_dsn: str, prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh database on the test server, dropped afterwards: ``(its name, its DSN)``."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield name, f"{postgres_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def test_a_postgres_role_without_create_privilege_uses_existing_tables(
    postgres_dsn: str,
) -> None:
    """A role with only DML grants uses tables created beforehand (no DDL when all is there)."""
    role = f"priv_{uuid.uuid4().hex[:12]}"
    try:
        with _scratch_database(postgres_dsn, "priv") as (_, owner_dsn):
            owner = PostgresCheckpointStore(owner_dsn)
            await owner.save_checkpoint("c", "r", "a", 0, {"i": 1})
            await wait_store_for(owner).get_waits("c", "r")
            await owner.aclose()
            with psycopg.connect(owner_dsn, autocommit=True) as admin:
                admin.execute(f"CREATE ROLE {role} LOGIN")
                admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
                admin.execute(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
                )
            app = PostgresCheckpointStore(owner_dsn.replace("postgres@", f"{role}@"))
            try:
                assert await app.get_completed_measures("c", "r") == {"a"}
                await app.save_checkpoint("c", "r", "b", 1, {"i": 2})
                assert await wait_store_for(app).get_waits("c", "r") == []
            finally:
                await app.aclose()
    finally:  # after the database, which holds its grants
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


async def test_a_postgres_table_dropped_while_connected_is_created_again(
    postgres_dsn: str,
) -> None:
    """After UndefinedTable the store reconnects, so the next operation has its tables again."""
    with _scratch_database(postgres_dsn, "drop") as (_, dsn):
        store = PostgresCheckpointStore(dsn)
        try:
            await store.save_checkpoint("c", "r", "a", 0, {"i": 1})
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("DROP TABLE cadence_steps")
            with pytest.raises(psycopg.errors.UndefinedTable):
                await store.get_completed_measures("c", "r")
            assert await store.get_completed_measures("c", "r") == set()
        finally:
            await store.aclose()


def _fail_with(message: str) -> Callable[[Counter], None]:
    def fail(score: Counter) -> None:
        raise ValueError(message)

    return fail


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
@pytest.mark.parametrize("message", ["no file /tmp/\udcff", "bad\x00input"])
async def test_a_failure_message_any_store_cannot_keep_is_recorded_escaped(
    kind: str, message: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A lone surrogate or a NUL in an error message neither hides the error nor its cause."""
    store: Any = {
        "sqlite": lambda: SQLiteCheckpointStore(tmp_path / "cause.db"),
        "redis": lambda: RedisCheckpointStore(
            request.getfixturevalue("redis_url"), prefix=f"cause-{uuid.uuid4().hex}"
        ),
        "postgres": lambda: PostgresCheckpointStore(request.getfixturevalue("postgres_dsn")),
    }[kind]()
    run_id = uuid.uuid4().hex
    cadence = Cadence("cause", Counter()).with_checkpoint(store).then("x", _fail_with(message))
    with pytest.raises(Exception, match="ValueError") as info:
        await cadence.run(Counter(), run_id=run_id)
    assert not isinstance(info.value, UnicodeError | psycopg.Error)
    cause = await store.get_failure("cause", run_id)
    assert cause is not None and cause.endswith(ascii(message)[1:-1])
    await store.clear_checkpoints("cause", run_id)
    await store.aclose()


@dataclasses.dataclass
class Line:
    sku: str = ""
    qty: int = 0


class Address(pydantic.BaseModel):
    city: str = ""
    zip: str = ""


@dataclasses.dataclass
class Order(Score):
    total: int = 0
    note: str = ""
    line: Line = dataclasses.field(default_factory=Line)
    address: Address = dataclasses.field(default_factory=Address)


def _stored_order() -> dict[str, Any]:
    return ScoreCodec().encode_score(
        Order(total=99, note="paid", line=Line("A", 2), address=Address(city="Oslo", zip="0150"))
    )


def _renamed(state: dict[str, Any], path: list[str], old: str, new: str) -> dict[str, Any]:
    """``state`` as a newer class would have written it, with field ``old`` called ``new``."""
    fields = state["fields"]
    for name in path:
        fields = fields[name]["f"]
    fields[new] = fields.pop(old)
    return state


@pytest.mark.parametrize(
    ("path", "old", "new", "where"),
    [
        ([], "total", "amount", "$"),
        (["line"], "qty", "quantity", "$.line"),
        (["address"], "zip", "postcode", "$.address"),
    ],
)
def test_a_field_renamed_since_the_checkpoint_is_an_error_not_a_lost_value(
    path: list[str], old: str, new: str, where: str
) -> None:
    """Stored fields the class no longer has stop the resume (FIELD_MISMATCH), naming them."""
    # The stored state has the *new* name; the class still has the old one: the same as a
    # class whose field was renamed after the checkpoint was written.
    state = _renamed(_stored_order(), path, old, new)
    with pytest.raises(CheckpointError) as info:
        ScoreCodec().restore(Order(), state)
    assert info.value.code == "CHECKPOINT_FIELD_MISMATCH"
    assert info.value.details["path"] == where
    assert info.value.details["fields"] == [new]
    assert repr(new) in str(info.value)


@dataclasses.dataclass
class Strict:
    sku: str
    qty: int = 0


@dataclasses.dataclass
class StrictOrder(Score):
    line: Strict = dataclasses.field(default_factory=lambda: Strict("x"))


def test_a_required_field_added_since_the_checkpoint_names_the_field() -> None:
    """A nested field without a default missing from the checkpoint is FIELD_MISMATCH."""
    state = ScoreCodec().encode_score(StrictOrder(line=Strict("A", 2)))
    del state["fields"]["line"]["f"]["sku"]  # as written before ``sku`` was added
    with pytest.raises(CheckpointError) as info:
        ScoreCodec().decode_score(state, StrictOrder)
    assert info.value.code == "CHECKPOINT_FIELD_MISMATCH"
    assert info.value.details["path"] == "$.line.sku"


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: InMemoryCheckpointStore(**kw),
        lambda **kw: SQLiteCheckpointStore(":memory:", **kw),
        lambda **kw: RedisCheckpointStore(**kw),
        lambda **kw: PostgresCheckpointStore("postgresql://x@127.0.0.1:1/x", **kw),
    ],
    ids=["memory", "sqlite", "redis", "postgres"],
)
@pytest.mark.parametrize("option", ["retention", "lease_ttl"])
def test_an_infinite_retention_or_lease_is_refused_when_the_store_is_made(
    make: Callable[..., Any], option: str
) -> None:
    """inf is refused at once (None keeps records), not at the end of a run on Redis."""
    with pytest.raises(ValueError, match=f"{option} must be a finite number"):
        make(**{option: float("inf")})


@pytest.mark.parametrize("option", ["retention", "lease_ttl"])
def test_redis_refuses_a_duration_its_expiry_cannot_hold(option: str) -> None:
    """A retention or lease longer than Redis's millisecond expiry fails when the store is made."""
    with pytest.raises(ValueError, match=f"{option} must be at most"):
        RedisCheckpointStore(**{option: 1e20})


async def test_redis_purge_finds_records_under_a_prefix_with_glob_characters(
    redis_url: str,
) -> None:
    """purge_completed() treats the prefix literally, so ``app[1]`` records are purged."""
    store = RedisCheckpointStore(redis_url, prefix=f"app[{uuid.uuid4().hex}]", retention=None)
    for i in range(3):
        await store.complete_run("c", f"r{i}", {"i": i})
    assert await store.purge_completed(older_than=0) == 3
    assert await store.get_completion("c", "r0") is None
    await store.aclose()
