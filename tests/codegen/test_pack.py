"""The prompt pack: one source, derived forms that cannot drift, examples that validate."""

from __future__ import annotations

import json
import re

import pytest

from cadence.validate import GRAMMAR, build, check_source
from cadence_llm import _derive, _prompts
from cadence_llm._plan import REMARK
from cadence_llm._prompts import PACK_VERSION, PromptPackError
from cadence_llm.codegen import source_to_plan

PACK_FILES = sorted(p.name for p in _prompts.pack_dir().iterdir() if p.is_file())


def test_derived_files_match_the_source():
    """Each derived file in prompts/ equals what dsl.json generates today."""
    folder = _prompts.pack_dir()
    for name, text in _derive.render_derived().items():
        assert (folder / name).read_text(encoding="utf-8") == text, (
            f"prompts/{name} drifted: run python -m cadence_llm._derive --write"
        )


def test_derive_check_command_reports_up_to_date(capsys):
    """The --check entry point exits 0 when nothing drifted."""
    assert _derive.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_pack_reads_the_dsl_from_the_builders_table():
    """The pack's methods, parameters, shapes and merge strategies are the validator's table."""
    data = _prompts.spec()
    assert [m["name"] for m in data["methods"]] == list(GRAMMAR["methods"])
    for m in data["methods"]:
        row = GRAMMAR["methods"][m["name"]]
        assert (
            (m["doc"], m["example"]) == (row["doc"], row["example"]) and m["doc"] and m["example"]
        )
        assert [p["name"] for p in m["params"]] == [p["name"] for p in row["params"]]
    assert data["shapes"] == {name: s["doc"] for name, s in GRAMMAR["shapes"].items()}
    assert data["merge_strategies"] == GRAMMAR["merge_strategies"]
    raw = json.loads(_prompts.read_raw("dsl.json"))
    assert not {"methods", "constructor", "shapes", "merge_strategies"} & set(raw)


@pytest.mark.parametrize("name", PACK_FILES)
def test_every_pack_file_has_the_version_header(name):
    """Every file in the pack starts with a 'cadence-prompts <version>' header."""
    head = "\n".join(_prompts.read_raw(name).split("\n", 2)[:2])
    assert re.search(rf"cadence-prompts {PACK_VERSION}\b", head)


def test_wrong_header_is_refused(tmp_path, monkeypatch):
    """A pack file without the current header is refused with a message naming it."""
    (tmp_path / "dsl.json").write_text('{\n"$comment": "cadence-prompts 0"}\n')
    monkeypatch.setattr(_prompts, "pack_dir", lambda: tmp_path)
    with pytest.raises(PromptPackError, match=r"dsl\.json"):
        _prompts.read_raw("dsl.json")


def test_model_facing_text_has_no_header():
    """Headers are stripped before a model sees a file."""
    assert "cadence-prompts" not in _prompts.read("system.md")
    assert _prompts.read("grammar.md").startswith("Grammar")


def test_grammar_text_lists_every_method():
    """The grammar text shows every builder method with an example."""
    text = _prompts.grammar_text()
    for m in _prompts.spec()["methods"]:
        assert f".{m['name']}(" in text


def _example_registry(example):
    def fn(*args):
        return None

    from cadence import Cadence

    reg = {}
    for name, (role, _doc) in example["registry"].items():
        reg[name] = Cadence(name, object()).then("x", fn) if role == "cadence" else fn
    return reg


@pytest.mark.parametrize("example", _prompts.examples(), ids=lambda e: e["answer"][16:40])
def test_worked_examples_validate_and_build(example):
    """Every worked answer is an accepted composition over its own registry."""
    reg = _example_registry(example)
    assert check_source(example["answer"], registry=reg, mode="composition") == []
    assert build(example["answer"], reg, score=object()).steps


def test_examples_cover_every_method():
    """The worked examples use then, sync, split, child and on_error, and resilience options."""
    answers = "\n".join(e["answer"] for e in _prompts.examples())
    for method in ("then", "sync", "split", "child", "on_error"):
        assert f".{method}(" in answers
    assert "can_interrupt=True" in answers and "stop=False" in answers
    assert "retry=" in _prompts.read("scaffold.md") and "timeout=" in _prompts.read("scaffold.md")


@pytest.mark.parametrize("example", _prompts.examples(), ids=lambda e: e["answer"][16:40])
def test_plan_round_trip(example):
    """A composition -> JSON plan -> composition keeps the same plan."""
    plan = source_to_plan(example["answer"])
    again = _derive.plan_to_source(plan)
    assert source_to_plan(again) == plan


def test_plan_schema_file_is_valid_json_with_every_method():
    """The shipped schema parses and has one variant per method, and one for a remark."""
    schema = json.loads(_prompts.read_raw("plan.schema.json"))
    variants = schema["properties"]["steps"]["items"]["anyOf"]
    assert {v["properties"]["kind"]["const"] for v in variants} == {*GRAMMAR["methods"], REMARK}
