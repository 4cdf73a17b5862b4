"""0.7.2's checkpoint helpers and checkpoints keep working."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import Cadence, CheckpointError, InMemoryCheckpointStore, Score
from cadence.checkpoint import ScoreCodec


@dataclass
class Pay(Score):
    value: str = ""
    items: list[str] = field(default_factory=list)


log: list[str] = []


async def validate(score: Pay) -> None:
    log.append("validate")
    score.value = "validated"


async def charge(score: Pay) -> None:
    log.append("charge")
    score.items.append("charged")


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    log.clear()


def test_serialize_and_restore_score_keep_their_shapes_and_warn() -> None:
    """serialize_score gives the plain field dict; restore_score sets it back; both warn."""
    from cadence.checkpoint import restore_score, serialize_score

    with pytest.warns(DeprecationWarning, match="encode_score"):
        state = serialize_score(Pay(value="x", items=["a"]))
    assert state == {"value": "x", "items": ["a"]}
    restored = Pay()
    with pytest.warns(DeprecationWarning, match=r"ScoreCodec\(\)\.restore"):
        restore_score(restored, {**state, "_private": 1})
    assert (restored.value, restored.items) == ("x", ["a"]) and not hasattr(restored, "_private")
    typed = ScoreCodec().encode_score(Pay(value="typed"))
    with pytest.warns(DeprecationWarning):
        restore_score(restored, typed)
    assert restored.value == "typed"


async def test_checkpoint_hooks_turn_on_checkpointing() -> None:
    """with_hooks(CheckpointHooks(store, run_id)) checkpoints like with_checkpoint (and warns)."""
    from cadence import CheckpointHooks

    store = InMemoryCheckpointStore()
    with pytest.warns(DeprecationWarning, match=r"with_checkpoint\(store, run_id"):
        hooks = CheckpointHooks(store, "run-1")
    flow = Cadence("pay", Pay()).with_hooks(hooks).then("validate", validate).then("charge", charge)
    assert flow.checkpoint_store is store and hooks.run_id == "run-1"
    await store.save_checkpoint("pay", "run-1", "validate", 0, ScoreCodec().encode_score(Pay("v")))
    result = await flow.run(Pay())
    assert log == ["charge"] and result.value == "v"


async def test_a_072_checkpoint_resumes_with_a_warning() -> None:
    """A plain field dict saved by 0.7.2 resumes the run (completed steps are skipped)."""
    store = InMemoryCheckpointStore()
    await store.save_checkpoint(
        "pay", "old", "validate", 0, {"value": "from 0.7.2", "items": ["kept"]}
    )
    flow = (
        Cadence("pay", Pay())
        .with_checkpoint(store, run_id="old")
        .then("validate", validate)
        .then("charge", charge)
    )
    with pytest.warns(DeprecationWarning, match="saved by cadence-orchestration 0.7.2"):
        result = await flow.run(Pay())
    assert log == ["charge"]
    assert (result.value, result.items) == ("from 0.7.2", ["kept", "charged"])


async def test_a_plain_dict_that_is_not_this_score_is_still_corrupt() -> None:
    """Only dicts of this score's fields holding plain JSON count as 0.7.2 checkpoints."""
    store = InMemoryCheckpointStore()
    await store.save_checkpoint("pay", "bad", "validate", 0, {"unknown_field": 1})
    flow = Cadence("pay", Pay()).with_checkpoint(store, run_id="bad").then("validate", validate)
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        await flow.run(Pay())
    with pytest.raises(CheckpointError):
        ScoreCodec().decode_fields({"items": {1, 2}}, Pay)


class DictStore:
    """A store written against 0.7.2's protocol (its parameter names, plain dicts)."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], list[tuple[str, int, dict[str, Any]]]] = {}

    async def save_checkpoint(
        self,
        cadence_name: str,
        run_id: str,
        measure_name: str,
        measure_index: int,
        score_state: dict[str, Any],
    ) -> None:
        self.saved.setdefault((cadence_name, run_id), []).append(
            (measure_name, measure_index, score_state)
        )

    async def get_completed_measures(self, cadence_name: str, run_id: str) -> set[str]:
        return {name for name, _, _ in self.saved.get((cadence_name, run_id), [])}

    async def get_last_score_state(self, cadence_name: str, run_id: str) -> dict[str, Any] | None:
        rows = self.saved.get((cadence_name, run_id))
        return rows[-1][2] if rows else None

    async def clear_checkpoints(self, cadence_name: str, run_id: str) -> None:
        self.saved.pop((cadence_name, run_id), None)


async def test_a_store_written_for_072_checkpoints_and_resumes() -> None:
    """A 0.7.2-style store (measure_name, measure_index) receives checkpoints and resumes a run."""

    async def boom(score: Pay) -> None:
        raise RuntimeError("card declined")

    store = DictStore()

    def flow(second: Any) -> Cadence[Pay]:
        started = Cadence("pay", Pay()).with_checkpoint(store, run_id="r1")
        return started.then("validate", validate).then("charge", second)

    with pytest.raises(Exception, match="card declined"):
        await flow(boom).run(Pay())
    assert [(name, index) for name, index, _ in store.saved[("pay", "r1")]] == [("validate", 0)]
    result = await flow(charge).run(Pay())
    assert log == ["validate", "charge"] and result.value == "validated"
    assert ("pay", "r1") not in store.saved  # cleared after the run completed
