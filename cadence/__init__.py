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
from cadence.hooks import CadenceHooks, HooksManager

if typing.TYPE_CHECKING:
    from cadence._builtin_hooks import (
        DebugHooks,
        LoggingHooks,
        MetricsHooks,
        TimingHooks,
        TracingHooks,
    )
    from cadence._group import run_group
    from cadence.diagram import to_dot, to_mermaid
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

_LAZY = {
    "CircuitBreaker": "cadence.resilience",
    "CircuitState": "cadence.resilience",
    "DebugHooks": "cadence._builtin_hooks",
    "Fallback": "cadence.resilience",
    "LoggingHooks": "cadence._builtin_hooks",
    "MetricsHooks": "cadence._builtin_hooks",
    "Retry": "cadence.resilience",
    "Timeout": "cadence.resilience",
    "TimingHooks": "cadence._builtin_hooks",
    "TracingHooks": "cadence._builtin_hooks",
    "circuit_breaker": "cadence.resilience",
    "run_group": "cadence._group",
    "fallback": "cadence.resilience",
    "retry": "cadence.resilience",
    "timeout": "cadence.resilience",
    "to_dot": "cadence.diagram",
    "to_mermaid": "cadence.diagram",
}


def __getattr__(name: str) -> typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cadence' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Atomic",
    "AtomicDict",
    "AtomicList",
    "Cadence",
    "CadenceDefinitionError",
    "CadenceError",
    "CadenceHooks",
    "CheckpointError",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "DebugHooks",
    "Fallback",
    "HooksManager",
    "ImmutableScore",
    "LoggingHooks",
    "MergeConflict",
    "MergeStrategy",
    "MetricsHooks",
    "Note",
    "NoteError",
    "NoteScope",
    "ParallelNoteError",
    "Plan",
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
    "current_note",
    "fallback",
    "is_async_callable",
    "merge_snapshots",
    "note",
    "retry",
    "run_group",
    "timeout",
    "to_dot",
    "to_mermaid",
]
