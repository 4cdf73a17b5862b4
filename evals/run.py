"""Run the codegen evals on a model and write the results table into ``evals/README.md``.

Usage (offline, on the local models; ``make evals`` runs the lines it needs)::

    python -m evals.run --model qwen2.5-coder-0.5b --modes plan --tasks heldout4
    python -m evals.run --model qwen2.5-coder-0.5b --modes plan,text,grammar --limit 27
    python -m evals.run --model qwen2.5-coder-1.5b --modes plan --tasks heldout-freeform
    python -m evals.run --model scripted-provider --modes json --tasks all
    python -m evals.run --report            # only rebuild the tables from evals/results/

``--tasks dev`` is the development set (``tasks.jsonl``, tuned on); ``heldout-wordings`` and
``heldout-freeform`` are the two sets in ``evals/heldout/`` (written by someone who never saw
the prompt pack, but **retired**: inspected and tuned on since, so development data now),
``heldout`` both of them; ``heldout2-wordings`` / ``heldout2-freeform`` (``heldout2``: both)
are the second held-out set in ``evals/heldout2/`` (measured fresh once, retired since);
``heldout3-wordings`` / ``heldout3-freeform`` (``heldout3``: both) the third in ``evals/heldout3/``
(measured fresh once, retired since); ``heldout4-wordings`` / ``heldout4-freeform``
(``heldout4``: both) the fresh held-out set in ``evals/heldout4/``, never tuned on; ``all``
every set.
Results go to ``evals/results/<set>/`` (the development set's straight to ``evals/results/``).
Each (model, mode) writes ``<model>__<mode>.jsonl``, one row per
task, appended as it goes; a rerun skips tasks already measured (``--fresh`` starts over). Runs
use the library's defaults (repair rounds, re-decoding), and the first answer of each is
recorded too, so one run gives both the "first answer" and "final" rows. Any ``Model`` can be
measured from Python with :func:`run_eval`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cadence_llm.models.base import Model
from evals.harness import (
    TASKS,
    load_tasks,
    provider_model,
    run_task,
    stand_in_registry,
    structure,
)

HERE = Path(__file__).parent
RESULTS = HERE / "results"
#: The task sets: name -> (tasks file, results folder).
SETS: dict[str, tuple[Path, Path]] = {
    "dev": (TASKS, RESULTS),
    "heldout-wordings": (HERE / "heldout" / "tasks_wordings.jsonl", RESULTS / "heldout-wordings"),
    "heldout-freeform": (HERE / "heldout" / "tasks_freeform.jsonl", RESULTS / "heldout-freeform"),
    "heldout2-wordings": (
        HERE / "heldout2" / "tasks_wordings.jsonl",
        RESULTS / "heldout2-wordings",
    ),
    "heldout2-freeform": (
        HERE / "heldout2" / "tasks_freeform.jsonl",
        RESULTS / "heldout2-freeform",
    ),
    "heldout3-wordings": (
        HERE / "heldout3" / "tasks_wordings.jsonl",
        RESULTS / "heldout3-wordings",
    ),
    "heldout3-freeform": (
        HERE / "heldout3" / "tasks_freeform.jsonl",
        RESULTS / "heldout3-freeform",
    ),
    "heldout4-wordings": (
        HERE / "heldout4" / "tasks_wordings.jsonl",
        RESULTS / "heldout4-wordings",
    ),
    "heldout4-freeform": (
        HERE / "heldout4" / "tasks_freeform.jsonl",
        RESULTS / "heldout4-freeform",
    ),
}
GROUPS = {
    "heldout": ("heldout-wordings", "heldout-freeform"),
    "heldout2": ("heldout2-wordings", "heldout2-freeform"),
    "heldout3": ("heldout3-wordings", "heldout3-freeform"),
    "heldout4": ("heldout4-wordings", "heldout4-freeform"),
    "all": tuple(SETS),
}
README = HERE / "README.md"
#: ``--model scripted-provider``: :func:`evals.harness.provider_model`, the plan path as a
#: provider's structured output takes it (use with ``--modes json``).
PROVIDER = "scripted-provider"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
FAIL_BEGIN, FAIL_END = "<!-- failures:begin -->", "<!-- failures:end -->"


def _prepare(path: Path, *, fresh: bool) -> set[str]:
    """Create the results folder; the ids already measured in ``path`` (none when fresh)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh and path.exists():
        path.unlink()
    if not path.exists():
        return set()
    return {json.loads(line)["id"] for line in path.read_text().splitlines() if line}


