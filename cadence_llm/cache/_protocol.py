"""The ``ResponseCache`` protocol: two async methods over opaque keys and text values."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ResponseCache"]


@runtime_checkable
class ResponseCache(Protocol):
    """Where cached answers live. Keys are hex digests; values are JSON text."""

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None when absent or expired."""
        ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any; it expires after ``ttl`` seconds."""
        ...
