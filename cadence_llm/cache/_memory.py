"""``InMemoryResponseCache``: the reference backend, bounded and least-recently-used."""

from __future__ import annotations

import time
from collections import OrderedDict

__all__ = ["InMemoryResponseCache"]


class InMemoryResponseCache:
    """Answers kept in this process, at most ``max_entries`` of them (least recently used go).

    Args:
        max_entries: How many answers to keep.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be an int >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[str, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> str | None:
        """The value under ``key`` unless it expired."""
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and time.time() >= expires:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        self._items[key] = (value, None if ttl is None else time.time() + ttl)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
