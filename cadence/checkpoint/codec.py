"""Typed JSON for scores: what a checkpoint holds, and how it comes back exactly.

A checkpoint must survive a process crash and a redeploy, so it is plain JSON that any store can
keep as text. Values JSON cannot express (datetimes, Decimal, UUID, bytes, sets, tuples, enums,
dataclasses, pydantic models, ``Atomic*``) are written as small tagged objects ``{"$t": ...}``.
Anything else fails *at save time* with the path of the value (``$.items[3].client``), because
finding out after a crash that a run cannot be resumed is too late.

Classes are never imported by name from stored data: decoding resolves a class only from an
allow-list built from the score's own class, the types its fields are annotated with (followed
recursively) and the ``types`` given to the codec. A tampered or corrupt checkpoint therefore
raises :class:`~cadence.exceptions.CheckpointError` and never runs code. Pickle is available only
through ``ScoreCodec(allow_pickle=True)``, an explicit statement that the store is trusted.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import math
import sys
import typing
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cadence._score import Atomic, AtomicDict, AtomicList
from cadence._typecheck import Mismatch, check_fields
from cadence.checkpoint._decode import (
    check_no_removed,
    class_name,
    decode_tagged,
    missing_field,
    same_class,
)
from cadence.checkpoint._decode import corrupt as _corrupt
from cadence.exceptions import CheckpointError

__all__ = ["FORMAT", "MAX_DEPTH", "ScoreCodec"]

FORMAT = "cadence.score/1"
"""Version tag written into every encoded score; decoding refuses any other."""

MAX_DEPTH = 100
"""Deepest nesting of containers a score may hold (and a stored state may have).

Encoding and decoding recurse; a bound well inside Python's recursion limit turns a
pathological value or a hostile record into a ``CheckpointError`` instead of ``RecursionError``.
"""

_TAG = "$t"
_PRIMITIVES = (str, int, bool, type(None))
_SUPPORTED = (
    "JSON values, dataclasses, pydantic models, datetime/date/time/timedelta, Decimal, UUID, "
    "bytes, sets, frozensets, tuples, enums and cadence Atomic containers"
)


def _pydantic_base() -> type | None:
    # Never import pydantic ourselves: if it is not loaded, no value can be a model.
    module = sys.modules.get("pydantic")
    return getattr(module, "BaseModel", None) if module is not None else None


def _is_model(value: Any) -> bool:
    base = _pydantic_base()
    return base is not None and isinstance(value, base)


def _is_model_class(cls: Any) -> bool:
    base = _pydantic_base()
    return base is not None and isinstance(cls, type) and issubclass(cls, base)


def _field_types(cls: type) -> list[Any]:
    """Annotations of a dataclass or pydantic model's fields; empty when they cannot resolve."""
    if _is_model_class(cls):
        return [f.annotation for f in cls.model_fields.values()]  # type: ignore[attr-defined]
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: only registered types are allowed
        return []
    names = {f.name for f in dataclasses.fields(cls)}
    return [hint for name, hint in hints.items() if name in names]


