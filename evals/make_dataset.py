"""Generate ``evals/tasks.jsonl``: ten domains x nine structure patterns = 90 tasks.

Also ``evals/tasks_heldout.jsonl``: 27 tasks (three domains x nine patterns) in a third wording
that was written after the prompt pack's cue phrases were fixed, to check they generalize.

Each task has a natural-language description, the registry the model may use (the domain's
notes, condition, branches, child cadence, merge, handler and distractors, each with its role
and docstring), the score type shown to the model, the reference composition, and tags naming
the features it exercises. Run ``python -m evals.make_dataset`` to regenerate; the output is
deterministic and committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.domains import DOMAINS

OUT = Path(__file__).with_name("tasks.jsonl")


def _phrase(doc: str) -> str:
    doc = doc.rstrip(".")
    return doc[0].lower() + doc[1:]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


class D:
    """A domain with convenient accessors for the templates."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.steps = list(raw["steps"].items())

    def s(self, i: int) -> str:
        return str(self.steps[i][0])

    def v(self, i: int) -> str:
        return str(self.steps[i][1][0])

    @property
    def cond(self) -> tuple[str, str]:
        name, phrase, _ = self.raw["condition"]
        return name, phrase

    @property
    def yes(self) -> tuple[str, str]:
        return self.raw["if_true"][0], self.raw["if_true"][1]

    @property
    def no(self) -> tuple[str, str]:
        return self.raw["if_false"][0], self.raw["if_false"][1]

    @property
    def child(self) -> tuple[str, str]:
        return self.raw["child"][0], self.raw["child"][1]

    @property
    def merge(self) -> str:
        return str(self.raw["merge"][0])

    @property
    def handler(self) -> tuple[str, str]:
        name, doc = self.raw["handler"]
        return name, _phrase(doc)


def registry(d: D) -> dict[str, list[str]]:
    """Every name of the domain with its role and docstring."""
    raw = d.raw
    out: dict[str, list[str]] = {n: ["note", v[1]] for n, v in raw["steps"].items()}
    out[raw["condition"][0]] = ["condition", raw["condition"][2]]
    out[raw["if_true"][0]] = ["note", raw["if_true"][2]]
    out[raw["if_false"][0]] = ["note", raw["if_false"][2]]
    out[raw["child"][0]] = ["cadence", raw["child"][2]]
    out[raw["merge"][0]] = ["merge", raw["merge"][1]]
    out[raw["handler"][0]] = ["handler", raw["handler"][1]]
    for n, doc in raw["distractors"].items():
        out[n] = ["note", doc]
    return dict(sorted(out.items()))


def _chain(name: str, *calls: str) -> str:
    body = "\n".join(f"    .{c}" for c in calls)
    return f'(\n    Cadence("{name}", score)\n{body}\n)'


def _then(d: D, i: int) -> str:
    return f'then("{d.s(i)}", {d.s(i)})'


Pattern = Callable[[D, int], tuple[str, str, list[str]]]


def p_sequence(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"First {d.v(0)}, then {d.v(1)}, and then {d.v(2)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. After that, {d.v(1)}. Finally, {d.v(2)}."
    )
    return text, _chain("sequence", _then(d, 0), _then(d, 1), _then(d, 2)), ["then"]


def p_sync(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"{_cap(d.v(0))}. Then {d.v(1)} and {d.v(2)} at the same time. Finally {d.v(3)}."
        if k % 2 == 0
        else f"Start by making sure we {d.v(0)}; next, in parallel, {d.v(1)} and {d.v(2)}; then {d.v(3)}."
    )
    ref = _chain("parallel", _then(d, 0), f'sync("together", [{d.s(1)}, {d.s(2)}])', _then(d, 3))
    return text, ref, ["then", "sync"]


def p_split(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp), (n, np_) = d.cond, d.yes, d.no
    text = (
        f"{_cap(d.v(0))}. If {cp}, {yp}; otherwise {np_}. Then {d.v(5)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}, then decide: when {cp}, {yp}, else {np_}. Afterwards {d.v(5)}."
    )
    ref = _chain("branching", _then(d, 0), f'split("decide", {c}, [{y}], [{n}])', _then(d, 5))
    return text, ref, ["then", "split"]


def p_split_only_true(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp) = d.cond, d.yes
    text = (
        f"If {cp}, {yp}; if not, do nothing. After that, {d.v(4)}."
        if k % 2 == 0
        else f"Only when {cp} should we {yp}. Then {d.v(4)}."
    )
    ref = _chain("guarded", f'split("check", {c}, [{y}])', _then(d, 4))
    return text, ref, ["then", "split"]


def p_child(d: D, k: int) -> tuple[str, str, list[str]]:
    (ch, chp), m = d.child, d.merge
    text = (
        f"{_cap(d.v(0))}, then run {chp} as a child cadence and merge its result back with {m}, "
        f"then {d.v(4)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. Next run the child cadence {ch} (merge with {m}). Last, {d.v(4)}."
    )
    ref = _chain("with_child", _then(d, 0), f'child("sub", {ch}, {m})', _then(d, 4))
    return text, ref, ["then", "child"]


def p_on_error(d: D, k: int) -> tuple[str, str, list[str]]:
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}, {d.v(1)}, then {d.v(3)}. If any step fails, {hp} and stop."
        if k % 2 == 0
        else f"{_cap(d.v(0))}; {d.v(1)}; {d.v(3)}. On an error, {hp}."
    )
    ref = _chain("guarded_run", _then(d, 0), _then(d, 1), _then(d, 3), f"on_error({h})")
    return text, ref, ["then", "on_error", "resilience"]


