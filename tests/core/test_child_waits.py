"""A ``.child`` cadence may not hold a wait step: checked when added and when it runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cadence import Approval, Cadence, CadenceDefinitionError, NoteError, Score
from cadence.checkpoint import InMemoryCheckpointStore


@dataclass
class Order(Score):
    log: list[str] = field(default_factory=list)


def _merge(parent: Order, child: Order) -> None:
    parent.log.extend(child.log)


def test_a_child_with_a_wait_is_refused_when_added() -> None:
    inner = Cadence("inner", Order()).wait("review", Approval())
    with pytest.raises(CadenceDefinitionError, match="has the wait step 'review'"):
        Cadence("outer", Order()).child("sub", inner, _merge)


async def test_a_wait_added_to_the_child_afterwards_is_refused_before_its_steps_run() -> None:
    ran: list[str] = []
    inner = Cadence("inner", Order()).then("charge", lambda s: ran.append("charge"))
    outer = (
        Cadence("outer", Order())
        .child("sub", inner, _merge)
        .with_checkpoint(InMemoryCheckpointStore())
    )
    inner.wait("review", Approval())  # after .child() took it
    with pytest.raises(NoteError) as failed:
        await outer.run(run_id="o-1")
    assert isinstance(failed.value.__cause__ or failed.value.original, CadenceDefinitionError)
    assert "has the wait step 'review'" in str(failed.value)
    assert ran == []  # nothing of the child ran: on resume it would have run again
