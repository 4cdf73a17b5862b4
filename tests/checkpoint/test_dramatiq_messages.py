"""CadenceActor messages: a malformed one fails, saying it is malformed and which field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker

from cadence import Cadence, Score
from cadence.checkpoint import RedisCheckpointStore
from cadence.exceptions import CadenceError
from cadence.integrations.dramatiq import CadenceActor, RunFailed


@dataclass
class Order(Score):
    qty: int = 1
    note: str = ""


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    """A Redis broker on the session's redis-server, flushed first and closed afterwards."""
    b = RedisBroker(url=redis_url)
    b.client.flushdb()
    yield b
    b.close()


@pytest.fixture
def jobs(broker: RedisBroker, redis_url: str) -> tuple[CadenceActor[Order], list[Any]]:
    """An actor whose one step records the quantity it ran with."""
    ran: list[Any] = []

    def ship(score: Order) -> None:
        ran.append(score.qty)

    cadence = Cadence("messages", Order()).then("ship", ship)
    return CadenceActor(cadence, store=RedisCheckpointStore(redis_url), broker=broker), ran


def _good(jobs: CadenceActor[Order]) -> dict[str, Any]:
    return jobs.codec.encode_score(Order(qty=3))


@pytest.mark.parametrize(
    ("state", "field", "why"),
    [
        ({"qty": "three"}, "state", "format 'cadence.score/1'"),  # no format: ran unchecked
        ("hello", "state", "got a str"),
        ({"fields": {"qty": "three"}}, "state.fields.qty", "a str, but the field is annotated int"),
        ({"fields": {"qty": 2, "zzz": 1}}, "state.fields", "'zzz' the score class does not have"),
        ({"fields": [1]}, "state.fields", "expected an object"),
        ({"class": "shop:Other"}, "state.class", "'shop:Other' score"),
    ],
)
async def test_a_malformed_state_fails_the_run_naming_the_field(
    jobs: tuple[CadenceActor[Order], list[Any]], state: Any, field: str, why: str
) -> None:
    """The run is recorded failed with MALFORMED_MESSAGE and the field, and runs no step; it
    said "corrupt checkpoint" (or, without a format key, ran with a str in an int field)."""
    actor, ran = jobs
    if isinstance(state, dict) and set(state) <= {"fields", "class"}:
        state = {**_good(actor), **state}
    await actor._perform("r-1", state)  # what the actor runs with the message's arguments
    status = actor.status("r-1")
    assert status is not None and status.state == "failed" and status.error is not None
    assert "[MALFORMED_MESSAGE] malformed message for actor 'cadence:messages'" in status.error
    assert f"(run 'r-1'): {field}: " in status.error and why in status.error
    assert "CheckpointError" not in status.error and "corrupt checkpoint" not in status.error
    assert ran == []
    with pytest.raises(RunFailed, match="malformed message"):
        actor.result("r-1")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((None, "STATE"), "run_id"),  # ran, with no run id to checkpoint under
        ((123, "STATE"), "run_id"),
        (("", "STATE"), "run_id"),
        (("r-1",), "args"),
        (("r-1", "STATE", "extra"), "args"),
    ],
)
async def test_a_message_without_a_usable_run_id_is_refused_naming_the_field(
    jobs: tuple[CadenceActor[Order], list[Any]], args: tuple[Any, ...], field: str
) -> None:
    """Without a run id there is no status to record on: the error is raised, for Dramatiq
    to log, and nothing runs."""
    actor, ran = jobs
    args = tuple(_good(actor) if a == "STATE" else a for a in args)
    with pytest.raises(CadenceError, match=rf"malformed message .*: {field}: ") as caught:
        await actor._perform(*args)
    assert caught.value.code == "MALFORMED_MESSAGE" and caught.value.details["field"] == field
    assert ran == []


async def test_a_malformed_redelivery_does_not_overwrite_a_succeeded_run(
    jobs: tuple[CadenceActor[Order], list[Any]],
) -> None:
    """A well-formed message runs; a bad copy of it delivered after success changes nothing."""
    actor, ran = jobs
    await actor._perform("r-2", _good(actor))
    assert ran == [3] and actor.result("r-2").qty == 3
    await actor._perform("r-2", "garbage")
    status = actor.status("r-2")
    assert status is not None and status.state == "succeeded" and ran == [3]
