"""The eval dataset and runner: enough varied tasks, sound references, any Model measured."""

from __future__ import annotations

import json
from collections import Counter

from cadence_llm.messages import ModelRequest
from cadence_llm.models.scripted import FunctionModel
from evals import run as runner
from evals.harness import StandInScore, load_tasks, run_task, stand_in_registry, structure

TASKS = load_tasks()


def test_dataset_has_at_least_80_varied_tasks():
    """≥ 80 tasks covering sequences, parallel groups, branches, children, resilience, distractors."""
    assert len(TASKS) >= 80 and len({t["id"] for t in TASKS}) == len(TASKS)
    tags = Counter(tag for t in TASKS for tag in t["tags"])
    for tag in ("then", "sync", "split", "child", "on_error", "resilience", "distractors"):
        assert tags[tag] >= 10, tag
    assert all(len(t["registry"]) > 6 for t in TASKS)  # every task has notes it must not use


def test_dataset_file_is_what_the_generator_writes():
    """tasks.jsonl is reproducible from make_dataset.py."""
    from evals.make_dataset import tasks

    assert tasks() == TASKS


async def test_every_reference_builds_runs_and_matches_itself():
    """Each reference composition is accepted, runs on the stand-in score and matches."""
    for task in TASKS:
        reg, _, _ = stand_in_registry(task)
        from cadence.validate import build

        cadence = build(task["reference"], reg, score=StandInScore())
        result = await cadence.run(StandInScore())
        assert result.trace, task["id"]
        assert structure(task["reference"], reg) is not None


def test_structure_ignores_names_and_sync_order_only():
    """Step names and the order inside a sync group do not matter; the sequence does."""
    a = 'Cadence("a", score).then("x", f).sync("y", [g, h])'
    b = 'Cadence("b", score).then("other", f).sync("z", [h, g])'
    c = 'Cadence("a", score).sync("y", [g, h]).then("x", f)'
    assert structure(a) == structure(b) != structure(c)


def _oracle(request: ModelRequest) -> str:
    """A model that answers with the reference of whichever task it is asked about."""
    asked = request.messages[-1].content
    task = next(t for t in TASKS if t["task"] in asked)
    return "```python\n" + task["reference"] + "\n```"


async def test_runner_measures_any_model(tmp_path):
    """run_eval takes any Model; an oracle scores 100% and the table says so."""
    model = FunctionModel(_oracle, name="oracle")
    await runner.run_eval(model, modes=("text", "bare"), limit=9, out=tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "oracle__text.jsonl").read_text().splitlines()]
    assert len(rows) == 9 and all(r["final"]["match"] and r["runs"] for r in rows)
    table = runner.table(tmp_path)
    assert "| oracle | pack, free text | 9 | 100% | 100% | 100% | 100% |" in table
    assert "| oracle | bare one-line prompt | 9 |" in table


async def test_runner_resumes_where_it_stopped(tmp_path):
    """A rerun skips tasks already measured."""
    model = FunctionModel(_oracle, name="oracle")
    await runner.run_eval(model, modes=("text",), limit=2, out=tmp_path)
    await runner.run_eval(model, modes=("text",), limit=3, out=tmp_path)
    assert len((tmp_path / "oracle__text.jsonl").read_text().splitlines()) == 3


def test_a_partial_run_is_a_balanced_sample():
    """The runner's order is round-robin over patterns (free-form tasks over their domains)."""
    tasks = [
        {"id": f"w-{d}-{p}", "pattern": p} for p in ("sequence", "sync", "split") for d in "ab"
    ] + [{"id": f"f-{d}-0{n}", "pattern": "freeform"} for d in ("vet", "pay") for n in (1, 2)]
    order = [t["id"] for t in runner.balanced(tasks)]
    assert order[:5] == ["w-a-sequence", "w-a-sync", "w-a-split", "f-vet-01", "f-pay-01"]
    assert sorted(order) == sorted(t["id"] for t in tasks)


async def test_failed_generation_is_recorded_not_raised():
    """A model answering nonsense yields a row with valid=False and its error codes."""
    model = FunctionModel(lambda r: "I cannot do that.", name="refuser")
    row = await run_task(model, TASKS[0], mode="text", max_repairs=1, max_tokens=50)
    assert row["final"]["valid"] is False and row["rounds"] == 1 and row["final"]["codes"]


async def test_failure_table_classifies_answers(tmp_path):
    """The failure table counts an oracle's answers as matches and a refuser's as invalid."""
    await runner.run_eval(
        FunctionModel(_oracle, name="oracle"), modes=("text",), limit=3, out=tmp_path
    )
    refuser = FunctionModel(lambda r: "no", name="refuser")
    await runner.run_eval(refuser, modes=("text",), limit=2, max_repairs=0, out=tmp_path)
    table = runner.failures(tmp_path)
    assert "| oracle | text | 3 | 3 | 0 |" in table
    assert "| refuser | text | 2 | 0 | 2 |" in table


async def test_a_fail_on_conflict_group_of_stand_ins_runs():
    """Stand-in notes all record into one trace, which a fail_on_conflict .sync must not see as
    a conflict (the harness's own artefact): such a reference runs."""
    task = next(t for t in TASKS if t["pattern"] == "sync")
    notes = [n for n, (role, _) in task["registry"].items() if role == "note"][:2]
    source = f'Cadence("c", score).sync("both", [{notes[0]}, {notes[1]}], "fail_on_conflict")'
    reg, _, _ = stand_in_registry(task)
    from cadence.validate import build

    result = await build(source, reg, score=StandInScore()).run(StandInScore())
    assert sorted(result.trace) == sorted(notes)


async def test_the_scripted_provider_takes_the_plan_path_to_a_match(tmp_path):
    """The provider stand-in gets the narrowed schema, its reference plans (labels repeated)
    conform to it, and every one is accepted, matches and runs."""
    model = runner.provider_model(TASKS)
    await runner.run_eval(model, modes=("json",), limit=27, out=tmp_path)
    rows = [
        json.loads(x) for x in (tmp_path / "scripted-provider__json.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 27 and all(r["first"]["match"] and r["runs"] for r in rows), rows[0]


def test_held_out_files_are_what_the_shared_builder_writes_and_every_row_checks(tmp_path, capsys):
    """heldout2, heldout3 and heldout4 rebuild byte for byte from their data modules, with no problem found."""
    import importlib.util
    from pathlib import Path

    from evals.set_builder import main

    root = Path(runner.__file__).resolve().parent
    for n, first_unused in (("2", False), ("3", True), ("4", True)):
        spec = importlib.util.spec_from_file_location(
            f"_data{n}", root / f"heldout{n}" / f"_data{n}.py"
        )
        assert spec is not None and spec.loader is not None
        data = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(data)
        out = tmp_path / n
        out.mkdir()
        assert main(data, out, f"holdout{n}", first_unused=first_unused) == 0, capsys.readouterr()
        for name in ("tasks_wordings.jsonl", "tasks_freeform.jsonl"):
            assert (out / name).read_bytes() == (root / f"heldout{n}" / name).read_bytes(), name
