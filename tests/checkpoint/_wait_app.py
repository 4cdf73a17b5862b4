"""A refund cadence that parks for approval, shared by processes of the wait tests.

The store comes from ``CADENCE_WAIT_STORE`` (``sqlite:PATH``, ``redis:URL`` or
``postgres:DSN``); every step appends one line ``{"run", "step", "pid"}`` to the file named by
``CADENCE_WAIT_LEDGER`` (one ``write`` on an ``O_APPEND`` file, so lines never interleave).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from cadence import Approval, Cadence, Decision, Score


@dataclasses.dataclass
class Refund(Score):
    order: str = ""
    amount: int = 0
    decision: Decision | None = None
    paid: int = 0


def _store() -> Any:
    kind, _, address = os.environ["CADENCE_WAIT_STORE"].partition(":")
    if kind == "sqlite":
        from cadence.checkpoint import SQLiteCheckpointStore

        return SQLiteCheckpointStore(address)
    if kind == "redis":
        from cadence.checkpoint import RedisCheckpointStore

        return RedisCheckpointStore(address)
    from cadence.checkpoint import PostgresCheckpointStore

    return PostgresCheckpointStore(address)


def _log(step: str, score: Refund) -> None:
    line = json.dumps({"run": score.order, "step": step, "pid": os.getpid()}) + "\n"
    fd = os.open(os.environ["CADENCE_WAIT_LEDGER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def draft(score: Refund) -> None:
    _log("draft", score)


def pay(score: Refund) -> None:
    assert score.decision is not None
    score.paid = score.decision.payload["amount"] if score.decision.approved else 0
    _log("pay", score)


flow = (
    Cadence("refund", Refund())
    .then("draft", draft)
    .wait("manager", Approval(payload=lambda s: {"amount": s.amount}), into="decision")
    .then("pay", pay)
    .with_checkpoint(_store())
)