def balanced(tasks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tasks`` in round-robin order over their groups, so that the first N are a balanced
    sample: a group is a pattern, or for free-form tasks (one pattern) the domain in the id
    (``holdout-f-vet-01`` -> ``holdout-f-vet``). Within a group the file's order is kept."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        key = task["pattern"]
        if key == "freeform":
            key = task["id"].rsplit("-", 1)[0]
        groups.setdefault(key, []).append(task)
    ordered: list[dict[str, Any]] = []
    queues = list(groups.values())
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


async def run_eval(
    model: Model,
    *,
    modes: Sequence[str] = ("plan",),
    label: str | None = None,
    limit: int | None = None,
    max_repairs: int = 2,
    max_tokens: int = 600,
    fresh: bool = False,
    out: Path = RESULTS,
    tasks_path: Path = TASKS,
) -> None:
    """Measure ``model`` on the dataset in each mode, appending rows to ``out``."""
    tasks = balanced(load_tasks(tasks_path))
    tasks = tasks[:limit] if limit else tasks
    name = label or model.name
    for mode in modes:
        path = out / f"{name}__{mode}.jsonl"
        done = _prepare(path, fresh=fresh)
        started = time.perf_counter()
        for n, task in enumerate(tasks, 1):
            if task["id"] in done:
                continue
            row = await run_task(
                model,
                task,
                mode=mode,
                max_repairs=0 if mode == "bare" else max_repairs,
                max_tokens=max_tokens,
            )
            row["model"] = name
            _append(path, row)
            print(
                f"[{name} {mode} {n}/{len(tasks)} {time.perf_counter() - started:.0f}s] "
                f"{task['id']}: valid={row['final']['valid']} match={row['final']['match']} "
                f"rounds={row['rounds']}",
                flush=True,
            )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def table(out: Path = RESULTS) -> str:
    """The Markdown results table from every results file."""
    settings = [
        ("plan", "first", "plan (default), first answer"),
        ("plan", "final", "plan (default), final"),
        ("bare", "first", "bare one-line prompt"),
        ("text", "first", "pack, free text"),
        ("text", "final", "pack, free text + repair"),
        ("grammar", "first", "pack, grammar-constrained"),
        ("grammar", "final", "pack, constrained + repair"),
        ("json", "first", "pack, JSON plan"),
        ("json", "final", "pack, JSON plan + repair"),
    ]
    files = sorted(out.glob("*__*.jsonl"))
    models = sorted({f.name.split("__")[0] for f in files})
    lines = [
        "| model | setting | tasks | parses | valid | structure match | runs | extra rounds (mean) | output tokens (mean) | seconds per task |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model in models:
        for mode, stage, label in settings:
            path = out / f"{model}__{mode}.jsonl"
            if not path.exists():
                continue
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            n = len(rows)
            res = [r[stage] for r in rows]
            final = stage == "final" or mode == "bare"
            runs = sum(1 for r in rows if r["runs"] and (final or r["rounds"] == 0))
            rounds = (
                f"{sum(r['rounds'] for r in rows) / n:.2f}" if final and mode != "bare" else "0"
            )
            tokens = sum(r["tokens"] for r in rows) / n
            secs = sum(r["seconds"] for r in rows) / n
            lines.append(
                f"| {model} | {label} | {n} | {_pct(sum(x['parses'] for x in res), n)} | "
                f"{_pct(sum(x['valid'] for x in res), n)} | {_pct(sum(x['match'] for x in res), n)} | "
                f"{_pct(runs, n)} | {rounds} | {tokens:.0f} | {secs:.1f} |"
            )
    return "\n".join(lines)


FAILURE_KINDS = (
    "match",
    "invalid",
    "extra steps",
    "missing steps",
    "wrong method",
    "wrong names",
    "on_error differs",
    "parallel written as sequence",
    "decision written as sequence",
)


def _failure(row: dict[str, Any], task: dict[str, Any]) -> list[str]:
    if not row["final"]["valid"]:
        return ["invalid"]
    reg, _, _ = stand_in_registry(task)
    ref, got = structure(task["reference"], reg), structure(row["source"], reg)
    if ref == got:
        return ["match"]
    ref_kinds, got_kinds = [s[0] for s in ref[0]], [s[0] for s in got[0]]
    kinds = []
    if len(got_kinds) > len(ref_kinds):
        kinds.append("extra steps")
    elif len(got_kinds) < len(ref_kinds):
        kinds.append("missing steps")
    elif ref_kinds != got_kinds:
        kinds.append("wrong method")
    elif ref[0] != got[0]:
        kinds.append("wrong names")
    else:
        kinds.append("on_error differs")
    if "sync" in ref_kinds and "sync" not in got_kinds:
        kinds.append("parallel written as sequence")
    if "split" in ref_kinds and "split" not in got_kinds:
        kinds.append("decision written as sequence")
    return kinds


def failures(out: Path = RESULTS, tasks_path: Path = TASKS) -> str:
    """Why final answers missed the reference, per (model, mode): a Markdown table of counts."""
    tasks = {t["id"]: t for t in load_tasks(tasks_path)}
    head = "| model | mode | tasks | " + " | ".join(FAILURE_KINDS) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(FAILURE_KINDS)]
    for path in sorted(out.glob("*__*.jsonl")):
        model, mode = path.stem.split("__")
        rows = [json.loads(line) for line in path.read_text().splitlines() if line]
        counts = {k: 0 for k in FAILURE_KINDS}
        for row in rows:
            for kind in _failure(row, tasks[row["id"]]):
                counts[kind] += 1
        cells = " | ".join(str(counts[k]) for k in FAILURE_KINDS)
        lines.append(f"| {model} | {mode} | {len(rows)} | {cells} |")
    return "\n".join(lines)


def _between(text: str, begin: str, end: str, body: str) -> str:
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def write_readme(out: Path = RESULTS) -> None:
    """Replace the tables between the README's markers."""
    text = README.read_text(encoding="utf-8")
    text = _between(text, BEGIN, END, table(out))
    if FAIL_BEGIN in text:
        text = _between(text, FAIL_BEGIN, FAIL_END, failures(out))
    for name, (tasks_path, folder) in SETS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if name != "dev" and begin in text and any(folder.glob("*__*.jsonl")):
            body = table(folder) + "\n\n" + failures(folder, tasks_path)
            text = _between(text, begin, end, body)
    README.write_text(text, encoding="utf-8")


def _model(name: str, n_ctx: int, threads: int, tasks_path: Path) -> Model:
    """A local model by weights name or GGUF path, or the scripted provider stand-in."""
    if name == PROVIDER:
        return provider_model(load_tasks(tasks_path))
    from cadence_llm.models.local import LocalModel

    return LocalModel(name, n_ctx=n_ctx, n_threads=threads)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m evals.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--model", action="append", default=[], help=f"local weights name, GGUF path, or {PROVIDER}"
    )
    p.add_argument("--modes", default="plan", help="comma list of plan,bare,text,grammar,json")
    p.add_argument(
        "--limit", type=int, default=None, help="only the first N tasks (round-robin order)"
    )
    p.add_argument("--max-repairs", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=600)
    p.add_argument("--n-ctx", type=int, default=4096)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the local model")
    p.add_argument("--fresh", action="store_true", help="discard earlier rows of these runs")
    p.add_argument("--report", action="store_true", help="only rebuild the README table")
    p.add_argument("--out", type=Path, default=None, help="results folder")
    p.add_argument(
        "--tasks",
        choices=(*SETS, *GROUPS),
        default="dev",
        help="dev (tuned on), heldout-wordings / heldout-freeform (retired held-out sets, "
        "tuned on since), heldout (both), heldout2-wordings / heldout2-freeform (second "
        "held-out set, measured fresh once, retired since), heldout2 (both), "
        "heldout3-wordings / heldout3-freeform (third, measured fresh once, retired since), "
        "heldout3 (both), heldout4-wordings / heldout4-freeform (fresh held-out set, never "
        "tuned on), heldout4 (both), all",
    )
    args = p.parse_args(argv)
    names = GROUPS.get(args.tasks, (args.tasks,))
    if args.out is not None and len(names) > 1:
        p.error("--out takes one task set; give --tasks dev, heldout-wordings or heldout-freeform")
    if not args.report and not args.model:
        p.error("give --model NAME (e.g. qwen2.5-coder-0.5b) or --report")
    for set_name in names:
        tasks_path, folder = SETS[set_name]
        out = args.out or folder
        for name in [] if args.report else args.model:
            model = _model(name, args.n_ctx, args.threads, tasks_path)
            asyncio.run(
                run_eval(
                    model,
                    modes=[m for m in args.modes.split(",") if m],
                    label=Path(name).stem if name.endswith(".gguf") else name,
                    limit=args.limit,
                    max_repairs=args.max_repairs,
                    max_tokens=args.max_tokens,
                    fresh=args.fresh,
                    out=out,
                    tasks_path=tasks_path,
                )
            )
        print(f"{set_name}:\n{table(out)}")
    if args.out is None:
        write_readme()
    return 0


if __name__ == "__main__":
    sys.exit(main())
