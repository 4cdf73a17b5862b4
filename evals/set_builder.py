"""Build a held-out set's two .jsonl files from its data module, then check every row.

Shared by evals/heldout2/make_heldout2.py and evals/heldout3/make_heldout3.py (each passes its own
data module and id prefix). Stdlib + this checkout's cadence only.

Checks per row: exact keys; pattern known; registry of 12-16 entries with valid roles and
one-line docstrings; check_source(reference, mode="composition", registry=list(registry)) gives
no findings (and none with a mapping of runnable stand-ins either, which also checks kinds);
the reference builds and runs on a stand-in score; its shape is the pattern's; every name sits
in a slot of its role; >= 2 registry entries unused; (if first_unused) the first entry unused;
ids unique. Freeform: no part of any registry name shares a word (or a 5-letter prefix) with the
task text.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cadence import AtomicList, Cadence
from cadence.validate import build, check_source, parse_composition

KEYS = {"id", "pattern", "tags", "task", "score", "registry", "reference"}
ROLES = {"note", "condition", "merge", "handler", "cadence"}
PATTERNS = [
    "sequence",
    "sync",
    "split",
    "split_only_true",
    "child",
    "on_error",
    "sync_strategy",
    "interrupt",
    "complex",
    "freeform",
]


# ------------------------------------------------------------------ rows
def fill_registry(
    pool: dict, steps: list[str], distractors: list[str], size: int, avoid: list[str]
) -> dict:
    text = " ".join(steps)
    used = [n for n in pool if re.search(rf"\b{re.escape(n)}\b", text)]
    chosen = list(dict.fromkeys(used + distractors))
    for n in distractors + avoid:
        assert n in pool, f"unknown pool name {n}"
    for n in pool:
        if len(chosen) >= size:
            break
        if n not in chosen and n not in avoid:
            chosen.append(n)
    order = [n for n in pool if n in chosen]  # pool order: the needed names are not listed first
    return {n: list(pool[n]) for n in order}


def source(cname: str, steps: list[str]) -> str:
    return (
        "(\n    Cadence("
        + json.dumps(cname)
        + ", score)\n"
        + "".join(f"    {s}\n" for s in steps)
        + ")"
    )


def make_rows(D, prefix: str) -> tuple[list[dict], list[dict]]:
    wordings = []
    for pattern, domain, tags, task, cname, steps, distractors, size, avoid in D.W:
        wordings.append(
            {
                "id": f"{prefix}-w-{domain}-{pattern.replace('_', '-')}",
                "pattern": pattern,
                "tags": [domain, *tags],
                "task": task,
                "score": D.SCORES[domain],
                "registry": fill_registry(D.POOLS[domain], steps, distractors, size, avoid),
                "reference": source(cname, steps),
            }
        )
    freeform = []
    for key, domain, tags, task, cname, steps, distractors, size, avoid in D.F:
        freeform.append(
            {
                "id": f"{prefix}-f-{key}",
                "pattern": "freeform",
                "tags": [domain, *tags],
                "task": task,
                "score": D.FF_SCORES[domain],
                "registry": fill_registry(D.FF_POOLS[domain], steps, distractors, size, avoid),
                "reference": source(cname, steps),
            }
        )
    return wordings, freeform


# ------------------------------------------------------------------ stand-ins
@dataclass
class Trace:
    trace: AtomicList = field(
        default_factory=AtomicList
    )  # shared by parallel tasks, as in the harness


@dataclass
class SubTrace:
    trace: list = field(default_factory=list)


def runnable(registry: dict) -> dict:
    out = {}
    for name, (role, doc) in registry.items():
        if role == "note":

            async def fn(score, _n=name):
                score.trace.append(_n)
        elif role == "condition":

            def fn(score, _n=name):
                score.trace.append("?" + _n)
                return True
        elif role in ("merge", "handler"):

            def fn(score, other, _n=name):
                score.trace.append("!" + _n)
        else:

            async def work(score, _n=name):
                score.trace.append(_n)

            out[name] = Cadence(name, SubTrace()).then("work", work)
            continue
        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = doc
        out[name] = fn
    return out


# ------------------------------------------------------------------ structure (as evals/harness.py computes it)
def shape(text: str, registry) -> tuple | None:
    comp, _ = parse_composition(text, registry)
    if comp is None:
        return None

    def refs(v) -> tuple:
        if v is None:
            return ()
        return tuple(r.name for r in v) if isinstance(v, tuple) else (v.name,)

    steps, handlers = [], []
    for s in comp.steps:
        a = s.args
        if s.method == "then":
            steps.append(("then", refs(a.get("task")), bool(a.get("can_interrupt", False))))
        elif s.method == "sync":
            steps.append(("sync", tuple(sorted(refs(a.get("tasks")))), a.get("merge_strategy")))
        elif s.method == "split":
            steps.append(
                ("split", refs(a.get("condition")), refs(a.get("if_true")), refs(a.get("if_false")))
            )
        elif s.method == "child":
            steps.append(("child", refs(a.get("cadence")), refs(a.get("merge"))))
        elif s.method == "on_error":
            handlers.append((refs(a.get("handler")), a.get("stop", True) is not False))
    return tuple(steps), tuple(sorted(handlers))


def pattern_problem(pattern: str, st: tuple) -> str | None:
    steps, handlers = st
    kinds = tuple(s[0] for s in steps)
    intr = [s for s in steps if s[0] == "then" and s[2]]
    stops = [h[1] for h in handlers]
    ok = {
        "sequence": lambda: kinds == ("then",) * 3 and not intr and not handlers,
        "sync": lambda: (
            kinds == ("then", "sync", "then")
            and len(steps[1][1]) == 2
            and steps[1][2] is None
            and not intr
            and not handlers
        ),
        "split": lambda: (
            kinds == ("then", "split", "then")
            and len(steps[1][2]) == 1
            and len(steps[1][3]) == 1
            and not intr
            and not handlers
        ),
        "split_only_true": lambda: (
            kinds == ("split", "then")
            and len(steps[0][2]) == 1
            and not steps[0][3]
            and not intr
            and not handlers
        ),
        "child": lambda: kinds == ("then", "child", "then") and not intr and not handlers,
        "on_error": lambda: kinds == ("then",) * 3 and not intr and stops == [True],
        "sync_strategy": lambda: (
            kinds == ("sync", "then")
            and len(steps[0][1]) == 3
            and steps[0][2] == "last_write_wins"
            and not intr
            and not handlers
        ),
        "interrupt": lambda: (
            kinds == ("then", "then") and not steps[0][2] and steps[1][2] and stops == [False]
        ),
        "complex": lambda: kinds == ("then", "sync", "split") and not intr and stops == [True],
        "freeform": lambda: 2 <= len(steps) <= 6,
    }[pattern]
    return None if ok() else f"not a {pattern} shape: {kinds}, handlers={handlers}"


def slot_problems(st: tuple, registry: dict) -> list[str]:
    out = []

    def need(names, role):
        out.extend(
            f"{n} ({registry[n][0]}) in a {role} slot" for n in names if registry[n][0] != role
        )

    steps, handlers = st
    for s in steps:
        if s[0] in ("then", "sync"):
            need(s[1], "note")
        elif s[0] == "split":
            need(s[1], "condition")
            need(s[2] + s[3], "note")
        else:
            need(s[1], "cadence")
            need(s[2], "merge")
    for h in handlers:
        need(h[0], "handler")
    return out


def used(st: tuple) -> set:
    steps, handlers = st
    names = {n for s in steps for part in s[1:] if isinstance(part, tuple) for n in part}
    return names | {n for h in handlers for n in h[0]}


# ------------------------------------------------------------------ shared words (freeform)
FUNCTION_WORDS = {
    "a",
    "an",
    "and",
    "as",
    "at",
    "by",
    "for",
    "in",
    "is",
    "of",
    "on",
    "or",
    "the",
    "to",
    "up",
    "has",
    "with",
}


def related(a: str, b: str) -> bool:
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    if n >= 5:
        return True
    short, long_ = sorted((a, b), key=len)  # send/sending, fit/fits: near-prefixes
    return len(short) >= 3 and long_.startswith(short) and len(long_) - len(short) <= 3


def shared_words(task: str, registry: dict) -> list[str]:
    words = set(re.findall(r"[a-z0-9]+", task.lower()))
    hits = []
    for name in registry:
        for part in name.split("_"):
            if part in FUNCTION_WORDS or len(part) < 2:
                continue
            hits += [
                f"{name}: {part}~{w}"
                for w in sorted(words)
                if w not in FUNCTION_WORDS and related(part, w)
            ]
    return hits


# ------------------------------------------------------------------ checks
def check(rows: list[dict], *, freeform: bool, first_unused: bool) -> tuple[int, list[str]]:
    problems, validated = [], 0
    for r in rows:
        bad = lambda m, _id=r["id"]: problems.append(f"{_id}: {m}")  # noqa: E731
        if set(r) != KEYS:
            bad(f"keys {sorted(r)}")
        if r["pattern"] not in PATTERNS or (r["pattern"] == "freeform") != freeform:
            bad("pattern")
        reg = r["registry"]
        if not 12 <= len(reg) <= 16:
            bad(f"registry has {len(reg)} entries")
        for n, (role, doc) in reg.items():
            if role not in ROLES or not doc.strip() or "\n" in doc:
                bad(f"registry entry {n}")
        if "\n" in r["score"] or not re.fullmatch(r"\w+\(.+\)", r["score"]):
            bad("score line")
        diags = check_source(r["reference"], mode="composition", registry=list(reg))
        if diags:
            bad("findings: " + "; ".join(d.format() for d in diags))
            continue
        stand = runnable(reg)
        diags = check_source(r["reference"], mode="composition", registry=stand)
        if diags:
            bad("findings with stand-ins: " + "; ".join(d.format() for d in diags))
            continue
        validated += 1
        try:
            result = asyncio.run(build(r["reference"], stand, score=Trace()).run(Trace()))
            if not isinstance(result, Trace) or not result.trace:
                bad("stand-in run gave no trace")
        except Exception as exc:
            bad(f"stand-in run failed: {type(exc).__name__}: {exc}")
        st = shape(r["reference"], stand)
        msg = pattern_problem(r["pattern"], st)
        if msg:
            bad(msg)
        for m in slot_problems(st, reg):
            bad(m)
        if len(set(reg) - used(st)) < 2:
            bad("fewer than 2 unused registry entries")
        if first_unused and next(iter(reg)) in used(st):
            bad("the first registry entry is one the reference needs")
        if freeform:
            hits = shared_words(r["task"], reg)
            if hits:
                bad("task shares words with registry names: " + ", ".join(hits))
    return validated, problems


def main(D, here: Path, prefix: str, *, first_unused: bool) -> int:
    """Write both .jsonl files of one set from its data module D into here, check them, print."""
    wordings, freeform = make_rows(D, prefix)
    for name, rows in (("tasks_wordings.jsonl", wordings), ("tasks_freeform.jsonl", freeform)):
        (here / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    vw, pw = check(wordings, freeform=False, first_unused=first_unused)
    vf, pf = check(freeform, freeform=True, first_unused=first_unused)
    ids = [r["id"] for r in wordings + freeform]
    if len(ids) != len(set(ids)):
        pw.append("duplicate ids")
    counts = {p: sum(r["pattern"] == p for r in wordings + freeform) for p in PATTERNS}
    domains = {}
    for r in wordings:
        domains.setdefault(r["tags"][0], set()).add(r["pattern"])
    if len(wordings) != 27 or any(len(v) != 9 for v in domains.values()) or len(domains) != 3:
        pw.append("wording set is not 9 patterns x 3 domains")
    if len(freeform) != 15:
        pf.append("freeform set is not 15 rows")
    for p in pw + pf:
        print("PROBLEM", p)
    print(f"tasks_wordings.jsonl: {len(wordings)} rows, {vw} references validated")
    print(f"tasks_freeform.jsonl: {len(freeform)} rows, {vf} references validated")
    print("per pattern:", counts)
    return 1 if pw or pf else 0
