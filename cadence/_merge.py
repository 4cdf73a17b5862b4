"""Isolated views of a score for ``.sync`` tasks, and the three-way merge of their changes.

Each task gets a *view*: an instance of a cached subclass of the score's class whose fields start
as the very same objects as the score's. Mutable containers (lists, dicts, sets, bytearrays and
nested dataclasses/pydantic models) are copied the first time the task reads them, so a task's
in-place ``append`` never reaches the score or another task, and fields a task never touches are
never copied: the cost of a view does not grow with the size of untouched data.

After the group, each view's changes are diffed against the pre-group state and merged
(``MergeStrategy.smart_merge`` by default): one writer wins; equal values agree; lists that
several tasks extended (or started from ``None``) are concatenated in task order; dicts merge by
key; sets merge additions and removals; anything else that differs raises ``MergeConflict``.
"""

from __future__ import annotations

import contextlib
import copy
import enum
from collections.abc import Callable, Sequence
from typing import Any

from cadence._score import ATOMIC_TYPES
from cadence.exceptions import MergeConflict

__all__ = [
    "Made",
    "MergeStrategy",
    "ViewFactory",
    "apply_changes",
    "collect_changes",
    "isolate",
    "merge_mapping",
    "merge_snapshots",
    "mutated_in_place",
]

_IMMUTABLE = (str, int, float, complex, bool, bytes, type(None), frozenset, range, enum.Enum)
_CONTAINERS = (list, dict, set, bytearray)
_SHARED = (*_IMMUTABLE, *ATOMIC_TYPES)
_VIEW_SLOT = "_cadence_view_"


class _ViewState:
    __slots__ = ("copied", "copies", "dirty", "made", "pending")

    def __init__(self, pending: dict[str, Any]) -> None:
        self.dirty = False  # an attribute was assigned or deleted on the view
        self.pending = pending  # field -> original value, not yet copied
        self.copied: dict[str, Any] = {}  # field -> original value, for fields copied on read
        self.copies: dict[str, Any] = {}  # field -> the task's private copy
        # id -> list or dict, for every one the copies made (nested ones too): a nested list
        # that is one of these was changed in place (appended to), not assigned. See `Made`.
        self.made: Made = {}


def _needs_copy(value: Any) -> bool:
    if isinstance(value, _SHARED):
        return False
    if isinstance(value, (*_CONTAINERS, tuple)):
        return True
    return _is_record(value)


def _is_record(value: Any) -> bool:
    """Dataclass instances and pydantic models: compared by value, so safe to copy for isolation."""
    cls = type(value)
    params = getattr(cls, "__dataclass_params__", None)
    if params is not None:
        return not params.frozen
    return hasattr(cls, "model_fields") and hasattr(value, "model_copy")


Made = dict[int, Any]
"""The lists and dicts an isolation copied, by id. A list among them was changed in place, so
equal results of several tasks are separate appends (all kept), not one value they agreed on;
a dict among them is merged key by key even when the tasks' versions are equal."""


def isolate(value: Any, made: Made | None = None) -> Any:
    """Copy the mutable structure of ``value``; immutable leaves and other objects are shared.

    ``made``, when given, records every list and dict copy (see :data:`Made`).
    """
    if isinstance(value, _SHARED):
        return value
    cls = type(value)
    if cls is list:
        if made is None:
            return [isolate(v) for v in value]
        copied = [isolate(v, made) for v in value]
        made[id(copied)] = copied
        return copied
    if cls is dict:
        if made is None:
            return {k: isolate(v) for k, v in value.items()}
        mapping = {k: isolate(v, made) for k, v in value.items()}
        made[id(mapping)] = mapping
        return mapping
    if cls is set:
        return set(value)
    if cls is bytearray:
        return bytearray(value)
    if cls is tuple:
        return tuple(isolate(v, made) for v in value)
    if isinstance(value, _CONTAINERS) or _is_record(value):
        try:
            return copy.deepcopy(value)
        except Exception:  # uncopyable (locks, clients): share it rather than fail the run
            return value
    return value


# --- views --------------------------------------------------------------------------------

