"""Edges of waits: refusals carry the documented codes; nested runs keep their own waits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cadence import Approval, Cadence, CadenceError, Decision, RunSuspended, wait_for
from cadence.checkpoint import InMemoryCheckpointStore


@dataclass
class _Turn:
    done: bool = False


async def test_an_empty_wait_for_key_is_a_bad_value() -> None:
    """wait_for(key="") fails with WAIT_BAD_VALUE, one of the codes docs/waits.md lists."""

    async def turn(score: _Turn) -> None:
        await wait_for(Approval({"tool": "refund"}), key="")

    flow = Cadence("turn", _Turn()).then("turn", turn).with_checkpoint(InMemoryCheckpointStore())
    with pytest.raises(CadenceError) as failed:
        await flow.run(run_id="t1")
    assert failed.value.code == "WAIT_BAD_VALUE"
    assert "key" in failed.value.message


@dataclass
class _Claim:
    log: list[str] = field(default_factory=list)
    decision: Decision | None = None


async def test_a_nested_runs_wait_never_takes_the_answer_of_the_outer_step_of_its_name() -> None:
    """Legal's approval in a nested run is not the manager's: the outer "review" still parks."""
    store = InMemoryCheckpointStore()
    legal = (
        Cadence("legal", _Claim())
        .wait("review", Approval({"who": "legal"}))
        .then("cleared", lambda c: c.log.append("cleared"))
        .with_checkpoint(store)
    )

    async def ask_legal(claim: _Claim) -> None:
        claim.log += (await legal.run(_Claim(), run_id="legal-1")).log

    claims = (
        Cadence("claims", _Claim())
        .then("legal", ask_legal)
        .wait("review", Approval({"who": "manager"}), into="decision")
        .then("pay", lambda c: c.log.append("paid"))
        .with_checkpoint(store)
    )
    with pytest.raises(RunSuspended) as first:
        await claims.run(run_id="c1")
    assert [(w.key, w.payload) for w in first.value.waits] == [("legal:review", {"who": "legal"})]
    with pytest.raises(RunSuspended) as second:
        await claims.resume("c1", Decision.approve(by="legal"))
    assert [(w.key, w.payload) for w in second.value.waits] == [("review", {"who": "manager"})]
    final = await claims.resume("c1", Decision.approve(by="manager"))
    assert final.log == ["cleared", "paid"]
    assert final.decision is not None and final.decision.by == "manager"
