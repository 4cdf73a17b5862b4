"""SQLiteCheckpointStore.close/aclose: idempotent, and the store can be used again after it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cadence import Cadence, Score
from cadence.checkpoint import SQLiteCheckpointStore


@dataclass
class Job(Score):
    n: int = 0


CALLS: list[int] = []


def _bump(score: Job) -> None:
    CALLS.append(score.n)
    score.n += 1


async def test_closing_twice_is_a_no_op_and_a_closed_store_reopens_on_use(tmp_path: Path) -> None:
    """A second aclose() (a lifespan and an atexit handler both closing) does nothing, and a
    run after close reopens the database, as the Redis and PostgreSQL stores reconnect; the
    first run's checkpoint is still there."""
    CALLS.clear()
    store = SQLiteCheckpointStore(tmp_path / "ck.db")
    cadence = Cadence("job", Job()).with_checkpoint(store).then("bump", _bump)
    assert (await cadence.run(Job(), run_id="j1")).n == 1
    await store.aclose()
    await store.aclose()
    store.close()
    assert (await cadence.run(Job(), run_id="j2")).n == 1
    assert (await cadence.run(Job(), run_id="j1")).n == 1  # finished: replayed, not re-run
    assert len(CALLS) == 2
    await store.aclose()
