"""Does a value fit a type annotation? For restored checkpoints and for web request values.

A checkpoint written by an older version of the score class, or edited by hand, can hold a
``str`` where the class now says ``Decimal``; a JSON body can carry ``[1, 2]`` for an ``int``
parameter. Accepting either silently hands the next step a value of the wrong type, far from
the cause. :func:`check` and :func:`check_fields` raise :class:`Mismatch` naming the path, the
annotation and what was found; the checkpoint codec and the Flask binder turn it into their
own errors.

The check follows the annotation forms scores use: classes (``int`` is accepted for ``float``,
as the numeric tower says), ``X | None`` and ``Union``, ``Literal``, ``Annotated``, ``NewType``,
``list``/``set``/``frozenset``/``tuple``/``dict`` and their ``collections.abc`` counterparts with
their item types, nested dataclasses and pydantic models (their fields are checked in turn) and
cadence's ``Atomic`` containers. Forms it cannot check (``Any``, type variables, unresolved
forward references, protocols) accept any value.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import enum
import re
import types
import typing
from typing import Any

from cadence._score import Atomic, AtomicDict, AtomicList

__all__ = ["Mismatch", "check", "check_fields", "display", "field_annotations"]

_NUMERIC: dict[type, tuple[type, ...]] = {float: (int, float), complex: (int, float, complex)}
_UNIONS = (typing.Union, types.UnionType)
_hints: dict[type, dict[str, Any]] = {}


def field_annotations(cls: type) -> dict[str, Any]:
    """``{field: annotation}`` of a dataclass or pydantic model; ``{}`` if they do not resolve."""
    cached = _hints.get(cls)
    if cached is not None:
        return cached
    found: dict[str, Any] = {}
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict) and not dataclasses.is_dataclass(cls):
        found = {name: getattr(f, "annotation", Any) for name, f in fields.items()}
    elif dataclasses.is_dataclass(cls):
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception:  # unresolvable forward references: nothing to check against
            hints = {}
        found = {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name in hints}
    _hints[cls] = found
    return found


class Mismatch(Exception):
    """A value at ``path`` does not fit the annotation ``expected``."""

    def __init__(self, path: str, annotation: Any, value: Any) -> None:
        self.path = path
        self.expected = display(annotation)
        self.found = type(value).__name__
        super().__init__(f"{path}: expected {self.expected}, found {self.found}")


def check(value: Any, annotation: Any, path: str = "$") -> None:
    """Raise :class:`Mismatch` when ``value`` (or an item inside it) does not fit."""
    if not _fits(value, annotation, path):
        raise Mismatch(path, annotation, value)


_none_defaults: dict[type, frozenset[str]] = {}


def none_defaults(cls: type) -> frozenset[str]:
    """Fields of a dataclass or pydantic model whose default is ``None``.

    ``shipped_at: datetime = None`` is an implicit ``Optional``: the class itself creates
    instances holding ``None`` there (neither dataclasses nor pydantic check defaults), so a
    checkpoint holding that ``None`` was written by this very class and must restore.
    """
    cached = _none_defaults.get(cls)
    if cached is not None:
        return cached
    names: set[str] = set()
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict) and not dataclasses.is_dataclass(cls):
        names = {n for n, f in fields.items() if getattr(f, "default", ...) is None}
    elif dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls) if f.default is None}
    found = _none_defaults[cls] = frozenset(names)
    return found


def check_fields(cls: type, values: dict[str, Any], path: str = "$") -> None:
    """Raise :class:`Mismatch` when a value in ``values`` does not fit its field of ``cls``."""
    annotations = field_annotations(cls)
    for name, value in values.items():
        if name in annotations:
            if value is None and name in none_defaults(cls):
                continue
            check(value, annotations[name], f"{path}.{name}")


def display(annotation: Any) -> str:
    """``Decimal``, ``list[Line]``, ``OrderId (str)``: an annotation as a user wrote it."""
    supertype = getattr(annotation, "__supertype__", None)
    if supertype is not None:
        return f"{annotation.__name__} ({display(supertype)})"
    if typing.get_origin(annotation) is typing.Annotated:
        return display(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    # typing.Optional[mod.Line] -> Optional[Line]; list[decimal.Decimal] -> list[Decimal]
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", repr(annotation))


_shapes: dict[Any, tuple[str, Any]] = {}


def _shape(annotation: Any) -> tuple[str, Any]:
    """What kind of check ``annotation`` needs, worked out once per annotation (restores of
    long lists check the same annotation for every item)."""
    try:
        return _shapes[annotation]
    except KeyError:
        shape = _shapes[annotation] = _classify(annotation)
        return shape
    except TypeError:  # an unhashable annotation (e.g. Literal of a list): classify each time
        return _classify(annotation)


def _classify(annotation: Any) -> tuple[str, Any]:
    if annotation is Any or annotation is object or isinstance(annotation, str | typing.TypeVar):
        return "any", None
    if annotation is None or annotation is type(None):
        return "none", None
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return "alias", supertype
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return "alias", args[0]
    if origin in _UNIONS:
        return "union", args
    if origin is typing.Literal:
        return "literal", args
    if origin in (typing.ClassVar, typing.Final):
        return ("alias", args[0]) if args else ("any", None)
    if origin is not None:
        return "generic", (origin, args)
    if not isinstance(annotation, type) or getattr(annotation, "_is_protocol", False):
        return "any", None  # a typing construct this check does not know: accept
    if annotation in _NUMERIC:
        return "number", _NUMERIC[annotation]
    if not issubclass(annotation, enum.Enum) and (
        dataclasses.is_dataclass(annotation) or hasattr(annotation, "model_fields")
    ):
        return "record", annotation
    return "class", annotation


def _fits(value: Any, annotation: Any, path: str) -> bool:
    """Whether ``value`` fits ``annotation``; item mismatches raise with their own path."""
    kind, data = _shape(annotation)
    if kind == "class":
        return isinstance(value, data)
    if kind == "any":
        return True
    if kind == "none":
        return value is None
    if kind == "number":
        return type(value) is not bool and isinstance(value, data)
    if kind == "alias":
        return _fits(value, data, path)
    if kind == "generic":
        return _fits_generic(value, data[0], data[1], path)
    if kind == "record":
        if not isinstance(value, data):
            return False
        check_fields(type(value), _attributes(value), path)
        return True
    if kind == "literal":
        return any(value == arg and type(value) is type(arg) for arg in data)
    inner: Mismatch | None = None  # a union
    for arg in data:
        try:
            if _fits(value, arg, path):
                return True
        except Mismatch as exc:  # the arm's type matched, one of its items did not
            inner = inner or exc
    if inner is not None:
        raise inner
    return False


def _attributes(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in field_annotations(type(obj)) if hasattr(obj, name)}


def _fits_generic(data: Any, origin: Any, args: tuple[Any, ...], path: str) -> bool:
    if not isinstance(origin, type):
        return True
    try:
        if not isinstance(data, origin):
            return False
    except TypeError:  # not usable with isinstance
        return True
    if not args:
        return True
    value: Any = data  # isinstance() above narrowed ``data`` to ``object`` for mypy
    if origin is Atomic:
        check(value.get(), args[0], path)
    elif origin is AtomicList:
        _items(value.get_all(), args[0], path)
    elif origin is AtomicDict:
        _mapping(value.get_all(), args, path)
    elif issubclass(origin, tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            _items(value, args[0], path)
        elif args != ((),):
            if len(value) != len(args):
                return False
            for i, (item, arg) in enumerate(zip(value, args, strict=True)):
                check(item, arg, f"{path}[{i}]")
    elif issubclass(origin, abc.Mapping):
        _mapping(value, args, path)
    elif issubclass(origin, abc.Iterable) and not isinstance(value, str | bytes):
        _items(value, args[0], path)
    return True


def _items(items: Any, annotation: Any, path: str) -> None:
    for i, item in enumerate(items):
        check(item, annotation, f"{path}[{i}]")


def _mapping(data: Any, args: tuple[Any, ...], path: str) -> None:
    if len(args) != 2:
        return
    for key, item in data.items():
        check(key, args[0], f"{path}[{key!r}]")
        check(item, args[1], f"{path}[{key!r}]")
