"""App module of the Dramatiq edge tests: one step that outlives the actor's time limit.

Configured from the environment like ``_dramatiq_app`` (``CADENCE_TEST_REDIS``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from cadence import Cadence, Score
from cadence.checkpoint import RedisCheckpointStore
from cadence.integrations.dramatiq import CadenceActor

REDIS = os.environ["CADENCE_TEST_REDIS"]

broker = RedisBroker(url=REDIS, heartbeat_timeout=5000, maintenance_chance=1_000_000)
dramatiq.set_broker(broker)


@dataclasses.dataclass
class Job(Score):
    seconds: float = 0.0
    done: bool = False


async def work(score: Job) -> None:
    await asyncio.sleep(score.seconds)
    score.done = True


slow = Cadence("dramatiq-edges-slow", Job()).then("work", work)
jobs = CadenceActor(slow, store=RedisCheckpointStore(REDIS, lease_ttl=5), time_limit=1000)
