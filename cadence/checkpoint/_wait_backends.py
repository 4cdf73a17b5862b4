"""The wait backends made for checkpoint stores, by store (a leaf: stores import it to close theirs).

``cadence.checkpoint._waits.wait_store_for`` fills this; a store's ``close()``/``aclose()`` takes
its backend out with :func:`detach_waits` and closes it.
"""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["backends", "detach_waits"]

backends: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
"""Checkpoint store -> the wait store made for it (one backend per store object)."""


def detach_waits(store: Any) -> Any:
    """Forget the wait backend made for checkpoint store ``store`` and return it (or ``None``).

    A store's ``close()``/``aclose()`` closes what this returns, so closing a store closes its
    wait records' connection too; a store used again after closing gets a new backend.
    """
    try:
        return backends.pop(store, None)
    except TypeError:  # not weak-referenceable: never cached
        return None
