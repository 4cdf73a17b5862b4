"""Deprecated module path (cadence-orchestration 0.7.2): import these names from ``cadence``.

0.7.2's ``cadence.cadence`` defined ``Cadence`` and re-exported the names its code used;
each of those with an equivalent today still resolves here, with a warning naming its home.
The execution classes (``Measure``, ``SingleMeasure``, ``BranchMeasure`` …) are gone: see
docs/migrating.md.
"""

from cadence._compat import moved

__getattr__ = moved(
    __name__,
    {
        "Cadence": "cadence:Cadence",
        "CadenceError": "cadence:CadenceError",
        "CadenceHooks": "cadence:CadenceHooks",
        "CheckpointHooks": "cadence.checkpoint:CheckpointHooks",
        "CheckpointStore": "cadence:CheckpointStore",
        "ChildScoreT": "cadence.types:ChildScoreT",
        "Condition": "cadence.types:Condition",
        "ErrorHandler": "cadence.types:ErrorHandler",
        "HooksManager": "cadence:HooksManager",
        "Merge": "cadence.types:Merge",
        "MergeStrategy": "cadence:MergeStrategy",
        "Note": "cadence:Note",
        "NoteError": "cadence:NoteError",
        "ScoreT": "cadence.types:ScoreT",
        "Skip": "cadence:Skip",
        "Task": "cadence.types:Task",
        "TimeReporter": "cadence.types:TimeReporter",
    },
)
