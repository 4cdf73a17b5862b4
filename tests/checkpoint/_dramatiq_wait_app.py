"""App module of the Dramatiq wait tests: imported by the test (the web process) and workers.

``CADENCE_TEST_REDIS`` names the redis-server; ``CADENCE_TEST_LEDGER`` the file steps append to.
"""

from __future__ import annotations

import dataclasses
import json
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from cadence import Approval, Cadence, Decision, Score, Sleep
from cadence.checkpoint import RedisCheckpointStore
from cadence.integrations.dramatiq import CadenceActor

REDIS = os.environ["CADENCE_TEST_REDIS"]
LEDGER = os.environ["CADENCE_TEST_LEDGER"]

broker = RedisBroker(url=REDIS, heartbeat_timeout=5000, maintenance_chance=1_000_000)
dramatiq.set_broker(broker)


@dataclasses.dataclass
class Refund(Score):
    order: str = ""
    decision: Decision | None = None
    trail: list[str] = dataclasses.field(default_factory=list)


def step(name: str):  # type: ignore[no-untyped-def]
    def run(score: Refund) -> None:
        score.trail.append(name)
        entry = {"run": score.order, "step": name, "pid": os.getpid()}
        fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
        finally:
            os.close(fd)

    run.__name__ = name
    return run


approval = (
    Cadence("dramatiq-approval", Refund())
    .then("draft", step("draft"))
    .wait("manager", Approval(payload=lambda s: {"order": s.order}), into="decision")
    .then("pay", step("pay"))
)
approvals = CadenceActor(
    approval,
    store=RedisCheckpointStore(REDIS, lease_ttl=2.0),
    broker=broker,
    actor_name="approvals",
)

cooling = (
    Cadence("dramatiq-sleep", Refund())
    .then("order", step("order"))
    .wait("cool", Sleep(1.0))
    .then("close", step("close"))
)
sleeps = CadenceActor(
    cooling, store=RedisCheckpointStore(REDIS, lease_ttl=2.0), broker=broker, actor_name="sleeps"
)
