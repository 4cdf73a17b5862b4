"""cadence: declarative orchestration for services and LLM pipelines.

Build a plan with ``Cadence(name, score).then(...).sync(...).split(...).child(...)`` and run it
with ``await cadence.run()``. The core depends on the standard library only.
"""

from cadence._cadence import Cadence
from cadence._merge import MergeStrategy, merge_snapshots
from cadence._note import Note, note
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
)
from cadence.diagram import to_dot, to_mermaid
from cadence.hooks import (
    CadenceHooks,
    DebugHooks,
    HooksManager,
    LoggingHooks,
    MetricsHooks,
    TimingHooks,
    TracingHooks,
)

__all__ = [
    "Atomic",
    "AtomicDict",
    "AtomicList",
    "Cadence",
    "CadenceDefinitionError",
    "CadenceError",
    "CadenceHooks",
    "CheckpointError",
    "CircuitOpenError",
    "DebugHooks",
    "HooksManager",
    "ImmutableScore",
    "LoggingHooks",
    "MergeConflict",
    "MergeStrategy",
    "MetricsHooks",
    "Note",
    "NoteError",
    "ParallelNoteError",
    "RetryExhaustedError",
    "Score",
    "Skip",
    "TimeoutError",
    "TimingHooks",
    "TracingHooks",
    "__version__",
    "merge_snapshots",
    "note",
    "to_dot",
    "to_mermaid",
]
