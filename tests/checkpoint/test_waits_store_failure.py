"""A store failing while a run parks leaves no wait scope behind for the next run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cadence import Approval, Cadence, RunSuspended, Score
from cadence._waits import current_scope
from cadence.checkpoint import InMemoryCheckpointStore


class LeaseReleaseFailsOnce(InMemoryCheckpointStore):
    """A store whose lease release fails once (Redis going away as a run parks)."""

    fail = False

    async def release_lease(self, *args: Any, **kwargs: Any) -> None:
        await super().release_lease(*args, **kwargs)
        if self.fail:
            self.fail = False
            raise ConnectionError("store went away")


@dataclass
class Job(Score):
    n: int = 0


async def test_a_store_failure_while_parking_closes_the_runs_wait_scope() -> None:
    store = LeaseReleaseFailsOnce()
    flow = (
        Cadence("job", Job())
        .then("prepare", lambda s: None)
        .wait("review", Approval())
        .with_checkpoint(store)
    )
    store.fail = True
    with pytest.raises(ConnectionError, match="store went away"):
        await flow.run(run_id="one")
    assert current_scope() is None
    # The next run in the same task parks as itself, not with the first run's scope.
    with pytest.raises(RunSuspended) as parked:
        await flow.run(run_id="two")
    assert [w.run_id for w in parked.value.waits] == ["two"]
