"""Build tasks_wordings.jsonl and tasks_freeform.jsonl from _data4.py, then check every row.

    python3 evals/heldout4/make_heldout4.py        (stdlib + this checkout's cadence only)

The building code and the checks are evals/set_builder.py's, shared by the held-out sets (with the check that the first registry entry is unused).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

import _data4 as D  # noqa: E402

from evals.set_builder import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(D, HERE, "holdout4", first_unused=True))
