"""Reading a checkpoint that cadence-orchestration 0.7.2 saved: a plain dict of JSON fields.

The codec calls :func:`legacy_fields` when a stored state has no ``format`` key, so runs in
flight during an upgrade resume; ``cadence._compat.checkpoint`` (0.7.2's helpers) uses
:func:`field_names` too. This module imports nothing else of cadence.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

__all__ = ["field_names", "legacy_fields"]

_JSON_SCALARS = (str, int, float, bool, type(None))


def field_names(score: Any) -> list[str]:
    """The field names of a score (or a score class): dataclass, pydantic, or public attributes."""
    cls = score if isinstance(score, type) else type(score)
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict):
        return list(model_fields)
    if isinstance(score, type):
        return []
    return [k for k in vars(score) if not k.startswith("_")]


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
    names = set(field_names(score_cls))
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
