"""Decoding of the tagged values of :mod:`cadence.checkpoint.codec`.

Every shape is checked before it is used, so corrupt or hostile data ends in one
``CheckpointError`` naming the path; classes come only from the allow-list the codec passes in.
The codec passes its own decoder in too (``Decode``), for the values nested in a tagged one, so
this module needs nothing from the codec's module.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from cadence._score import Atomic, AtomicDict, AtomicList
from cadence.exceptions import CheckpointError

__all__ = [
    "Decode",
    "check_no_removed",
    "class_name",
    "corrupt",
    "decode_tagged",
    "missing_field",
    "same_class",
]

Decode = Callable[[Any, str, dict[str, type]], Any]
"""Decodes the stored value at a path, given the allowed classes: ``dec(value, path, allowed)``."""

_SPECIAL_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def class_name(cls: type) -> str:
    """The stable name a class is stored under: ``module:QualName``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def corrupt(path: str, why: str) -> CheckpointError:
    """The one error a malformed checkpoint produces."""
    return CheckpointError(
        f"corrupt checkpoint at {path}: {why}; the run cannot resume from it (clear it to restart)",
        code="CHECKPOINT_CORRUPT",
        details={"path": path},
    )


def check_no_removed(path: str, cls: type, stored: Any, known: Any) -> None:
    """Refuse stored fields ``cls`` no longer has: dropping them would lose their values.

    A field renamed between save and resume looks exactly like this (the old name stored, the
    new one absent), and resuming on its default would carry on with the work of the completed
    steps silently gone.
    """
    removed = sorted(name for name in stored if name not in known)
    if removed:
        names = ", ".join(repr(name) for name in removed)
        raise CheckpointError(
            f"checkpoint at {path} holds field(s) {names} that {cls.__qualname__} no longer "
            "has; resuming would drop their values. It was written by another version of the "
            "class (a field removed or renamed): keep the field(s) until runs saved before the "
            "change have finished, or clear the run (store.clear_checkpoints) to start it again",
            code="CHECKPOINT_FIELD_MISMATCH",
            details={"path": path, "fields": removed, "class": class_name(cls)},
        )


def missing_field(path: str, cls: type) -> CheckpointError:
    """The error for a field with no default that the stored state lacks (a field added since)."""
    return CheckpointError(
        f"checkpoint lacks {path}, a field of {cls.__qualname__} without a default: it was "
        "written by another version of the class (the field added since); give the field a "
        "default, or clear the run (store.clear_checkpoints) to start it again",
        code="CHECKPOINT_FIELD_MISMATCH",
        details={"path": path, "class": class_name(cls)},
    )


def _str(v: Any, path: str) -> str:
    if type(v) is not str:
        raise corrupt(path, "expected a string")
    return v


def _list(v: Any, path: str) -> list[Any]:
    if type(v) is not list:
        raise corrupt(path, "expected an array")
    return v


def _ints(v: Any, path: str, n: int) -> list[int]:
    items = _list(v, path)
    if len(items) != n or any(type(x) is not int for x in items):
        raise corrupt(path, f"expected {n} integers")
    return items


def _cls(v: dict[str, Any], path: str, allowed: dict[str, type]) -> type:
    name = _str(v.get("c"), path)
    cls = allowed.get(name) or _same_qualname(name, allowed)
    if cls is None:
        raise corrupt(
            path, f"class {name!r} is not among the score's field types (refusing to load it)"
        )
    return cls


def same_class(stored: Any, cls: type) -> bool:
    """Whether a stored class name denotes ``cls``; the module part may differ (see below)."""
    return isinstance(stored, str) and (
        stored == class_name(cls) or stored.rpartition(":")[2] == cls.__qualname__
    )


def _same_qualname(name: str, allowed: dict[str, type]) -> type | None:
    # A class defined in a script is "__main__:Order" there and "tasks:Order" when imported;
    # the allow-list still decides, the module part only has to be unambiguous.
    qualname = name.rpartition(":")[2]
    matches = [cls for cls in allowed.values() if cls.__qualname__ == qualname]
    return matches[0] if len(matches) == 1 else None


def _tz(v: dict[str, Any], path: str) -> dt.tzinfo | None:
    if "zone" in v:
        from zoneinfo import ZoneInfo

        return ZoneInfo(_str(v["zone"], path))
    if "off" in v:
        days, seconds, micros = _ints(v["off"], path, 3)
        offset = dt.timedelta(days, seconds, micros)
        return dt.timezone(offset, _str(v["name"], path)) if "name" in v else dt.timezone(offset)
    return None


