"""Durable runs: checkpoint stores, the score codec and the session the runner drives.

``Cadence(...).with_checkpoint(store, run_id=...)`` saves the score after every top-level step;
a run started again with the same run id skips the completed steps and resumes from the saved
score. Stores: :class:`InMemoryCheckpointStore` (reference, tests), :class:`SQLiteCheckpointStore`
(embedded default, many processes on one file), :class:`RedisCheckpointStore` (extra ``redis``)
and :class:`PostgresCheckpointStore` (extra ``postgres``). The SQL and Redis stores load lazily so
``import cadence.checkpoint`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cadence.checkpoint._protocol import CheckpointStore, LeasingCheckpointStore
from cadence.checkpoint._session import CheckpointSession, open_session
from cadence.checkpoint.codec import ScoreCodec
from cadence.checkpoint.memory import InMemoryCheckpointStore

if TYPE_CHECKING:
    from cadence._compat.checkpoint import CheckpointHooks as CheckpointHooks
    from cadence._compat.checkpoint import restore_score as restore_score
    from cadence._compat.checkpoint import serialize_score as serialize_score
    from cadence.checkpoint.postgres import PostgresCheckpointStore
    from cadence.checkpoint.redis import RedisCheckpointStore
    from cadence.checkpoint.sqlite import SQLiteCheckpointStore

__all__ = [
    "CheckpointSession",
    "CheckpointStore",
    "InMemoryCheckpointStore",
    "LeasingCheckpointStore",
    "PostgresCheckpointStore",
    "RedisCheckpointStore",
    "SQLiteCheckpointStore",
    "ScoreCodec",
    "open_session",
]

_LAZY = {
    # kept for cadence-orchestration 0.7.2 code (deprecated): see docs/migrating.md
    "CheckpointHooks": "cadence._compat.checkpoint",
    "restore_score": "cadence._compat.checkpoint",
    "serialize_score": "cadence._compat.checkpoint",
    "PostgresCheckpointStore": "cadence.checkpoint.postgres",
    "RedisCheckpointStore": "cadence.checkpoint.redis",
    "SQLiteCheckpointStore": "cadence.checkpoint.sqlite",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cadence.checkpoint' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