def _classes_in(annotation: Any) -> Iterable[type]:
    """Every class mentioned by a type annotation (``list[Item] | None`` → ``Item``, ...)."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _classes_in(arg)
    origin = typing.get_origin(annotation)
    if isinstance(origin, type):
        yield origin


_OWN_TYPES = (
    ("cadence._waits", "Decision"),
    ("cadence._map", "ItemFailure"),
    ("cadence.budget", "Spend"),
)
"""cadence's own value classes, which its steps write into scores (``.wait(into=)``,
``.map(errors_into=)``, ``with_budget(into=)``): allowed under any annotation (``Any``, a bare
``list``), so that what cadence itself wrote always checkpoints."""


def _own_types() -> tuple[type, ...]:
    """The classes of ``_OWN_TYPES`` whose modules are loaded (an instance of one that is not
    cannot exist yet; read from ``sys.modules``, so the codec imports none of them)."""
    own = []
    for module, name in _OWN_TYPES:
        loaded = sys.modules.get(module)
        if loaded is not None:
            own.append(getattr(loaded, name))
    return tuple(own)


class ScoreCodec:
    """Encodes scores to typed JSON and decodes them back, exactly and safely.

    Args:
        types: Extra classes that may appear in scores without being named by a field
            annotation (for example items of an un-annotated ``list``).
        allow_pickle: Store values the codec does not know with ``pickle``. Only for stores
            you trust completely: unpickling attacker-controlled data runs arbitrary code.
    """

    def __init__(self, *, types: Iterable[type] = (), allow_pickle: bool = False) -> None:
        self.types = tuple(types)
        for cls in self.types:
            if not isinstance(cls, type):
                raise TypeError(f"ScoreCodec(types=...) takes classes, got {cls!r}")
        self.allow_pickle = allow_pickle
        self._allowed: dict[tuple[type, int], dict[str, type]] = {}

    # -- public API ---------------------------------------------------------------------------

    def encode_score(self, score: Any) -> dict[str, Any]:
        """The JSON-compatible state of ``score``; raises ``CheckpointError`` naming the path."""
        cls = type(score)
        allowed = self.allowed_types(cls)
        try:
            fields = {
                name: self._encode(value, f"$.{name}", allowed, set())
                for name, value in self._fields_of(score)
            }
        except RecursionError:  # only when the caller's own stack is already very deep
            raise _unsupported(score, "$", "it is nested too deeply to encode") from None
        return {"format": FORMAT, "class": class_name(cls), "fields": fields}

    def decode_fields(self, state: Any, score_cls: type) -> dict[str, Any]:
        """The field values stored in ``state`` for a score of class ``score_cls``.

        Every value is checked against its field's annotation (``cadence._typecheck``).

        Raises:
            CheckpointError: ``state`` is corrupt, from another format, for another class, or
                holds a value whose type does not fit its field (``CHECKPOINT_TYPE_MISMATCH``)
                or fields the class no longer has (``CHECKPOINT_FIELD_MISMATCH``).
        """
        try:
            if isinstance(state, dict) and "format" not in state:
                from cadence.checkpoint._legacy import legacy_fields

                legacy = legacy_fields(state, score_cls)  # saved by 0.7.2
                if legacy is not None:
                    return legacy
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                raise _corrupt("$", f"not a {FORMAT} checkpoint")
            if not same_class(state.get("class"), score_cls):
                raise CheckpointError(
                    f"checkpoint holds a {state.get('class')!r} score but the cadence runs "
                    f"{class_name(score_cls)!r}; use another run id or clear the checkpoint",
                    code="CHECKPOINT_CLASS_MISMATCH",
                )
            fields = state.get("fields")
            if not isinstance(fields, dict):
                raise _corrupt("$.fields", "expected an object")
            _check_depth(fields)
            allowed = self.allowed_types(score_cls)
            check_no_removed("$", score_cls, fields, {n for n, _ in self._field_names(score_cls)})
            decoded = {
                name: self._decode(value, f"$.{name}", allowed) for name, value in fields.items()
            }
            check_fields(score_cls, decoded)
            return decoded
        except Mismatch as exc:
            raise CheckpointError(
                f"checkpoint value at {exc.path} is a {exc.found}, but the field is annotated "
                f"{exc.expected}; the checkpoint was written by another version of the score "
                "class or altered (clear the run to start it again, or restore the field's old "
                "type)",
                code="CHECKPOINT_TYPE_MISMATCH",
                details={"path": exc.path, "expected": exc.expected, "found": exc.found},
            ) from None
        except CheckpointError:
            raise
        except RecursionError:
            raise _corrupt("$", "nested too deeply to decode") from None
        except Exception as exc:  # fuzzed input: only ever the typed error
            raise _corrupt("$", f"{type(exc).__name__}: {exc}") from exc

    def restore(self, score: Any, state: Any) -> Any:
        """Write the fields stored in ``state`` into ``score`` in place and return it.

        ``object.__setattr__`` is used so frozen dataclasses and pydantic models restore too;
        ``__init__``/``__post_init__`` are not re-run, so they cannot reset restored fields.
        """
        for name, value in self.decode_fields(state, type(score)).items():
            object.__setattr__(score, name, value)
        return score

    def decode_score(self, state: Any, score_cls: type) -> Any:
        """A new ``score_cls`` instance holding the fields stored in ``state``.

        Built without calling ``__init__`` (like ``restore``); fields absent from ``state`` take
        their defaults. Used where no score object exists yet, e.g. a job arriving on a worker.
        """
        fields = self.decode_fields(state, score_cls)
        if _is_model_class(score_cls):
            return score_cls.model_construct(**fields)  # type: ignore[attr-defined]
        cls: Any = score_cls
        score = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            if f.name in fields:
                value = fields[f.name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise missing_field(f"$.{f.name}", cls)
            object.__setattr__(score, f.name, value)
        return score

    def dumps(self, score: Any) -> str:
        """``encode_score`` as a compact JSON string."""
        return json.dumps(self.encode_score(score), separators=(",", ":"), allow_nan=False)

    def loads(self, data: str | bytes, score: Any) -> Any:
        """Restore ``score`` in place from JSON text; any malformed input is a ``CheckpointError``."""
        try:
            state = json.loads(data)
        except Exception as exc:
            raise _corrupt("$", f"invalid JSON ({type(exc).__name__})") from exc
        return self.restore(score, state)

    def encode_fields(self, score_cls: type, values: dict[str, Any]) -> dict[str, Any]:
        """Like ``encode_score`` for some fields only (``decode_fields`` reads it back).

        Used to record what one ``.sync`` task or tool call changed, without the whole score.
        """
        allowed = self.allowed_types(score_cls)
        fields = {name: self._encode(v, f"$.{name}", allowed, set()) for name, v in values.items()}
        return {"format": FORMAT, "class": class_name(score_cls), "fields": fields}

    def allowed_types(self, score_cls: type) -> dict[str, type]:
        """Classes decodable for scores of ``score_cls``: itself, its field types, ``types``
        and cadence's own value classes (``Decision``, ``ItemFailure``, ``Spend``)."""
        own = _own_types()
        key = (score_cls, len(own))
        cached = self._allowed.get(key)
        if cached is not None:
            return cached
        found: dict[str, type] = {}
        pending: list[Any] = [score_cls, *self.types, *own]
        while pending:
            cls = pending.pop()
            if not isinstance(cls, type) or class_name(cls) in found:
                continue
            if isinstance(cls, enum.EnumMeta):
                found[class_name(cls)] = cls
            elif dataclasses.is_dataclass(cls) or _is_model_class(cls):
                found[class_name(cls)] = cls
                for annotation in _field_types(cls):
                    pending.extend(_classes_in(annotation))
        self._allowed[key] = found
        return found

    # -- encoding -----------------------------------------------------------------------------

    @staticmethod
    def _field_names(cls: type) -> list[tuple[str, Any]]:
        if dataclasses.is_dataclass(cls):
            return [(f.name, f) for f in dataclasses.fields(cls)]
        if _is_model_class(cls):
            return list(cls.model_fields.items())  # type: ignore[attr-defined]
        raise CheckpointError(
            f"cannot checkpoint a {cls.__qualname__} score: checkpointed scores must be "
            "dataclasses (e.g. cadence.Score subclasses) or pydantic models",
            code="CHECKPOINT_UNSUPPORTED_SCORE",
        )

    def _fields_of(self, obj: Any) -> list[tuple[str, Any]]:
        return [(name, getattr(obj, name)) for name, _ in self._field_names(type(obj))]

    def _encode(self, v: Any, path: str, allowed: dict[str, type], stack: set[int]) -> Any:
        t = type(v)
        if t in _PRIMITIVES:
            return v
        if t is float:
            return v if math.isfinite(v) else {_TAG: "float", "v": repr(v)}
        if isinstance(v, enum.Enum):
            self._check_allowed(v, path, allowed)
            return {
                _TAG: "enum",
                "c": class_name(t),
                "v": self._encode(v.value, path, allowed, stack),
            }
        if t in (list, tuple, set, frozenset, dict, AtomicList, AtomicDict, Atomic) or (
            dataclasses.is_dataclass(v) or _is_model(v)
        ):
            if id(v) in stack:
                raise _unsupported(v, path, "it contains itself (a reference cycle)")
            if len(stack) >= MAX_DEPTH:
                raise _unsupported(v, path, f"it is nested more than {MAX_DEPTH} levels deep")
            stack.add(id(v))
            try:
                return self._encode_container(v, path, allowed, stack)
            finally:
                stack.discard(id(v))
        return self._encode_scalar(v, path)

    def _encode_container(
        self, v: Any, path: str, allowed: dict[str, type], stack: set[int]
    ) -> Any:
        t = type(v)
        enc = self._encode
        if t is list:
            return [enc(x, f"{path}[{i}]", allowed, stack) for i, x in enumerate(v)]
        if t is tuple:
            return {
                _TAG: "tuple",
                "v": [enc(x, f"{path}[{i}]", allowed, stack) for i, x in enumerate(v)],
            }
        if t in (set, frozenset):
            items = [enc(x, f"{path}[*]", allowed, stack) for x in v]
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
            return {_TAG: t.__name__, "v": items}
        if t is dict or t is AtomicDict:
            data = v if t is dict else v.get_all()
            encoded = self._encode_dict(data, path, allowed, stack)
            return encoded if t is dict else {_TAG: "atomic_dict", "v": encoded}
        if t is AtomicList:
            return {_TAG: "atomic_list", "v": enc(v.get_all(), path, allowed, stack)}
        if t is Atomic:
            return {_TAG: "atomic", "v": enc(v.get(), path, allowed, stack)}
        self._check_allowed(v, path, allowed)
        fields = {name: enc(x, f"{path}.{name}", allowed, stack) for name, x in self._fields_of(v)}
        if dataclasses.is_dataclass(v):
            return {_TAG: "dc", "c": class_name(t), "f": fields}
        out: dict[str, Any] = {_TAG: "model", "c": class_name(t), "f": fields}
        out["set"] = sorted(v.model_fields_set)
        extra = getattr(v, "__pydantic_extra__", None)
        if extra:
            out["x"] = self._encode_dict(extra, path, allowed, stack)
        return out

    def _encode_dict(
        self, data: dict[Any, Any], path: str, allowed: dict[str, type], stack: set[int]
    ) -> Any:
        if all(type(k) is str for k in data) and _TAG not in data:
            return {k: self._encode(x, _key_path(path, k), allowed, stack) for k, x in data.items()}
        pairs = [
            [
                self._encode(k, _key_path(path, k), allowed, stack),
                self._encode(x, _key_path(path, k), allowed, stack),
            ]
            for k, x in data.items()
        ]
        return {_TAG: "dict", "v": pairs}

    def _encode_scalar(self, v: Any, path: str) -> Any:
        t = type(v)
        if t is dt.datetime:
            out = {_TAG: "datetime", "v": v.replace(tzinfo=None, fold=0).isoformat()}
            return self._with_tz(out, v, path)
        if t is dt.date:
            return {_TAG: "date", "v": v.isoformat()}
        if t is dt.time:
            return self._with_tz(
                {_TAG: "time", "v": v.replace(tzinfo=None, fold=0).isoformat()}, v, path
            )
        if t is dt.timedelta:
            return {_TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]}
        if t is Decimal:
            return {_TAG: "decimal", "v": str(v)}
        if t is uuid.UUID:
            return {_TAG: "uuid", "v": str(v)}
        if t in (bytes, bytearray):
            return {_TAG: t.__name__, "v": base64.b64encode(v).decode("ascii")}
        if self.allow_pickle:
            import pickle

            try:
                blob = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                raise _unsupported(v, path, f"pickle failed too ({exc})") from exc
            return {_TAG: "pickle", "v": base64.b64encode(blob).decode("ascii")}
        return _raise_unsupported(v, path)

    def _with_tz(self, out: dict[str, Any], v: dt.datetime | dt.time, path: str) -> dict[str, Any]:
        if v.fold:
            out["fold"] = 1
        tz = v.tzinfo
        if tz is None:
            return out
        key = getattr(tz, "key", None)
        if type(tz).__name__ == "ZoneInfo" and isinstance(key, str):
            out["zone"] = key
        elif type(tz) is dt.timezone:
            off = tz.utcoffset(None)
            out["off"] = [off.days, off.seconds, off.microseconds]
            if tz.tzname(None) != dt.timezone(off).tzname(None):  # keep only a custom name
                out["name"] = tz.tzname(None)
        else:
            raise _unsupported(
                v, path, f"its tzinfo {type(tz).__name__} is not datetime.timezone or ZoneInfo"
            )
        return out

    def _check_allowed(self, v: Any, path: str, allowed: dict[str, type]) -> None:
        cls = type(v)
        if allowed.get(class_name(cls)) is not cls:
            raise CheckpointError(
                f"cannot checkpoint {cls.__qualname__} value at {path}: the class is not named by "
                f"any field annotation of the score; annotate the field (e.g. list[{cls.__qualname__}]) "
                f"or pass ScoreCodec(types=[{cls.__qualname__}]) to the store",
                code="CHECKPOINT_UNSUPPORTED_VALUE",
                details={"path": path, "type": class_name(cls)},
            )

    # -- decoding -----------------------------------------------------------------------------

    def _decode(self, v: Any, path: str, allowed: dict[str, type]) -> Any:
        if type(v) in _PRIMITIVES or type(v) is float:
            return v
        if type(v) is list:
            return [self._decode(x, f"{path}[{i}]", allowed) for i, x in enumerate(v)]
        if type(v) is not dict:
            raise _corrupt(path, f"unexpected {type(v).__name__}")
        tag = v.get(_TAG)
        if tag is None:
            return {k: self._decode(x, f"{path}.{k}", allowed) for k, x in v.items()}
        return decode_tagged(self._decode, tag, v, path, allowed, allow_pickle=self.allow_pickle)