def decode_tagged(
    dec: Decode,
    tag: Any,
    v: dict[str, Any],
    path: str,
    allowed: dict[str, type],
    *,
    allow_pickle: bool = False,
) -> Any:
    """Decode one ``{"$t": tag, ...}`` object found at ``path``; ``dec`` decodes nested values."""
    payload = v.get("v")
    if tag == "float":
        value = _SPECIAL_FLOATS.get(_str(payload, path))
        if value is None:
            raise corrupt(path, "unknown special float")
        return value
    if tag in ("tuple", "set", "frozenset", "atomic_list"):
        items = [dec(x, f"{path}[{i}]", allowed) for i, x in enumerate(_list(payload, path))]
        kinds: dict[str, Any] = {
            "tuple": tuple,
            "set": set,
            "frozenset": frozenset,
            "atomic_list": AtomicList,
        }
        return kinds[tag](items)
    if tag == "dict":
        pairs = _list(payload, path)
        out: dict[Any, Any] = {}
        for i, pair in enumerate(pairs):
            if type(pair) is not list or len(pair) != 2:
                raise corrupt(f"{path}[{i}]", "expected a [key, value] pair")
            out[dec(pair[0], f"{path}[{i}]", allowed)] = dec(pair[1], f"{path}[{i}]", allowed)
        return out
    if tag == "atomic_dict":
        inner = dec(payload, path, allowed)
        if type(inner) is not dict:
            raise corrupt(path, "expected a mapping")
        return AtomicDict(inner)
    if tag == "atomic":
        return Atomic(dec(payload, path, allowed))
    if tag == "datetime":
        stamp = dt.datetime.fromisoformat(_str(payload, path))
        return stamp.replace(tzinfo=_tz(v, path), fold=1 if v.get("fold") == 1 else 0)
    if tag == "date":
        return dt.date.fromisoformat(_str(payload, path))
    if tag == "time":
        t = dt.time.fromisoformat(_str(payload, path))
        return t.replace(tzinfo=_tz(v, path), fold=1 if v.get("fold") == 1 else 0)
    if tag == "timedelta":
        return dt.timedelta(*_ints(payload, path, 3))
    if tag == "decimal":
        try:
            return Decimal(_str(payload, path))
        except InvalidOperation as exc:
            raise corrupt(path, "invalid decimal") from exc
    if tag == "uuid":
        return uuid.UUID(_str(payload, path))
    if tag in ("bytes", "bytearray"):
        try:
            raw = base64.b64decode(_str(payload, path), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise corrupt(path, "invalid base64") from exc
        return raw if tag == "bytes" else bytearray(raw)
    if tag == "enum":
        cls = _cls(v, path, allowed)
        if not isinstance(cls, enum.EnumMeta):
            raise corrupt(path, f"{class_name(cls)} is not an enum")
        return cls(dec(payload, path, allowed))
    if tag == "dc":
        return _dataclass(dec, v, path, allowed)
    if tag == "model":
        return _model(dec, v, path, allowed)
    if tag == "pickle" and allow_pickle:
        import pickle

        return pickle.loads(base64.b64decode(_str(payload, path), validate=True))
    raise corrupt(path, f"unknown tag {tag!r}")


def _fields_payload(v: dict[str, Any], path: str) -> dict[str, Any]:
    fields = v.get("f")
    if type(fields) is not dict:
        raise corrupt(path, "expected an object of fields")
    return fields


def _dataclass(dec: Decode, v: dict[str, Any], path: str, allowed: dict[str, type]) -> Any:
    cls = _cls(v, path, allowed)
    if not dataclasses.is_dataclass(cls):
        raise corrupt(path, f"{class_name(cls)} is not a dataclass")
    stored = _fields_payload(v, path)
    check_no_removed(path, cls, stored, {f.name for f in dataclasses.fields(cls)})
    # Build without __init__/__post_init__: they could reset or re-derive the stored fields.
    obj = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in stored:
            value = dec(stored[f.name], f"{path}.{f.name}", allowed)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise missing_field(f"{path}.{f.name}", cls)
        object.__setattr__(obj, f.name, value)
    return obj


def _model(dec: Decode, v: dict[str, Any], path: str, allowed: dict[str, type]) -> Any:
    cls = _cls(v, path, allowed)
    stored = _fields_payload(v, path)
    known = getattr(cls, "model_fields", None)
    if not isinstance(known, dict) or dataclasses.is_dataclass(cls):
        raise corrupt(path, f"{class_name(cls)} is not a pydantic model")
    check_no_removed(path, cls, stored, known)
    values = {k: dec(x, f"{path}.{k}", allowed) for k, x in stored.items()}
    extra = v.get("x")
    if extra is not None:
        decoded = dec(extra, path, allowed)
        if type(decoded) is not dict:
            raise corrupt(path, "expected an object of extra fields")
        values.update(decoded)
    fields_set = {_str(x, path) for x in _list(v.get("set", []), path)}
    return cls.model_construct(_fields_set=fields_set, **values)  # type: ignore[attr-defined]
