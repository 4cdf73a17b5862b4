"""Build tasks_wordings.jsonl and tasks_freeform.jsonl from _data2.py, then check every row.

    python3 evals/heldout2/make_heldout2.py        (stdlib + this checkout's cadence only)

The building code and the checks are evals/set_builder.py's, shared by the held-out sets.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

import _data2 as D  # noqa: E402

from evals.set_builder import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(D, HERE, "holdout2", first_unused=False))
