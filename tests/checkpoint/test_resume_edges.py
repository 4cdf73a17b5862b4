"""Resume edge cases: handled steps, a child cadence used twice, None defaults, bad store options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from cadence import Cadence, CadenceHooks, Score
from cadence.checkpoint import InMemoryCheckpointStore, ScoreCodec
from cadence.exceptions import CadenceDefinitionError, NoteError


@dataclass
class Order(Score):
    shipped_at: dt.datetime = None  # type: ignore[assignment]  # implicit Optional
    log: list[str] = field(default_factory=list)


@dataclass
class Plain(Score):
    log: list[str] = field(default_factory=list)


def test_none_default_field_restores() -> None:
    """`shipped_at: datetime = None` (an implicit Optional) restores the None it was saved with.

    Restore type-checked it as a datetime and failed the resume with CHECKPOINT_TYPE_MISMATCH.
    """
    codec = ScoreCodec()
    state = codec.encode_score(Order())
    assert codec.decode_fields(state, Order)["shipped_at"] is None


async def test_handled_step_is_checkpointed() -> None:
    """A step whose error a hook handled is checkpointed: a resume after a later crash runs
    neither it (its handler again) nor the steps after it that completed."""
    store = InMemoryCheckpointStore()
    calls: list[str] = []

    def notify(o: Plain) -> None:
        calls.append("notify")
        raise TimeoutError("slow")

    def charge(o: Plain) -> None:
        calls.append("charge")

    def ship(o: Plain) -> None:
        raise ConnectionError("down")

    c = (
        Cadence("o", Plain())
        .with_checkpoint(store)
        .then("notify", notify)
        .then("charge", charge)
        .then("ship", ship)
    )

    class Suppress(CadenceHooks):
        async def on_error(self, note_name, score, error):  # type: ignore[override]
            return note_name == "notify"

    c.with_hooks(Suppress())
    with pytest.raises(NoteError, match="down"):
        await c.run(Plain(), run_id="r")
    with pytest.raises(NoteError, match="down"):
        await c.run(Plain(), run_id="r")
    assert calls == ["notify", "charge"]  # neither notify nor charge ran on the resume


async def test_child_used_twice_runs_twice() -> None:
    """One checkpointed child cadence behind two .child steps runs in both: the second step
    used to replay the first one's completion record and run nothing."""
    store = InMemoryCheckpointStore()
    sent: list[str] = []
    mail = Cadence("mail", Plain()).with_checkpoint(store).then("send", lambda o: sent.append("x"))
    parent = (
        Cadence("p", Plain())
        .with_checkpoint(store)
        .child("one", mail, lambda p, c: None)
        .child("two", mail, lambda p, c: None)
    )
    await parent.run(Plain(), run_id="r")
    assert sent == ["x", "x"]


def test_bad_store_arguments_fail_early() -> None:
    """A store class in place of a store, and a lease_ttl that is not > 0, fail when given."""
    with pytest.raises(CadenceDefinitionError, match="not a store"):
        Cadence("a", Order()).with_checkpoint(InMemoryCheckpointStore)  # type: ignore[arg-type]
    for ttl in (0, -1):
        with pytest.raises(ValueError, match="lease_ttl"):
            InMemoryCheckpointStore(lease_ttl=ttl)


async def test_runs_with_their_own_id_start_from_the_template() -> None:
    """`run(run_id=...)` without a score starts from a copy of the cadence's score: two runs
    with different ids do not see each other's values, and the definition keeps its score."""
    template = Plain()

    async def stamp(score: Plain) -> None:
        score.log.append("stamped")

    cadence = Cadence("ids", template).then("stamp", stamp)
    cadence.with_checkpoint(InMemoryCheckpointStore())
    first = await cadence.run(run_id="order-1")
    second = await cadence.run(run_id="order-2")
    assert first.log == second.log == ["stamped"]
    assert first is not second and template.log == []
    # Without an id, a run is on the definition's own score (0.7.2's run()).
    assert (await Cadence("plain", template).then("stamp", stamp).run()) is template
    assert template.log == ["stamped"]
