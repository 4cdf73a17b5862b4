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
import warnings
from typing import Any

from cadence._compat import deprecated
from cadence.hooks import CadenceHooks

__all__ = ["CheckpointHooks", "legacy_fields", "restore_score", "serialize_score"]

_JSON_SCALARS = (str, int, float, bool, type(None))


def _field_names(score: Any) -> list[str]:
    cls = score if isinstance(score, type) else type(score)
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict):
        return list(model_fields)
    if isinstance(score, type):
        return []
    return [k for k in vars(score) if not k.startswith("_")]


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


def _is_json(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _JSON_SCALARS):
        return True
    if depth > 64:
        return False
    if type(value) is list:
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


def legacy_fields(state: Any, score_cls: type) -> dict[str, Any] | None:
    """The fields of a checkpoint saved by 0.7.2 (a plain dict of JSON values), else ``None``.

    Recognised only when every key is a field of ``score_cls`` and every value is plain JSON, so
    nothing but data is ever restored from it.
    """
    if not isinstance(state, dict) or not state or "format" in state:
        return None
    names = set(_field_names(score_cls))
    if not names or not set(state) <= names or not _is_json(state):
        return None
    warnings.warn(
        "resuming from a checkpoint saved by cadence-orchestration 0.7.2 (a plain dict of "
        "fields); new checkpoints are typed JSON. Let old runs finish or clear them. "
        "See docs/migrating.md.",
        DeprecationWarning,
        stacklevel=2,
    )
    return dict(state)
