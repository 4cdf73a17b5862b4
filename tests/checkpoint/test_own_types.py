"""What cadence itself writes into a score checkpoints under any annotation.

``.wait(into=)`` writes a ``Decision``, ``.map(errors_into=)`` a list of ``ItemFailure`` and
``with_budget(into=)`` a ``Spend``: the codec's allow-list takes them even where the field says
only ``Any`` or a bare ``list``. Before, a run that parked at an approval into an ``Any`` field
could never be resumed: the wait was resolved, then every save of the score was refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Approval, Budget, Cadence, Decision, NoteError, RunSuspended, Score
from cadence.checkpoint import InMemoryCheckpointStore, ScoreCodec, SQLiteCheckpointStore


@dataclass
class Loose(Score):
    decision: Any = None
    failures: list = field(default_factory=list)  # type: ignore[type-arg]
    spend: Any = None
    log: list[str] = field(default_factory=list)


def _pay(score: Loose) -> None:
    score.log.append("pay")


def _refund_flow(store: Any, pay: Any = _pay) -> Cadence[Loose]:
    return (
        Cadence("refund", Loose())
        .wait("manager", Approval(), into="decision")
        .then("pay", pay)
        .with_checkpoint(store)
    )


async def test_an_approval_into_an_any_field_resumes_and_survives_a_new_store(
    tmp_path: Path,
) -> None:
    """The approved run saves its Decision; after a failure a new store reads it back."""
    path = tmp_path / "runs.db"
    attempts: list[Any] = []

    def pay_once_down(score: Loose) -> None:
        attempts.append(score.decision)
        if len(attempts) == 1:
            raise ConnectionError("bank down")
        score.log.append("pay")

    store = SQLiteCheckpointStore(str(path))
    with pytest.raises(RunSuspended):
        await _refund_flow(store, pay_once_down).run(Loose(), run_id="r-1")
    with pytest.raises(NoteError, match="bank down"):  # the decision was saved before 'pay'
        await _refund_flow(store, pay_once_down).resume("r-1", Decision.approve(by="ana"))
    await store.aclose()
    reopened = SQLiteCheckpointStore(str(path))  # a new store and codec, as a new process has
    try:
        done = await _refund_flow(reopened, pay_once_down).run(Loose(), run_id="r-1")
    finally:
        await reopened.aclose()
    assert done.log == ["pay"]
    assert isinstance(done.decision, Decision) and done.decision.by == "ana"
    assert attempts[1] == attempts[0] == done.decision


def test_cadence_values_encode_under_loose_annotations() -> None:
    from cadence._map import ItemFailure
    from cadence.budget import Spend

    score = Loose(
        decision=Decision.reject("too much", by="li"),
        failures=[ItemFailure(index=2, error_type="ValueError", message="bad", code=None)],
        spend=Spend(requests=1, cost=0.25),
    )
    codec = ScoreCodec()
    back = codec.decode_score(codec.encode_score(score), Loose)
    assert back == score


async def test_a_map_collecting_failures_into_a_bare_list_checkpoints() -> None:
    def invert(n: int) -> float:
        return 1 / n

    @dataclass
    class Numbers(Score):
        numbers: list[int] = field(default_factory=list)
        inverses: list = field(default_factory=list)  # type: ignore[type-arg]
        failed: list = field(default_factory=list)  # type: ignore[type-arg]

    flow = (
        Cadence("inv", Numbers())
        .map("invert", "numbers", invert, into="inverses", on_error="collect", errors_into="failed")
        .with_checkpoint(InMemoryCheckpointStore())
    )
    done = await flow.run(Numbers(numbers=[1, 0, 4]), run_id="n-1")
    assert [f.index for f in done.failed] == [1]


async def test_a_budget_spend_into_an_any_field_checkpoints() -> None:
    flow = (
        Cadence("b", Loose())
        .then("pay", _pay)
        .with_budget(Budget(requests=5), into="spend")
        .with_checkpoint(InMemoryCheckpointStore())
    )
    done = await flow.run(Loose(), run_id="b-1")
    assert done.log == ["pay"] and done.spend is not None
