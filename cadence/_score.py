"""Score types: the mutable ``Score`` base, ``ImmutableScore``, and thread-safe ``Atomic*`` containers.

A score is the state a cadence threads through its notes. Any object with attributes works —
plain dataclasses and pydantic models included; ``Score`` only adds a chainable
``__post_init__`` so subclasses can initialise fields the seed way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

__all__ = ["Atomic", "AtomicDict", "AtomicList", "ImmutableScore", "Score"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
_Self = TypeVar("_Self", bound="ImmutableScore")
_MISSING: Any = object()


class Score:
    """Base class for mutable scores; subclass it with ``@dataclass``.

    ``__post_init__`` exists (and does nothing) so subclasses can always call
    ``super().__post_init__()``; it is safe to call more than once. The base itself declares no
    fields (and is not itself a dataclass, which keeps ``import cadence`` fast).
    """

    def __post_init__(self) -> None:
        """Hook for subclasses; chain with ``super().__post_init__()``."""


class ImmutableScore:
    """Base class for frozen scores (subclass with ``@dataclass(frozen=True)``).

    Notes return a changed copy instead of mutating.

    A note that returns an instance of the score's class replaces the score for the steps
    that follow, which is how functional-style cadences advance.
    """

    def __post_init__(self) -> None:
        """Hook for subclasses; chain with ``super().__post_init__()``."""

    def replace(self: _Self, **changes: Any) -> _Self:
        """A copy with the given fields changed (validated like the constructor)."""
        import dataclasses

        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def with_field(self: _Self, field: str, value: Any) -> _Self:
        """A copy with one field changed; raises ``AttributeError`` for an unknown field."""
        import dataclasses

        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        if field not in names:
            known = ", ".join(names)
            raise AttributeError(f"{type(self).__name__} has no field {field!r} (fields: {known})")
        return dataclasses.replace(self, **{field: value})  # type: ignore[type-var]


class Atomic(Generic[T]):
    """A single value guarded by a lock, shared by every task of a ``.sync`` group.

    The lock is a ``threading.Lock`` held only inside these methods (never across an
    ``await``), so it is safe from coroutines and from sync notes running in threads alike.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self, value: T) -> None:
        self._value = value
        self._lock = threading.Lock()

    def get(self) -> T:
        """The current value."""
        with self._lock:
            return self._value

    def set(self, value: T) -> None:
        """Replace the value."""
        with self._lock:
            self._value = value

    def update(self, fn: Callable[[T], T]) -> T:
        """Apply ``fn`` to the value atomically and return the new value."""
        with self._lock:
            self._value = fn(self._value)
            return self._value

    def compare_and_swap(self, expected: T, new_value: T) -> bool:
        """Set ``new_value`` only if the value equals ``expected``; whether it was set."""
        with self._lock:
            if self._value == expected:
                self._value = new_value
                return True
            return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Atomic):
            return bool(self.get() == other.get())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Atomic({self.get()!r})"


class AtomicList(Generic[T]):
    """A list whose operations are atomic; tasks of a ``.sync`` group share it.

    Iteration and ``get_all()`` work on a snapshot, so a reader never sees a half-applied write.
    """

    __slots__ = ("_items", "_lock")

    def __init__(self, initial: Iterable[T] | None = None) -> None:
        self._items: list[T] = list(initial or ())
        self._lock = threading.Lock()

    def append(self, item: T) -> None:
        """Add one item at the end."""
        with self._lock:
            self._items.append(item)

    def extend(self, items: Iterable[T]) -> None:
        """Add several items at the end, as one atomic step."""
        new = list(items)
        with self._lock:
            self._items.extend(new)

    def pop(self, index: int = -1) -> T:
        """Remove and return an item."""
        with self._lock:
            return self._items.pop(index)

    def get_all(self) -> list[T]:
        """A copy of the items."""
        with self._lock:
            return list(self._items)

    def clear(self) -> list[T]:
        """Remove every item and return what was there."""
        with self._lock:
            items, self._items = self._items, []
            return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.get_all())

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._items

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        with self._lock:
            return self._items[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AtomicList):
            return self.get_all() == other.get_all()
        if isinstance(other, list):
            return self.get_all() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AtomicList({self.get_all()!r})"


class AtomicDict(Generic[K, V]):
    """A dict whose operations are atomic; supports ``d[k] = v``, ``d[k]``, ``in``, ``len``."""

    __slots__ = ("_data", "_lock")

    def __init__(self, initial: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, key: K, default: Any = None) -> Any:
        """The value for ``key``, or ``default``."""
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: K, value: V) -> None:
        """Set ``key`` to ``value``."""
        with self._lock:
            self._data[key] = value

    def setdefault(self, key: K, default: V) -> V:
        """The value for ``key``, inserting ``default`` first if it is missing."""
        with self._lock:
            return self._data.setdefault(key, default)

    def update(self, other: Mapping[K, V] | Iterable[tuple[K, V]] = (), /, **kw: V) -> None:
        """Merge several entries in one atomic step."""
        new: dict[K, V] = dict(other)
        new.update(kw)  # type: ignore[arg-type]
        with self._lock:
            self._data.update(new)

    def update_value(self, key: K, fn: Callable[[V | None], V]) -> V:
        """Replace ``d[key]`` with ``fn(d.get(key))`` atomically and return it."""
        with self._lock:
            value = fn(self._data.get(key))
            self._data[key] = value
            return value

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value (or ``default``; ``KeyError`` without one)."""
        with self._lock:
            if default is _MISSING:
                return self._data.pop(key)
            return self._data.pop(key, default)

    def get_all(self) -> dict[K, V]:
        """A copy of the entries."""
        with self._lock:
            return dict(self._data)

    def keys(self) -> list[K]:
        """A snapshot of the keys."""
        with self._lock:
            return list(self._data)

    def values(self) -> list[V]:
        """A snapshot of the values."""
        with self._lock:
            return list(self._data.values())

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the entries."""
        with self._lock:
            return list(self._data.items())

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value

    def __getitem__(self, key: K) -> V:
        with self._lock:
            return self._data[key]

    def __delitem__(self, key: K) -> None:
        with self._lock:
            del self._data[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AtomicDict):
            return self.get_all() == other.get_all()
        if isinstance(other, dict):
            return self.get_all() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AtomicDict({self.get_all()!r})"


ATOMIC_TYPES = (Atomic, AtomicList, AtomicDict)
