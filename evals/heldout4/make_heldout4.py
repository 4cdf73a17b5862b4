"""Build tasks_wordings.jsonl and tasks_freeform.jsonl from _data4.py, then check every row.

    python3 evals/heldout4/make_heldout4.py        (stdlib + this checkout's cadence only)

The building and checking code is evals/set_builder.py, shared with the other held-out sets.

Checks per row: exact keys; pattern known; registry of 12-16 entries with valid roles and
one-line docstrings; check_source(reference, mode="composition", registry=list(registry)) gives
no findings (and none with a mapping of runnable stand-ins either, which also checks kinds);
the reference builds and runs on a stand-in score; its shape is the pattern's; every name sits
in a slot of its role; >= 2 registry entries unused; the first entry unused; ids unique. Freeform: no part of any
registry name shares a word (or a 5-letter prefix) with the task text.
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
