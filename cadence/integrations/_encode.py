"""Scores to JSON, the same way for FastAPI and Flask.

A score is a dataclass, a pydantic model or any object with attributes, and may hold
``Atomic*`` containers, enums, dates and UUIDs. Both integrations answer with the final score as
JSON, so the conversion lives here once; a value that has no JSON form fails naming its path,
instead of surfacing as an opaque serializer error deep inside the framework.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from cadence._score import Atomic, AtomicDict, AtomicList

__all__ = ["ScoreEncodingError", "dumps", "to_jsonable"]

_SCALARS = (str, int, float, bool, type(None))


class ScoreEncodingError(TypeError):
    """A value in the response has no JSON form; the message names where it sits."""


def to_jsonable(value: Any, path: str = "$") -> Any:
    """Convert ``value`` into plain JSON types (dict, list, str, number, bool, None).

    Args:
        value: A score, a response object, or any nested value inside one.
        path: Where ``value`` sits, for the error message.

    Raises:
        ScoreEncodingError: A value cannot be represented in JSON.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):  # pydantic v2 models
        return dump(mode="json")
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, path)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (uuid.UUID, decimal.Decimal, PurePath)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, AtomicList):
        return to_jsonable(value.get_all(), path)
    if isinstance(value, AtomicDict):
        return to_jsonable(value.get_all(), path)
    if isinstance(value, Atomic):
        return to_jsonable(value.get(), path)
    raise ScoreEncodingError(
        f"cannot encode {type(value).__name__} at {path} as JSON; convert it in a "
        "response_mapper, or store a JSON-friendly value in the score"
    )


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON for ``value`` (see :func:`to_jsonable`)."""
    return json.dumps(
        to_jsonable(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