def p_sync_strategy(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"{_cap(d.v(1))}, {d.v(2)} and {d.v(3)} in parallel; if they write the same field, the "
        f"last write wins. Then {d.v(4)}."
        if k % 2 == 0
        else f"At the same time {d.v(1)}, {d.v(2)} and {d.v(3)}, resolving conflicts with "
        f"last_write_wins; afterwards {d.v(4)}."
    )
    ref = _chain(
        "fan_out",
        f'sync("fan_out", [{d.s(1)}, {d.s(2)}, {d.s(3)}], "last_write_wins")',
        _then(d, 4),
    )
    return text, ref, ["then", "sync", "resilience"]


def p_interrupt(d: D, k: int) -> tuple[str, str, list[str]]:
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}, then {d.v(4)}; that second step may be interrupted. If a step fails, "
        f"{hp} and carry on."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. Then {d.v(4)}, which can be interrupted. Errors: {hp}, then "
        "continue with the next step."
    )
    ref = _chain(
        "interruptible",
        _then(d, 0),
        f'then("{d.s(4)}", {d.s(4)}, can_interrupt=True)',
        f"on_error({h}, stop=False)",
    )
    return text, ref, ["then", "on_error", "resilience"]


def p_complex(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp), (n, np_) = d.cond, d.yes, d.no
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}. Then {d.v(1)} and {d.v(2)} in parallel. If {cp}, {yp}, otherwise "
        f"{np_}. If anything fails, {hp}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}; next, concurrently, {d.v(1)} and {d.v(2)}; then when {cp}, {yp} "
        f"(else {np_}). Failures: {hp}."
    )
    ref = _chain(
        "full",
        _then(d, 0),
        f'sync("together", [{d.s(1)}, {d.s(2)}])',
        f'split("decide", {c}, [{y}], [{n}])',
        f"on_error({h})",
    )
    return text, ref, ["then", "sync", "split", "on_error", "resilience"]


PATTERNS: list[tuple[str, Pattern]] = [
    ("sequence", p_sequence),
    ("sync", p_sync),
    ("split", p_split),
    ("split_only_true", p_split_only_true),
    ("child", p_child),
    ("on_error", p_on_error),
    ("sync_strategy", p_sync_strategy),
    ("interrupt", p_interrupt),
    ("complex", p_complex),
]


def heldout_text(pattern: str, d: D) -> str:
    """A third wording per pattern, written after the cue phrases of the prompt pack were fixed
    and never used to tune them: the held-out check of how far those cues generalize."""
    cp, yp, np_ = d.cond[1], d.yes[1], d.no[1]
    chp, m, hp = d.child[1], d.merge, d.handler[1]
    return {
        "sequence": f"Begin with this: {d.v(0)}. Once that is done, {d.v(1)}. At the end, {d.v(2)}.",
        "sync": f"{_cap(d.v(0))}. Next, {d.v(1)} and {d.v(2)}; these two are independent and "
        f"should run concurrently. Lastly, {d.v(3)}.",
        "split": f"{_cap(d.v(0))}. Depending on whether {cp}: {yp} if so, {np_} if not. To "
        f"finish, {d.v(5)}.",
        "split_only_true": f"In case {cp}, {yp}; skip it otherwise. After that, {d.v(4)}.",
        "child": f"{_cap(d.v(0))}. After that, delegate to {chp}, a child cadence, merging the "
        f"outcome with {m}. To finish, {d.v(4)}.",
        "on_error": f"{_cap(d.v(0))}, {d.v(1)} and {d.v(3)}, in that order. Should anything go "
        f"wrong along the way, {hp}; the run ends there.",
        "sync_strategy": f"Run these three concurrently: {d.v(1)}, {d.v(2)}, {d.v(3)}. When two "
        f"of them set the same field, keep the later write. Afterwards, {d.v(4)}.",
        "interrupt": f"{_cap(d.v(0))}. Then {d.v(4)}; it is fine to cancel this step midway. If "
        f"some step errors out, {hp} and keep going.",
        "complex": f"{_cap(d.v(0))}. Afterwards {d.v(1)} alongside {d.v(2)}. Then, if {cp}, "
        f"{yp}; else {np_}. In case of failure, {hp}.",
    }[pattern]


HELDOUT = Path(__file__).with_name("tasks_heldout.jsonl")
HELDOUT_DOMAINS = (2, 5, 8)


def tasks(*, heldout: bool = False) -> list[dict[str, Any]]:
    """Every task of the dataset, in a stable order (or of the held-out wording set)."""
    out = []
    for k, raw in enumerate(DOMAINS):
        if heldout and k not in HELDOUT_DOMAINS:
            continue
        d = D(raw)
        for pattern, make in PATTERNS:
            text, ref, tags = make(d, k)
            if heldout:
                text = heldout_text(pattern, d)
            out.append(
                {
                    "id": f"{'heldout-' if heldout else ''}{raw['key']}-{pattern}",
                    "pattern": pattern,
                    "task": text,
                    "score": raw["score"],
                    "registry": registry(d),
                    "reference": ref,
                    "tags": sorted({*tags, "distractors"}),
                }
            )
    return out


def main() -> None:
    """Write the dataset files."""
    for path, rows in ((OUT, tasks()), (HELDOUT, tasks(heldout=True))):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} tasks to {path}")


if __name__ == "__main__":
    main()