_view_classes: dict[type, type] = {}


_state_names_cache: dict[type, tuple[bool, tuple[str, ...]]] = {}


def _state_names(cls: type) -> tuple[bool, tuple[str, ...]]:
    """Whether instances have a ``__dict__``, and the slot names holding state (cached)."""
    cached = _state_names_cache.get(cls)
    if cached is not None:
        return cached
    slots: list[str] = []
    has_dict = False
    for klass in cls.__mro__:
        if klass is object:
            continue
        if "__dict__" in vars(klass):
            has_dict = True
        raw = vars(klass).get("__slots__", ())
        for s in (raw,) if isinstance(raw, str) else raw:
            if s not in ("__dict__", "__weakref__", _VIEW_SLOT) and s not in slots:
                slots.append(s)
    result = (has_dict, tuple(slots))
    _state_names_cache[cls] = result
    return result


def _view_class(cls: type) -> type:
    known = _view_classes.get(cls)
    if known is not None:
        return known
    base_getattribute: Callable[[Any, str], Any] = cls.__getattribute__  # type: ignore[assignment]

    def __getattribute__(self: Any, name: str) -> Any:
        try:
            state: _ViewState = object.__getattribute__(self, _VIEW_SLOT)
        except AttributeError:  # made by type(view)(...) / dataclasses.replace: a plain object
            return base_getattribute(self, name)
        if state.pending and name in state.pending:
            original = state.pending.pop(name)
            state.copied[name] = original
            copied = isolate(original, state.made)
            state.copies[name] = copied
            _set_raw(self, name, copied)
            return copied
        return base_getattribute(self, name)

    base_setattr: Callable[[Any, str, Any], None] = cls.__setattr__  # type: ignore[assignment]
    base_delattr: Callable[[Any, str], None] = cls.__delattr__  # type: ignore[assignment]

    def __setattr__(self: Any, name: str, value: Any) -> None:
        state = _state_of(self)
        if state is not None:
            state.dirty = True
        base_setattr(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        state = _state_of(self)
        if state is not None:
            state.dirty = True
        base_delattr(self, name)

    # Copies, pickles and comparisons see the score's own class, not the view class, so
    # copy.copy / copy.deepcopy / pickle / model_copy / `score == Score(...)` work in a task.
    def __copy__(self: Any) -> Any:
        return _plain(self, cls)

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(_plain(self, cls), memo)

    def __reduce_ex__(self: Any, protocol: Any) -> Any:
        return (_restore, (cls, get_state(_plain(self, cls))))

    base_eq: Callable[[Any, Any], Any] = cls.__eq__  # type: ignore[assignment]

    def __eq__(self: Any, other: Any) -> Any:
        if isinstance(other, view):
            other = _plain(other, cls)
        return base_eq(_plain(self, cls), other)

    namespace = {
        "__slots__": (_VIEW_SLOT,),
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__copy__": __copy__,
        "__deepcopy__": __deepcopy__,
        "__reduce_ex__": __reduce_ex__,
        "__eq__": __eq__,
        "__hash__": cls.__hash__,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__cadence_view_of__": cls,
    }
    view: type = type(cls.__name__, (cls,), namespace)
    _view_classes[cls] = view
    return view


def _state_of(obj: Any) -> _ViewState | None:
    try:
        state: _ViewState = object.__getattribute__(obj, _VIEW_SLOT)
    except AttributeError:
        return None
    return state


def _plain(view: Any, cls: type) -> Any:
    """A shallow copy of ``view`` as an instance of the score's own class.

    Fields the task has not read yet are copied first, so the copy never shares a mutable
    field with the score outside the group.
    """
    state = _state_of(view)
    if state is not None:
        for name in list(state.pending):
            getattr(view, name)
    return _restore(cls, get_state(view))


def _restore(cls: type, values: dict[str, Any]) -> Any:
    """An instance of ``cls`` holding ``values`` (a view's copy, or its unpickled form)."""
    plain: Any = object.__new__(cls)
    has_dict, slots = _state_names(cls)
    if has_dict:
        object.__setattr__(plain, "__dict__", {k: v for k, v in values.items() if k not in slots})
    for name in slots:
        if name in values:
            object.__setattr__(plain, name, values[name])
    return plain


def _set_raw(obj: Any, name: str, value: Any) -> None:
    d = object.__getattribute__(obj, "__dict__") if _has_dict(obj) else None
    if d is not None and (name in d or not _is_slot(type(obj), name)):
        d[name] = value
    else:
        object.__setattr__(obj, name, value)


def _has_dict(obj: Any) -> bool:
    try:
        object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return False
    return True


def _is_slot(cls: type, name: str) -> bool:
    return name in _state_names(cls)[1]


def get_state(obj: Any) -> dict[str, Any]:
    """The object's state as a name -> value dict (``__dict__`` plus slots), not copied deeply."""
    has_dict, slots = _state_names(type(obj))
    state = dict(object.__getattribute__(obj, "__dict__")) if has_dict else {}
    for s in slots:
        with contextlib.suppress(AttributeError):
            state[s] = object.__getattribute__(obj, s)
    return state


class ViewFactory:
    """Makes isolated views of one score for one group; the per-field work is done once."""

    __slots__ = ("_cls", "_dict", "_pending", "_slots")

    def __init__(self, score: Any, base: dict[str, Any]) -> None:
        self._cls = _view_class(type(score))
        has_dict, slots = _state_names(type(score))
        self._slots = tuple((s, base[s]) for s in slots if s in base)
        self._dict = {k: v for k, v in base.items() if k not in slots} if has_dict else None
        self._pending = {k: v for k, v in base.items() if _needs_copy(v)}

    def new(self) -> Any:
        """A fresh view: fields shared with the score until the task reads a mutable one."""
        try:
            view: Any = object.__new__(self._cls)
        except TypeError:  # a base with its own __new__ (types.SimpleNamespace)
            if self._dict is None:
                raise TypeError(
                    f"a .sync group isolates its tasks through the score's attributes; a "
                    f"{self._cls.__mro__[1].__name__} score has none: use a dataclass, a "
                    "pydantic model, a dict or an object with attributes"
                ) from None
            view = self._cls.__mro__[1].__new__(self._cls)  # type: ignore[call-overload]
        if self._dict is not None:
            try:
                object.__setattr__(view, "__dict__", self._dict.copy())
            except (AttributeError, TypeError):  # a read-only __dict__ (SimpleNamespace)
                object.__getattribute__(view, "__dict__").update(self._dict)
        for name, value in self._slots:
            object.__setattr__(view, name, value)
        object.__setattr__(view, _VIEW_SLOT, _ViewState(self._pending.copy()))
        return view


def collect_changes(view: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Fields the task changed: re-assigned, or a copied container that now differs."""
    state: _ViewState = object.__getattribute__(view, _VIEW_SLOT)
    if not state.dirty:
        # Nothing was assigned: only in-place changes to copied containers can differ.
        return {
            name: copy
            for name, copy in state.copies.items()
            if not _equal(copy, state.copied[name])
        }
    current = get_state(view)
    changes: dict[str, Any] = {}
    for name, value in current.items():
        if name not in base:
            changes[name] = value
            continue
        original = base[name]
        if value is original:
            continue
        if name in state.copied and state.copied[name] is original:
            try:
                same = bool(value == original)
            except Exception:
                same = False
            if same:
                continue
        changes[name] = value
    return changes


def returned_changes(result: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Fields a task's *returned* score differs in from the state before the group.

    A task may return a new instance of the score's class instead of changing its view (the
    way an ``ImmutableScore`` advances: ``return s.with_field("n", 1)``); that instance is the
    task's version of the score, as a returned score is for ``.then``.
    """
    return {
        name: value
        for name, value in get_state(result).items()
        if name not in base or not _equal(value, base[name])
    }


# --- strategies ---------------------------------------------------------------------------


def mutated_in_place(snapshot: Any, name: str, value: Any) -> bool:
    """Whether a task changed ``name`` by mutating its private copy (vs assigning a new value)."""
    try:
        state: _ViewState = object.__getattribute__(snapshot, _VIEW_SLOT)
    except (AttributeError, TypeError):
        return False
    return state.copies.get(name) is value


def _merge_values(
    field: str, base: Any, values: list[Any], *, appended: bool = False, made: Made | None = None
) -> Any:
    """Merge several writers' values for one field against its pre-group value.

    ``appended``: some writer extended a list in place; then equal results are not "the same
    write agreed on" but separate appends, which are all kept. ``made`` tells the same for
    lists nested in dicts (see :data:`Made`).
    """
    first = values[0]
    if not (appended and isinstance(base, list | dict)) and all(
        _equal(first, v) for v in values[1:]
    ):
        return first
    if base is None and all(isinstance(v, list) for v in values):
        base = []  # `items: list = None`, started by several tasks: each one's items are kept
    if isinstance(base, list) and all(isinstance(v, list) for v in values):
        n = len(base)
        if all(v[:n] == base for v in values):
            merged = list(base)
            for v in values:
                merged.extend(v[n:])
            return merged
    if isinstance(base, dict) and all(isinstance(v, dict) for v in values):
        return _merge_dicts(field, base, values, made)
    if isinstance(base, set) and all(isinstance(v, set) for v in values):
        added = set().union(*(v - base for v in values))
        removed = set().union(*(base - v for v in values))
        return (base - removed) | added
    if _is_record(base) and all(type(v) is type(base) for v in values):
        # A nested dataclass or pydantic model: merged field by field, as a dict by key, so
        # two tasks setting s.address.city and s.address.zip both count.
        state = _merge_dicts(field, get_state(base), [get_state(v) for v in values], made, ".")
        return _restore(type(base), state)
    raise MergeConflict(field, values)


_ABSENT: Any = object()


def _merge_dicts(
    field: str,
    base: dict[Any, Any],
    values: list[dict[Any, Any]],
    made: Made | None = None,
    sep: str = "",
) -> dict[Any, Any]:
    """Merge several writers' versions of a dict (or a record's fields, ``sep="."``) by key."""
    result = dict(base)
    keys = set().union(*(v.keys() for v in values)) | set(base)
    for key in keys:
        where = f"{field}.{key}" if sep else f"{field}[{key!r}]"
        old = base.get(key, _ABSENT)
        writes = [v.get(key, _ABSENT) for v in values]
        changed = [w for w in writes if not _equal(w, old)]
        if not changed:
            continue
        if any(w is _ABSENT for w in changed) and not all(w is _ABSENT for w in changed):
            raise MergeConflict(where, [None if w is _ABSENT else w for w in changed])
        if changed[0] is _ABSENT:
            result.pop(key, None)
            continue
        appended = made is not None and any(made.get(id(w)) is w for w in changed)
        result[key] = _merge_values(
            where, old if old is not _ABSENT else None, changed, appended=appended, made=made
        )
    return result


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _group_by_field(changes: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    by_field: dict[str, list[Any]] = {}
    for change in changes:
        for name, value in change.items():
            by_field.setdefault(name, []).append(value)
    return by_field


def is_frozen(score: Any) -> bool:
    """Whether ``score`` refuses assignment: a frozen dataclass or a frozen pydantic model."""
    params = getattr(type(score), "__dataclass_params__", None)
    if params is not None:
        return bool(params.frozen)
    config = getattr(type(score), "model_config", None)
    return isinstance(config, dict) and bool(config.get("frozen"))


def apply_changes(score: Any, values: dict[str, Any]) -> None:
    """Write merged values back onto the score (frozen dataclasses and models included)."""
    frozen = is_frozen(score)
    for name, value in values.items():
        if frozen:
            object.__setattr__(score, name, value)
        else:
            setattr(score, name, value)


class MergeStrategy:
    """Built-in ways to merge a ``.sync`` group's changes; any callable
    ``(original, snapshots, changes) -> None`` (the 0.7 signature) works as well."""

    @staticmethod
    def smart_merge(
        original: Any, snapshots: Sequence[Any], changes: Sequence[dict[str, Any]]
    ) -> None:
        """Three-way merge: agree, concatenate lists, merge dicts/sets by key, else conflict."""
        base = get_state(original)
        writes: dict[str, list[tuple[Any, bool]]] = {}
        aligned = len(snapshots) == len(changes)
        made: Made = {}
        for snapshot in snapshots:
            state = _state_of(snapshot)
            if state is not None:
                made.update(state.made)
        for index, change in enumerate(changes):
            for name, value in change.items():
                in_place = aligned and mutated_in_place(snapshots[index], name, value)
                writes.setdefault(name, []).append((value, in_place))
        merged: dict[str, Any] = {}
        for name, field_writes in writes.items():
            values = [v for v, _ in field_writes]
            if len(values) == 1:
                merged[name] = values[0]
            else:
                appended = any(in_place for _, in_place in field_writes)
                merged[name] = _merge_values(
                    name, base.get(name), values, appended=appended, made=made
                )
        apply_changes(original, merged)

    @staticmethod
    def fail_on_conflict(
        original: Any, snapshots: Sequence[Any], changes: Sequence[dict[str, Any]]
    ) -> None:
        """Raise ``MergeConflict`` when two tasks changed one field to different values."""
        merged: dict[str, Any] = {}
        for name, values in _group_by_field(changes).items():
            if not all(_equal(values[0], v) for v in values[1:]):
                raise MergeConflict(name, values)
            merged[name] = values[0]
        apply_changes(original, merged)

    @staticmethod
    def last_write_wins(
        original: Any, snapshots: Sequence[Any], changes: Sequence[dict[str, Any]]
    ) -> None:
        """For each field, the value of the last task (in list order) that changed it."""
        merged: dict[str, Any] = {}
        for change in changes:
            merged.update(change)
        apply_changes(original, merged)


MergeFn = Callable[[Any, Sequence[Any], Sequence[dict[str, Any]]], Any]


def merge_mapping(
    score: dict[Any, Any],
    base: dict[Any, Any],
    views: Sequence[dict[Any, Any]],
    strategy: MergeFn,
    made: Made | None = None,
) -> None:
    """Merge ``.sync`` tasks' copies of a dict score back into it, key by key.

    The built-in strategies treat the dict's keys like a score's fields; a custom strategy gets
    ``(score, views, changes)`` with ``changes`` one ``{key: value}`` dict per task. A key a
    task deleted conflicts with another task's write; deleted alone, it is removed. ``made``
    holds the lists the views' isolation copied (:data:`Made`), so lists that several tasks
    appended to keep every append.
    """
    changes = [
        {k: v for k, v in view.items() if k not in base or not _equal(v, base[k])} for view in views
    ]
    removed = {k for view in views for k in base if k not in view}
    if strategy is MergeStrategy.smart_merge:
        merged = _merge_dicts("score", base, list(views), made)
        score.clear()
        score.update(merged)
        return
    if strategy in (MergeStrategy.fail_on_conflict, MergeStrategy.last_write_wins):
        result: dict[Any, Any] = {}
        for change in changes:
            for key, value in change.items():
                if (
                    strategy is MergeStrategy.fail_on_conflict
                    and key in result
                    and not _equal(result[key], value)
                ):
                    raise MergeConflict(str(key), [result[key], value])
                result[key] = value
        for key in removed - set(result):
            score.pop(key, None)
        score.update(result)
        return
    strategy(score, views, changes)


def merge_snapshots(
    original: Any,
    snapshots: Sequence[Any],
    strategy: MergeFn = MergeStrategy.smart_merge,
    *,
    base: dict[str, Any] | None = None,
) -> Any:
    """Merge isolated task views back into ``original`` with ``strategy``.

    Args:
        original: The score the group ran on (not yet changed by the tasks).
        snapshots: The tasks' views, in task order.
        strategy: A ``MergeStrategy`` member or a custom ``(original, snapshots, changes)``.
        base: The pre-group state, when the caller already has it.
    """
    if base is None:
        base = get_state(original)
    changes = [collect_changes(v, base) for v in snapshots]
    return strategy(original, snapshots, changes)
