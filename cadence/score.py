"""Deprecated module path (cadence-orchestration 0.7.2): import these names from ``cadence``."""

from cadence._compat import moved

__getattr__ = moved(
    __name__,
    {
        "Atomic": "cadence:Atomic",
        "AtomicDict": "cadence:AtomicDict",
        "AtomicList": "cadence:AtomicList",
        "ImmutableScore": "cadence:ImmutableScore",
        "MergeConflict": "cadence:MergeConflict",
        "MergeConflictError": "cadence:MergeConflict",
        "MergeStrategy": "cadence:MergeStrategy",
        "Score": "cadence:Score",
        "merge_snapshots": "cadence:merge_snapshots",
    },
)
