"""A refund approval behind FastAPI: request -> the run parks -> a manager approves over HTTP.

What it shows:

- ``.wait("manager", Approval(payload=...), into="decision", timeout=..., on_timeout=...)``:
  refunds above the auto-approve limit park the run until a manager decides. The payload is
  what the manager sees and may edit (here: lower the amount).
- ``POST /refunds`` runs the cadence: small refunds complete at once (``200``); larger ones
  answer ``202 Accepted`` with the run id, the wait and a ``Location`` to resume at. The
  process may exit meanwhile: the run is checkpointed in SQLite.
- ``router.wait_routes("/refunds", ...)``: ``GET /refunds`` is the manager's inbox,
  ``POST /refunds/{run_id}/resume`` decides -- exactly once; a second decision gets ``409``.
  The routes are protected with a FastAPI dependency (an approver token header).
- A refund nobody decides within two days is escalated by ``on_timeout``; run
  ``cadence wake recipes.approval_flow:refunds`` from cron to fire due timeouts.

Run: ``python -m recipes.approval_flow`` (``APPROVER_TOKEN`` defaults to ``demo``), then::

    curl -s -X POST localhost:8000/refunds -H 'content-type: application/json' \\
         -d '{"order_id": "A-7", "amount": 240, "reason": "damaged"}'
    curl -s localhost:8000/refunds -H 'x-approver-token: demo'
    curl -s -X POST localhost:8000/refunds/<run_id>/resume -H 'x-approver-token: demo' \\
         -H 'content-type: application/json' \\
         -d '{"value": {"approved": true, "payload": {"amount": 200}, "by": "ana"}}'
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from cadence import Approval, Cadence, Decision, Score
from cadence.checkpoint import SQLiteCheckpointStore
from cadence.integrations.fastapi import CadenceRouter
from recipes._models import no_arguments, port_from_env

AUTO_APPROVE_LIMIT = 50
"""Refunds up to this amount need nobody's approval."""


class RefundRequest(BaseModel):
    """The request body."""

    order_id: str = Field(min_length=1, max_length=40, examples=["A-7"])
    amount: int = Field(gt=0, le=100_000, examples=[240])
    reason: str = Field(default="", max_length=500)


@dataclass
class Refund(Score):
    """One refund: what was asked, what was decided, what was paid."""

    order_id: str = ""
    amount: int = 0
    reason: str = ""
    decision: Decision | None = None
    status: str = "requested"
    refunded: int = 0
    trail: list[str] = field(default_factory=list)


def needs_manager(refund: Refund) -> bool:
    """Refunds above the limit need a manager's decision; smaller ones are approved by policy."""
    return refund.amount > AUTO_APPROVE_LIMIT


def check(refund: Refund) -> None:
    """Record the request; approve small refunds by policy."""
    refund.trail.append("check")
    if not needs_manager(refund):
        refund.decision = Decision.approve({"amount": refund.amount}, by="policy")


def for_the_manager(refund: Refund) -> dict[str, Any]:
    """What the manager sees (and may edit): the order, the amount, the customer's reason."""
    return {"order_id": refund.order_id, "amount": refund.amount, "reason": refund.reason}


def escalate(refund: Refund) -> None:
    """Nobody decided in time: hand it to the finance team instead of paying."""
    refund.status = "escalated"
    refund.trail.append("escalate")


def settle(refund: Refund) -> None:
    """Pay what the decision says (the manager may have lowered it), or record the refusal."""
    refund.trail.append("settle")
    if refund.status == "escalated":
        return
    assert refund.decision is not None
    if refund.decision.approved:
        refund.refunded = int(refund.decision.payload["amount"])
        refund.status = "refunded"
    else:
        refund.status = "rejected"


def build(store: Any) -> Cadence[Refund]:
    """The refund cadence, checkpointed in ``store``."""
    return (
        Cadence("refunds", Refund())
        .then("check", check)
        .wait(
            "manager",
            Approval(payload=for_the_manager),
            into="decision",
            when=needs_manager,
            timeout=timedelta(days=2),
            on_timeout=escalate,
        )
        .then("settle", settle)
        .with_checkpoint(store)
    )


def create_app(store: Any = None, *, approver_token: str | None = None) -> FastAPI:
    """The app: ``POST /refunds`` plus the manager's wait routes.

    Args:
        store: Where runs are checkpointed (default: the SQLite file ``REFUNDS_DB``, else
            ``refunds.db``).
        approver_token: The token approvers send in ``X-Approver-Token``
            (default: ``APPROVER_TOKEN`` or ``demo``).

    Raises:
        ValueError: The token is empty (``APPROVER_TOKEN=``): anyone could approve.
    """
    token = approver_token or os.environ.get("APPROVER_TOKEN", "demo")
    if not token.strip():
        # An empty token would match the header's empty default: every caller an approver.
        raise ValueError(
            "APPROVER_TOKEN is set but empty, which would let anyone approve refunds; "
            "set it to the token approvers send in X-Approver-Token (unset, it is 'demo')"
        )
    store = store or _default_store()
    refunds = build(store)

    def require_approver(x_approver_token: str = Header(default="")) -> None:
        if not secrets.compare_digest(x_approver_token, token):
            raise HTTPException(status_code=403, detail="approvers only: send X-Approver-Token")

    router = CadenceRouter()

    @router.cadence("/refunds", refunds, status_code=200)
    async def request_refund(body: RefundRequest) -> Refund:
        return Refund(order_id=body.order_id, amount=body.amount, reason=body.reason)

    router.wait_routes("/refunds", refunds, dependencies=[Depends(require_approver)])
    app = FastAPI(title="Refunds", version="1")
    app.include_router(router)
    return app


def _default_store() -> SQLiteCheckpointStore:
    return SQLiteCheckpointStore(Path(os.environ.get("REFUNDS_DB", "refunds.db")))


def __getattr__(name: str) -> Any:
    # ``refunds`` for the CLI (``cadence waits recipes.approval_flow:refunds``), built on first
    # use so importing the recipe creates no database file.
    if name == "refunds":
        return build(_default_store())
    raise AttributeError(name)


if __name__ == "__main__":  # pragma: no cover - manual run
    import uvicorn

    no_arguments(__doc__, "approval_flow")
    port = port_from_env()
    try:
        app = create_app()
    except ValueError as exc:  # a setting the app refuses: one line, not a traceback
        raise SystemExit(str(exc)) from exc
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port)