def _check_depth(fields: dict[str, Any]) -> None:
    """Refuse stored data nested deeper than ``MAX_DEPTH`` (iteratively: no recursion to blow)."""
    pending: list[tuple[Any, int, str]] = [(v, 1, f"$.{k}") for k, v in fields.items()]
    while pending:
        value, depth, path = pending.pop()
        if type(value) is dict:
            children: Iterable[Any] = value.values()
        elif type(value) is list:
            children = value
        else:
            continue
        # Tagged values add one JSON level per container, so allow for it.
        if depth > 2 * MAX_DEPTH + 2:
            raise _corrupt(path, f"nested more than {MAX_DEPTH} levels deep")
        pending.extend((child, depth + 1, path) for child in children)


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


def _unsupported(v: Any, path: str, why: str) -> CheckpointError:
    return CheckpointError(
        f"cannot checkpoint {type(v).__qualname__} value at {path}: {why}",
        code="CHECKPOINT_UNSUPPORTED_VALUE",
        details={"path": path, "type": class_name(type(v))},
    )


def _raise_unsupported(v: Any, path: str) -> Any:
    raise _unsupported(
        v,
        path,
        f"checkpoints hold {_SUPPORTED}; convert it to one of those, or opt in to pickle with "
        "ScoreCodec(allow_pickle=True) if the store is trusted",
    )
