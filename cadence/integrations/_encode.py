"""Scores to JSON, the same way for FastAPI and Flask.

A score is a dataclass, a pydantic model or any object with attributes, and may hold
``Atomic*`` containers, enums, dates and UUIDs. Both integrations answer with the final score as
JSON, so the conversion lives here once; a value that has no JSON form fails naming its path,
instead of surfacing as an opaque serializer error deep inside the framework. This runs once per
response, so the common shapes (dataclass, dict, list, scalars) take the shortest path and the
error path is built only when there is an error.
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

__all__ = ["ScoreEncodingError", "dumps", "find_lone_surrogate", "to_jsonable"]

_SCALARS = (str, int, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}  # dataclass -> field names (fields() is slow)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class ScoreEncodingError(TypeError):
    """A value in the response has no JSON form; the message names where it sits."""

    def __init__(self, type_name: str, path: str = "") -> None:
        self.type_name = type_name
        self.path = path
        super().__init__(
            f"cannot encode {type_name} at ${path} as JSON; convert it in a response_mapper, "
            "or store a JSON-friendly value in the score"
        )

    def under(self, key: str) -> ScoreEncodingError:
        """The same error one level further out."""
        return ScoreEncodingError(self.type_name, key + self.path)


def _items(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        try:
            out[str(k)] = to_jsonable(v)
        except ScoreEncodingError as exc:
            raise exc.under(f".{k}") from None
    return out


def _seq(values: Any) -> list[Any]:
    out: list[Any] = []
    for i, v in enumerate(values):
        try:
            out.append(to_jsonable(v))
        except ScoreEncodingError as exc:
            raise exc.under(f"[{i}]") from None
    return out


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` into plain JSON types (dict, list, str, number, bool, None).

    Raises:
        ScoreEncodingError: A value cannot be represented in JSON; the message names its path.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return value if value - value == 0 else None  # NaN and infinities have no JSON form
    if kind is dict:
        return _items(value.items())
    if kind is list or kind is tuple:
        return _seq(value)
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return _items((n, getattr(value, n)) for n in names)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (*_SCALARS, float)):  # subclasses of str/int/float
        return value
    if isinstance(value, (AtomicList, AtomicDict, Atomic)):
        inner = value.get() if isinstance(value, Atomic) else value.get_all()
        return to_jsonable(inner)
    if isinstance(value, Mapping):
        return _items(value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return _seq(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):  # pydantic v2 models
        return dump(mode="json")
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (uuid.UUID, decimal.Decimal, PurePath)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise ScoreEncodingError(kind.__name__)


def _atomic_fallback(value: Any) -> Any:
    if isinstance(value, Atomic):
        return value.get()
    if isinstance(value, (AtomicList, AtomicDict)):
        return value.get_all()
    raise ScoreEncodingError(type(value).__name__)


def _load_fast() -> Any:
    try:
        from pydantic_core import PydanticSerializationError, to_json
    except ImportError:  # Flask without pydantic: the stdlib path below
        return None
    return to_json, PydanticSerializationError


_FAST: Any = False  # resolved on first use, so importing this module imports no third party


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON for ``value`` (see :func:`to_jsonable`).

    Uses pydantic-core's serializer when it is installed (the FastAPI extra brings it), which
    is several times faster than the stdlib ``json`` module for a dataclass score, and the
    stdlib otherwise; both give the same JSON. NaN and infinities become ``null``.
    """
    global _FAST
    if _FAST is False:
        _FAST = _load_fast()
    if _FAST is not None:
        to_json, failed = _FAST
        try:
            data: bytes = to_json(
                value,
                timedelta_mode="float",
                bytes_mode="base64",
                inf_nan_mode="null",
                fallback=_atomic_fallback,
            )
            return data
        except failed:
            pass  # re-encode below for an error message that names the failing path
    text = _ENCODER.encode(to_jsonable(value))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        loc = find_lone_surrogate({"": value}) or [""]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        raise ScoreEncodingError("str with a lone surrogate", path) from None


def _bad_text(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_lone_surrogate(values: Mapping[str, Any], *, limit: int = 100_000) -> list[Any] | None:
    """The location of a string holding a lone UTF-16 surrogate in request values, or ``None``.

    JSON can spell one (``"\\ud800"``) and Python's parser accepts it, but it is not Unicode
    text: it cannot be encoded as UTF-8, so the response, a log line or a database write fails
    later, far from the request. The integrations refuse such a request with a 422 instead.
    Walks strings, dict keys and values, sequences, dataclasses and pydantic models, visiting
    at most ``limit`` values.
    """
    pending: list[tuple[Any, list[Any]]] = [(v, [k]) for k, v in values.items()]
    seen = 0
    while pending and seen < limit:
        value, loc = pending.pop()
        seen += 1
        if isinstance(value, str):
            if _bad_text(value):
                return loc
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and _bad_text(key):
                    return loc
                pending.append((item, [*loc, key]))
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend((item, [*loc, i]) for i, item in enumerate(value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            pending.extend(
                (getattr(value, f.name), [*loc, f.name]) for f in dataclasses.fields(value)
            )
        elif hasattr(type(value), "model_fields") and not isinstance(value, type):
            pending.extend((item, [*loc, k]) for k, item in vars(value).items())
    return None
