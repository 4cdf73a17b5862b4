"""What is kept only so that code written for cadence-orchestration 0.7.2 keeps working.

Each module covers one area (diagrams, hooks, reporters, checkpoints, the web integrations,
old module paths) and is reached from the public module that owned the name in 0.7.2, so the
rest of the code base never depends on it. ``docs/migrating.md`` lists every 0.7.2 name, what it
is now, and each behaviour that changed on purpose.

Names whose 0.7.2 behaviour was a bug or has a better replacement still work, and emit a
``DeprecationWarning`` naming the replacement (:func:`deprecated`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["bound", "deprecated", "moved"]


def deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` (a 0.7.2 name or form) is deprecated in favour of ``new``.

    ``stacklevel`` defaults to the caller of the function that calls this, i.e. the user's line.
    """
    warnings.warn(
        f"{old} is deprecated (kept for cadence-orchestration 0.7.2 code); use {new} instead. "
        "See docs/migrating.md.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def bound(shim: Callable[..., Any], **owner: Any) -> Callable[..., Any]:
    """``shim`` with the public objects it wraps handed in as keywords.

    A shim never imports the module whose 0.7.2 names it keeps (that module reaches the shim,
    so the import would close a circle); the module passes what the shim needs when a
    deprecated name is looked up, e.g. ``bound(compat.print_cadence, to_text=to_text)``.
    """
    call = functools.partial(shim, **owner)
    functools.update_wrapper(call, shim)
    # ``inspect.signature`` would follow ``__wrapped__`` to the shim and show the owner's
    # keywords as required parameters; callers see 0.7.2's parameters only.
    signature = inspect.signature(shim)
    kept = [p for p in signature.parameters.values() if p.name not in owner]
    call.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return call


def moved(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for a 0.7.2 module path whose names now live elsewhere.

    ``names`` maps each old name to ``"new.module:new_name"``; using one warns and returns it.
    """

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        where, _, new_name = target.partition(":")
        deprecated(f"{module}.{name}", f"{where}.{new_name}")
        return getattr(importlib.import_module(where), new_name)

    return __getattr__
