"""Lifecycle hooks: override the methods you need, attach with ``Cadence.with_hooks``.

``CadenceHooks`` is a base class of async no-ops, so a subclass only writes the calls it cares
about. Hooks are observers: an exception raised by a hook is logged on the ``cadence.hooks``
logger and swallowed, and the run goes on exactly as it would have without that hook. The one
exception is ``on_error``, whose return value is honoured (``True`` suppresses the error and the
run continues with the next step), as in cadence-orchestration 0.7.

Tasks inside ``.sync``, ``.split`` and ``.child`` steps are reported too: ``before_note`` /
``after_note`` fire for each task with the task's name, and ``note_scope()`` tells a hook which
group (and which position in it) the task belongs to. A cadence with no hooks attached skips
all of this: hooks cost nothing until you use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cadence._context import current_note
from cadence._observe._base import CadenceHooks, HooksManager, is_failure, is_parked

__all__ = [
    "CadenceHooks",
    "DebugHooks",
    "HooksManager",
    "LoggingHooks",
    "MetricsHooks",
    "TimingHooks",
    "TracingHooks",
    "after_note",
    "before_note",
    "is_failure",
    "is_parked",
    "note_scope",
    "on_error",
]

note_scope = current_note
"""The note currently executing (``cadence.current_note``, under its older name)."""


_BUILTINS = ("DebugHooks", "LoggingHooks", "MetricsHooks", "TimingHooks", "TracingHooks")
_FACTORIES = ("after_note", "before_note", "on_error")

if TYPE_CHECKING:
    from cadence._compat.hooks import after_note, before_note, on_error
    from cadence._observe._builtin import (
        DebugHooks,
        LoggingHooks,
        MetricsHooks,
        TimingHooks,
        TracingHooks,
    )


def __getattr__(name: str) -> Any:
    # The built-in hooks load on first use so that ``import cadence`` stays cheap.
    if name in _BUILTINS:
        from cadence._observe import _builtin

        return getattr(_builtin, name)
    if name in _FACTORIES:  # one-callback hooks, as in 0.7.2
        from cadence._compat import hooks as factories

        return getattr(factories, name)
    raise AttributeError(f"module 'cadence.hooks' has no attribute {name!r}")
