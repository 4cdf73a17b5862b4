"""The app module of the Dramatiq tests: imported by the test (the "web process") and workers.

Configuration comes from the environment so the test can point it at its own redis-server:
``CADENCE_TEST_REDIS`` (URL) and ``CADENCE_TEST_LEDGER`` (file the steps append effects to).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from cadence import Cadence, Score
from cadence.checkpoint import RedisCheckpointStore
from cadence.integrations.dramatiq import CadenceActor

REDIS = os.environ["CADENCE_TEST_REDIS"]
LEDGER = os.environ["CADENCE_TEST_LEDGER"]
STEPS = [f"s{i}" for i in range(6)]

broker = RedisBroker(url=REDIS, heartbeat_timeout=5000, maintenance_chance=1_000_000)
dramatiq.set_broker(broker)


@dataclasses.dataclass
class Job(Score):
    order_id: str = ""
    step_seconds: float = 0.3
    long_step: str = ""
    long_seconds: float = 0.0
    fail_step: str = ""
    trail: list[str] = dataclasses.field(default_factory=list)


def make_step(name: str) -> Any:
    async def step(score: Job) -> None:
        seconds = score.long_seconds if name == score.long_step else score.step_seconds
        await asyncio.sleep(seconds)
        if name == score.fail_step:
            raise RuntimeError(f"boom at {name}")
        score.trail.append(name)
        entry = {"run": score.order_id, "step": name, "pid": os.getpid()}
        fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
        finally:
            os.close(fd)

    return step


pipeline = Cadence("dramatiq-test", Job())
for _name in STEPS:
    pipeline.then(_name, make_step(_name))

jobs = CadenceActor(
    pipeline, store=RedisCheckpointStore(REDIS, lease_ttl=2.0), broker=broker, max_attempts=5
)
