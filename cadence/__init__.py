"""cadence: declarative orchestration for services and LLM pipelines.

Build a plan with ``Cadence(name, score).then(...).sync(...).split(...).child(...)`` and run it
with ``await cadence.run()``. The core depends on the standard library only.

The builder, scores, notes and errors load with the package; resilience policies, built-in
hooks and diagrams load on first use (PEP 562), so ``import cadence`` stays within a few
milliseconds of ``import asyncio``.
"""

import typing

from cadence._cadence import Cadence
from cadence._callables import is_async_callable
from cadence._context import NoteScope, current_note
from cadence._merge import MergeStrategy, merge_snapshots
from cadence._note import Note, note
from cadence._observe._base import CadenceHooks, HooksManager
from cadence._plan import Plan
from cadence._score import Atomic, AtomicDict, AtomicList, ImmutableScore, Score
from cadence._version import __version__
from cadence.exceptions import (
    CadenceDefinitionError,
    CadenceError,
    CheckpointError,
    CircuitOpenError,
    MergeConflict,
    NoteError,
    ParallelNoteError,
    RetryExhaustedError,
    Skip,
    TimeoutError,
    ValidationError,
)

if typing.TYPE_CHECKING:
    from cadence._group import run_group
    from cadence._observe._builtin import (
        DebugHooks,
        LoggingHooks,
        MetricsHooks,
        TimingHooks,
        TracingHooks,
    )
    from cadence.checkpoint import CheckpointStore, InMemoryCheckpointStore
    from cadence.diagram import save_diagram, to_dot, to_mermaid
    from cadence.events import (
        CADENCE_COMPLETED,
        CADENCE_FAILED,
        CADENCE_STARTED,
        NOTE_COMPLETED,
        NOTE_FAILED,
        NOTE_STARTED,
        CadenceEvent,
        EventEmitter,
    )
    from cadence.reporters import console_reporter, json_reporter
    from cadence.resilience import (
        CircuitBreaker,
        CircuitState,
        Fallback,
        Retry,
        Timeout,
        circuit_breaker,
        fallback,
        retry,
        timeout,
    )
    from cadence.result import Err, Ok, Result, err, ok

_LAZY = {
    "CADENCE_COMPLETED": "cadence.events",
    "CADENCE_FAILED": "cadence.events",
    "CADENCE_STARTED": "cadence.events",
    "CadenceEvent": "cadence.events",
    "CheckpointStore": "cadence.checkpoint",
    "Err": "cadence.result",
    "EventEmitter": "cadence.events",
    "InMemoryCheckpointStore": "cadence.checkpoint",
    "NOTE_COMPLETED": "cadence.events",
    "NOTE_FAILED": "cadence.events",
    "NOTE_STARTED": "cadence.events",
    "Ok": "cadence.result",
    "Result": "cadence.result",
    "console_reporter": "cadence.reporters",
    "err": "cadence.result",
    "json_reporter": "cadence.reporters",
    "ok": "cadence.result",
    "save_diagram": "cadence.diagram",
    "CircuitBreaker": "cadence.resilience",
    "CircuitState": "cadence.resilience",
    "DebugHooks": "cadence._observe._builtin",
    "Fallback": "cadence.resilience",
    "LoggingHooks": "cadence._observe._builtin",
    "MetricsHooks": "cadence._observe._builtin",
    "Retry": "cadence.resilience",
    "Timeout": "cadence.resilience",
    "TimingHooks": "cadence._observe._builtin",
    "TracingHooks": "cadence._observe._builtin",
    "circuit_breaker": "cadence.resilience",
    "run_group": "cadence._group",
    "fallback": "cadence.resilience",
    "retry": "cadence.resilience",
    "timeout": "cadence.resilience",
    "to_dot": "cadence.diagram",
    "to_mermaid": "cadence.diagram",
}


# 0.7.2 exported these from the package too; they are deprecated (each warns when used), so
# they are neither in __all__ nor cached here. See docs/migrating.md.
_DEPRECATED = {
    "CheckpointHooks": "cadence.checkpoint",
    "print_cadence": "cadence.diagram",
    "render_svg": "cadence.diagram",
    "restore_score": "cadence.checkpoint",
    "serialize_score": "cadence.checkpoint",
}


def __getattr__(name: str) -> typing.Any:
    import importlib

    module_name = _LAZY.get(name)
    if module_name is None:
        if name in _DEPRECATED:
            return getattr(importlib.import_module(_DEPRECATED[name]), name)
        raise AttributeError(f"module 'cadence' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [  # noqa: RUF022 - plainly sorted; tests/core/test_exports.py checks it
    "Atomic",
    "AtomicDict",
    "AtomicList",
    "CADENCE_COMPLETED",
    "CADENCE_FAILED",
    "CADENCE_STARTED",
    "Cadence",
    "CadenceDefinitionError",
    "CadenceError",
    "CadenceEvent",
    "CadenceHooks",
    "CheckpointError",
    "CheckpointStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "DebugHooks",
    "Err",
    "EventEmitter",
    "Fallback",
    "HooksManager",
    "ImmutableScore",
    "InMemoryCheckpointStore",
    "LoggingHooks",
    "MergeConflict",
    "MergeStrategy",
    "MetricsHooks",
    "NOTE_COMPLETED",
    "NOTE_FAILED",
    "NOTE_STARTED",
    "Note",
    "NoteError",
    "NoteScope",
    "Ok",
    "ParallelNoteError",
    "Plan",
    "Result",
    "Retry",
    "RetryExhaustedError",
    "Score",
    "Skip",
    "Timeout",
    "TimeoutError",
    "TimingHooks",
    "TracingHooks",
    "ValidationError",
    "__version__",
    "circuit_breaker",
    "console_reporter",
    "current_note",
    "err",
    "fallback",
    "is_async_callable",
    "json_reporter",
    "merge_snapshots",
    "note",
    "ok",
    "retry",
    "run_group",
    "save_diagram",
    "timeout",
    "to_dot",
    "to_mermaid",
]
