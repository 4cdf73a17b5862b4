"""0.7.2's checkpoint helpers: ``serialize_score``, ``restore_score``, ``CheckpointHooks``.

0.7.2 stored a score as the plain ``dataclasses.asdict`` dict of its fields. That loses types
(a ``datetime`` or a nested dataclass comes back as a string or a dict), so checkpoints are now
typed JSON written by :class:`~cadence.checkpoint.ScoreCodec`. What remains here:

* ``serialize_score`` / ``restore_score`` keep their 0.7.2 shapes and warn;
* ``CheckpointHooks(store, run_id)`` attached with ``with_hooks`` acts as ``with_checkpoint``;
* a checkpoint a 0.7.2 store saved (a plain dict of JSON values) still resumes, with a warning,
  so runs in flight during an upgrade are not lost.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from cadence._compat import deprecated
from cadence._observe._base import CadenceHooks
from cadence.checkpoint._legacy import field_names as _field_names
from cadence.checkpoint._legacy import legacy_fields

__all__ = ["CheckpointHooks", "legacy_fields", "restore_score", "serialize_score"]


def serialize_score(score: Any) -> dict[str, Any]:
    """Deprecated: the score's fields as a plain dict of deep copies (0.7.2's checkpoint shape).

    Use ``ScoreCodec().encode_score(score)``, which keeps every value's type and fails on a value
    it cannot store, naming its path.
    """
    deprecated("cadence.checkpoint.serialize_score()", "ScoreCodec().encode_score(score)")
    if dataclasses.is_dataclass(score) and not isinstance(score, type):
        return dataclasses.asdict(score)
    return {name: copy.deepcopy(getattr(score, name)) for name in _field_names(score)}


def restore_score(score: Any, state: dict[str, Any]) -> None:
    """Deprecated: set the fields in ``state`` on ``score`` (private ``_names`` are ignored).

    Takes 0.7.2's plain dicts and the typed JSON of ``ScoreCodec``. Use
    ``ScoreCodec().restore(score, state)``, which checks the values against the score's class.
    """
    deprecated("cadence.checkpoint.restore_score()", "ScoreCodec().restore(score, state)")
    from cadence.checkpoint.codec import FORMAT, ScoreCodec

    if isinstance(state, dict) and state.get("format") == FORMAT:
        ScoreCodec().restore(score, state)
        return
    for name, value in state.items():
        if not name.startswith("_"):
            object.__setattr__(score, name, value)


class CheckpointHooks(CadenceHooks):
    """Deprecated: ``with_hooks(CheckpointHooks(store, run_id))`` is ``with_checkpoint``.

    In 0.7.2 this hooks object was how ``with_checkpoint`` worked; the runner now checkpoints
    itself (leases, attempts, typed JSON), so attaching one simply turns checkpointing on.
    """

    def __init__(self, store: Any, run_id: str) -> None:
        deprecated("CheckpointHooks(store, run_id)", ".with_checkpoint(store, run_id=...)")
        self.store = store
        self._run_id = run_id

    @property
    def run_id(self) -> str:
        """The run id checkpoints are saved under."""
        return self._run_id
