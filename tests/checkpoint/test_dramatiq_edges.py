"""CadenceActor edges: options checked up front, statuses that stay, time limits honoured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker

from cadence import Cadence, Score
from cadence.checkpoint import RedisCheckpointStore
from cadence.integrations.dramatiq import CadenceActor, RunFailed

from ._dramatiq_support import load_app, start_workers, stop_workers


@dataclass
class Plain(Score):
    pass


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    """A Redis broker on the session's redis-server, flushed first and closed afterwards."""
    b = RedisBroker(url=redis_url)
    b.client.flushdb()
    yield b
    b.close()


@pytest.fixture
def edges_app(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The time-limited app module, as the web process sees it."""
    yield from load_app("_dramatiq_edges_app", redis_url, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("result_ttl", 0),
        ("result_ttl", -1.0),
        ("result_ttl", float("inf")),
        ("result_ttl", "86400"),
        ("lease_wait", -1.0),
        ("lease_wait", float("nan")),
        ("time_limit", 0),
        ("time_limit", -5),
        ("time_limit", 1.5),
    ],
)
def test_bad_actor_option_fails_when_the_actor_is_built(
    broker: RedisBroker, redis_url: str, option: str, value: Any
) -> None:
    """A nonsensical duration is refused by CadenceActor(...), naming the option and value."""
    cadence = Cadence(f"edges-bad-{option}", Plain()).then("noop", lambda s: None)
    with pytest.raises(ValueError, match=rf"CadenceActor\({option}=\.\.\.\).*got {value!r}"):
        CadenceActor(
            cadence, store=RedisCheckpointStore(redis_url), broker=broker, **{option: value}
        )
    assert cadence.checkpoint_store is None, "a refused actor leaves the cadence untouched"


def test_fractional_result_ttl_keeps_the_status(broker: RedisBroker, redis_url: str) -> None:
    """result_ttl=0.5 keeps the status for a (whole) second instead of deleting it at once."""
    cadence = Cadence("edges-ttl", Plain()).then("noop", lambda s: None)
    jobs = CadenceActor(
        cadence, store=RedisCheckpointStore(redis_url), broker=broker, result_ttl=0.5
    )
    run_id = jobs.enqueue(Plain())
    status = jobs.status(run_id)
    assert status is not None and status.state == "queued"
    assert broker.client.ttl(jobs._key(run_id)) == 1


@pytest.mark.slow
def test_time_limit_stops_the_run_on_a_run_worker_and_marks_it_failed(
    edges_app: Any, tmp_path: Path
) -> None:
    """run_worker enforces the actor's time_limit; the cut-off run is 'failed', not 'running'."""
    workers = start_workers(edges_app, 1, tmp_path)
    try:
        run_id = edges_app.jobs.enqueue(edges_app.Job(seconds=60.0))
        with pytest.raises(RunFailed, match="TimeLimitExceeded"):
            edges_app.jobs.wait(run_id, timeout=45)
        status = edges_app.jobs.status(run_id)
        assert status.state == "failed" and status.deliveries == 1
        quick = edges_app.jobs.enqueue(edges_app.Job(seconds=0.0))
        assert edges_app.jobs.wait(quick, timeout=45).done is True, "the worker keeps working"
    finally:
        stop_workers(workers)
