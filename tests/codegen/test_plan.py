"""Plans: the anchored grammar, rendering, unique step names, re-decoding one step."""

from __future__ import annotations

import json
from typing import Any

import llama_cpp  # installed by `make venv` (the local-model extra); its parser must accept ours
import pytest

from cadence.validate import parse_composition
from cadence_llm import _derive
from cadence_llm._anchor import covered_spans, run_ends
from cadence_llm._plan import example_plan, plan_to_source, step_comments
from cadence_llm._plan import plan_schema as _plan_schema
from cadence_llm._prompts import examples
from cadence_llm._registry import roles_of
from cadence_llm.codegen import (
    check_answer,
    generate_cadence,
    grammar_for,
    plan_grammar_for,
    unique_step_names,
)
from cadence_llm.models.scripted import ScriptedModel

from .gbnf import accepts
from .support import OrderScore, fenced, registry

TASK = "For a new order: load the order, then fetch the prices and the stock in parallel."


def plan(*steps: dict[str, object], name: str = "order") -> str:
    """A plan as the plan grammar spells it."""
    rows = ",\n  ".join(json.dumps(s) for s in steps)
    return f'{{"name": "{name}", "steps": [\n  {rows}\n]}}'


LOAD = {"covers": "load the order,", "kind": "then", "task": "load_order"}
BOTH = {
    "covers": "then fetch the prices and the stock in parallel.",
    "kind": "sync",
    "tasks": ["fetch_prices", "fetch_stock"],
}


def test_the_anchored_plan_grammar_takes_runs_of_the_task_and_nothing_else():
    """Steps' covers are runs of the task's words in order that cover every word, ending only
    after punctuation: a lead-in joins a step (the model's choice), nothing is invented,
    skipped, repeated or left off at the end."""
    grammar = plan_grammar_for(registry(), task=TASK)
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    lead_in = {**LOAD, "covers": "For a new order: load the order,"}
    assert accepts(grammar, plan(lead_in, BOTH))
    alone = {"covers": "For a new order:", "kind": "then", "task": "load_order"}
    assert accepts(grammar, plan(alone, LOAD, BOTH))  # a step of its own, if the model says so
    joined = {**BOTH, "covers": "For a new order: " + LOAD["covers"] + " " + BOTH["covers"]}
    assert accepts(grammar, plan(joined))  # one step for everything: also the model's choice
    assert not accepts(grammar, plan(LOAD, BOTH))  # skips the lead-in
    cut = {**lead_in, "covers": "For a new order: load the"}
    rest = {**BOTH, "covers": "order, " + BOTH["covers"]}
    assert not accepts(grammar, plan(cut, rest))  # ends a step where the task has no pause
    assert not accepts(
        grammar, plan({**lead_in, "covers": "For a new order: load the cart,"}, BOTH)
    )
    assert not accepts(grammar, plan(BOTH, lead_in))  # out of order
    assert not accepts(grammar, plan(lead_in))  # stops before the task's end
    wrong = {**BOTH, "tasks": ["fetch_prices", "is_express"]}
    assert not accepts(grammar, plan(lead_in, wrong))


def test_the_anchored_composition_grammar_takes_runs_of_the_task_as_comments():
    """Grammar mode: the comment above each call is a run of the task's words, the same way."""
    grammar = grammar_for(registry(), task=TASK)
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    good = (
        '(\n    Cadence("o", score)\n    # For a new order: load the order,\n'
        '    .then("load", load_order)\n'
        "    # then fetch the prices and the stock in parallel.\n"
        '    .sync("both", [fetch_prices, fetch_stock])\n)'
    )
    assert accepts(grammar, good)
    assert not accepts(
        grammar, good.replace("# then fetch the prices", "# then fetch all the prices")
    )
    assert not accepts(grammar, good.replace("# For a new order: load", "# load"))


def test_anchoring_knows_no_language():
    """Any words separated by spaces anchor, runs end after any Unicode punctuation, and JSON
    escapes are spelled as JSON."""
    task = 'Lade die Bestellung， dann "prüfe" die Preise。'
    grammar = plan_grammar_for(registry(), task=task)
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    first = {"covers": "Lade die Bestellung，", "kind": "then", "task": "load_order"}
    second = {"covers": 'dann "prüfe" die Preise。', "kind": "then", "task": "fetch_prices"}
    assert accepts(grammar, plan(first, second))
    assert accepts(grammar, plan({**second, "covers": first["covers"] + " " + second["covers"]}))
    early = {**first, "covers": "Lade die"}
    late = {**second, "covers": 'Bestellung， dann "prüfe" die Preise。'}
    assert not accepts(grammar, plan(early, late))
    assert covered_spans(task, [first["covers"], second["covers"]]) == [(0, 2), (3, 6)]
    assert run_ends("load the order then ship it") == set(range(6))  # no punctuation at all


def test_plan_kinds_and_keys_come_from_the_dsl_table():
    """Every method of the DSL table is a plan kind with its parameters as keys (no code of its
    own), including parameters that are score fields, counts or a policy, as ``.map`` has."""
    from cadence_llm._prompts import spec

    data = spec()
    row = next(m for m in data["methods"] if m["name"] == "map")
    assert [p["shape"] for p in row["params"]][:3] == ["name", "items", "note"]
    names = roles_of(registry())
    task = "Do it for each item."
    grammar = _derive.plan_gbnf(data, names=names, task=task)
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    assert "m-map" in grammar.split("step ::= ")[1].splitlines()[0]
    step = {
        "covers": task,
        "kind": "map",
        "items_from": "orders",
        "fn": "load_order",
        "concurrency": 8,
        "into": "loaded",
        "on_error": "collect",
    }
    assert accepts(grammar, plan(step))
    assert not accepts(grammar, plan({**step, "on_error": "ignore"}))
    variant = next(
        v
        for v in _plan_schema(data, names=names)["properties"]["steps"]["items"]["anyOf"]
        if v["properties"]["kind"] == {"const": "map"}
    )
    assert variant["properties"]["concurrency"]["type"] == "integer"
    assert variant["required"] == ["covers", "kind", "items_from", "fn"]
    source = plan_to_source({"name": "x", "steps": [step]}, data)
    expected = '.map("load_order", "orders", load_order, concurrency=8, into="loaded", '
    assert expected + 'on_error="collect")' in source
    text_grammar = _derive.gbnf(data, names=names)
    llama_cpp.LlamaGrammar.from_string(text_grammar, verbose=False)
    call = source.splitlines()[-2].strip()
    assert accepts(text_grammar, f'(\n    Cadence("x", score)\n    # each\n    {call}\n)')


def test_a_plan_is_rendered_with_its_words_as_comments_and_library_step_names():
    """covers becomes the comment above the call; unnamed steps are named after their first
    registry name, made unique; the result validates and builds."""
    text = plan(LOAD, {**LOAD, "covers": "and again"}, BOTH)
    source, diags, cadence = check_answer(text, registry(), score=OrderScore())
    assert diags == [] and cadence is not None
    assert source.splitlines()[1:5] == [
        '    Cadence("order", score)',
        "    # load the order,",
        '    .then("load_order", load_order)',
        "    # and again",
    ]
    assert '.then("load_order_2", load_order)' in source
    assert '.sync("fetch_prices", [fetch_prices, fetch_stock])' in source


def test_a_repeated_step_name_is_made_unique_with_a_note():
    """Names the model repeats are labels: renamed, reported as a CAD705 note, answer valid."""
    dup = 'Cadence("o", score).then("step", load_order).then("step", fetch_prices)'
    source, notes = unique_step_names(dup)
    assert source == 'Cadence("o", score).then("step", load_order).then("step_2", fetch_prices)'
    (note,) = notes
    assert note.code == "CAD705" and note.severity == "info" and not note.is_error
    assert "'step'" in note.message and "'step_2'" in note.message


async def test_a_text_answer_with_a_repeated_name_is_accepted_first_time():
    """Regression: duplicate names in free text no longer fail the answer (CAD107)."""
    dup = 'Cadence("o", score).then("s", load_order).then("s", fetch_prices).then("s", fetch_stock)'
    model = ScriptedModel([fenced(dup)])
    task = "Load the order, then fetch the prices, then fetch the stock."
    gen = await generate_cadence(model, task, registry(), OrderScore, mode="text")
    assert gen.ok and gen.repairs == 0 and gen.cadence is not None
    assert [d.code for d in gen.diagnostics] == ["CAD705", "CAD705"]
    assert '.then("s_3", fetch_stock)' in gen.source
    result = await gen.cadence.run(OrderScore())
    assert result.trace == ["load", "prices", "stock"]


async def test_a_step_its_words_contradict_is_written_again_from_that_point():
    """An anchored plan whose step says "in parallel" but is a .then: the next request keeps
    the answer up to that step's kind and asks for a .sync there, in the same conversation."""
    wrong = plan(LOAD, {**BOTH, "kind": "then", "task": "fetch_prices"})
    wrong = wrong.replace(', "tasks": ["fetch_prices", "fetch_stock"]', "")
    model = ScriptedModel([wrong, plan(LOAD, BOTH)])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, constrain="grammar")
    assert gen.ok and gen.chosen == 1 and gen.diagnostics == ()
    assert [d.code for d in gen.attempts[0].findings] == ["CAD703"]
    first, second = model.requests
    assert second.messages == first.messages  # not a chat repair: the prompt is cached
    grammar = second.extra["grammar"]
    prefix = wrong[: wrong.index('then", "task": "fetch_prices"')]
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume n16"
    rules = dict(x.split(" ::= ", 1) for x in grammar.splitlines() if " ::= " in x)
    assert rules["step-resume"] == "m-sync-again"
    assert accepts(grammar, plan(LOAD, BOTH))
    assert not accepts(grammar, wrong)


async def test_words_of_two_steps_in_one_are_cut_and_the_rest_written_anew():
    """One step covering "load the order, then fetch the prices" while no step fetches the
    prices: the next request keeps the answer up to "load the order," (ending that step's
    words there) and the model writes that step and the rest again."""
    task = "Load the order, then fetch the prices."
    merged = plan({"covers": task, "kind": "then", "task": "load_order"})
    load = {"covers": "Load the order,", "kind": "then", "task": "load_order"}
    prices = {"covers": "then fetch the prices.", "kind": "then", "task": "fetch_prices"}
    model = ScriptedModel([merged, plan(load, prices)])
    gen = await generate_cadence(model, task, registry(), OrderScore, constrain="grammar")
    assert gen.ok and gen.chosen == 1 and gen.diagnostics == ()
    finding = gen.attempts[0].findings[0]
    assert finding.code == "CAD703" and "fetch_prices" in finding.message
    grammar = model.requests[1].extra["grammar"]
    prefix = '{"name": "order", "steps": [\n  {"covers": "Load the order,", "kind": "'
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume n3"
    assert accepts(grammar, plan(load, prices)) and not accepts(grammar, merged)


async def test_an_option_the_words_ask_for_is_written_again_once():
    """ "may be interrupted" over a .then without can_interrupt: the step is written again with
    it; the same option is never forced twice at one point."""
    task = "Load the order; it may be interrupted."
    step = {
        "covers": "Load the order; it may be interrupted.",
        "kind": "then",
        "task": "load_order",
    }
    model = ScriptedModel([plan(step)], repeat=True)
    gen = await generate_cadence(
        model, task, registry(), OrderScore, constrain="grammar", max_repairs=1
    )
    assert model.calls == 1 + 1 + 1  # the answer, one re-decode, one chat round
    rules = dict(
        x.split(" ::= ", 1) for x in model.requests[1].extra["grammar"].splitlines() if " ::= " in x
    )
    assert (
        rules["m-then-again"]
        == '"then\\"" ", \\"task\\": " s-note ", \\"can_interrupt\\": " "true"'
    )
    assert "step-resume" not in model.requests[2].extra["grammar"]
    assert gen.ok and [d.code for d in gen.diagnostics] == ["CAD704"]


async def test_swapped_branches_are_written_again_with_other_first_notes():
    """A .split whose notes fit the words the other way round is written again, its branches
    starting with other notes (which ones stays the model's choice)."""
    task = "If the order is express, ship it express; otherwise ship it standard."
    swapped = {
        "covers": task,
        "kind": "split",
        "condition": "is_express",
        "if_true": ["ship_standard"],
        "if_false": ["ship_express"],
    }
    right = {**swapped, "if_true": ["ship_express"], "if_false": ["ship_standard"]}
    model = ScriptedModel([plan(swapped), plan(right)])
    gen = await generate_cadence(model, task, registry(), OrderScore, constrain="grammar")
    assert gen.chosen == 1 and gen.diagnostics == ()
    rules = dict(
        x.split(" ::= ", 1) for x in model.requests[1].extra["grammar"].splitlines() if " ::= " in x
    )
    assert '"\\"ship_standard\\""' not in rules["r-first-if-true"]
    assert '"\\"ship_express\\""' not in rules["r-first-if-false"]


async def test_a_registry_with_only_some_methods_never_crashes_the_loop():
    """Regression: with notes only (no condition, child or handler), re-decoding asks only for
    methods the registry can fill, and running out of them ends the loop without an error."""
    reg = {k: v for k, v in registry().items() if k in ("load_order", "fetch_prices")}
    task = "Load the order and fetch the prices in parallel."
    step = {"covers": task, "kind": "then", "task": "load_order"}
    model = ScriptedModel([plan(step)], repeat=True)
    gen = await generate_cadence(
        model, task, reg, OrderScore, constrain="grammar", max_repairs=1, raise_on_failure=False
    )
    assert gen.ok and model.calls == 3
    resumes = [r.extra["grammar"] for r in model.requests[1:2]]
    assert all("step-resume ::= m-sync-again" in g for g in resumes)
    one = {"covers": "Load the order.", "kind": "sync", "tasks": ["load_order"]}
    model = ScriptedModel([plan(one)], repeat=True)
    gen = await generate_cadence(
        model,
        "Load the order.",
        reg,
        OrderScore,
        constrain="grammar",
        max_repairs=0,
        raise_on_failure=False,
    )
    assert gen.ok and "step-resume ::= m-then-again" in model.requests[1].extra["grammar"]


@pytest.mark.parametrize("constrain", ["schema", "none"])
async def test_unconstrained_plans_are_not_redecoded(constrain):
    """Without a grammar there is nothing to re-decode from: findings go back in chat."""
    wrong = plan(LOAD, {**BOTH, "kind": "then", "task": "fetch_prices"})
    model = ScriptedModel([wrong], repeat=True)
    await generate_cadence(model, TASK, registry(), OrderScore, constrain=constrain, max_repairs=1)
    assert model.calls == 2 and model.requests[1].messages != model.requests[0].messages


async def test_grammar_mode_cuts_two_steps_words_the_same_way():
    """In grammar mode the comment is cut the same way: the prefix ends "# Load the order,"."""
    task = "Load the order, then fetch the prices."
    merged = f'(\n    Cadence("o", score)\n    # {task}\n    .then("load", load_order)\n)'
    right = (
        '(\n    Cadence("o", score)\n    # Load the order,\n    .then("load", load_order)\n'
        '    # then fetch the prices.\n    .then("prices", fetch_prices)\n)'
    )
    model = ScriptedModel([merged, right])
    gen = await generate_cadence(model, task, registry(), OrderScore, mode="grammar")
    assert gen.ok and gen.chosen == 1
    grammar = model.requests[1].extra["grammar"]
    prefix = '(\n    Cadence("o", score)\n    # Load the order,\n    .'
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume n3"
    assert accepts(grammar, right)


REMARK_LEAD = {"covers": "For a new order:", "kind": "remark"}
LOAD_ONLY = {"covers": "load the order,", "kind": "then", "task": "load_order"}


def test_a_lead_in_may_be_a_remark_step_that_runs_nothing():
    """The anchored grammar and the schema take a "remark" step (words that are no action);
    it renders as a comment set apart by a blank line, is no step's words, and builds to a
    cadence without an extra step."""
    answer = plan(REMARK_LEAD, LOAD_ONLY, BOTH)
    assert accepts(plan_grammar_for(registry(), task=TASK), answer)
    variants = _plan_schema(names=roles_of(registry()))["properties"]["steps"]["items"]["anyOf"]
    remark = next(v for v in variants if v["properties"]["kind"].get("const") == "remark")
    assert remark["required"] == ["covers", "kind"] and remark["additionalProperties"] is False
    source, diags, built = check_answer(answer, registry(), score=OrderScore())
    assert not any(d.is_error for d in diags) and built is not None
    assert "    # For a new order:\n\n    # load the order,\n    .then(" in source
    comp, _ = parse_composition(source, registry())
    assert comp is not None and [s.method for s in comp.steps] == ["then", "sync"]
    assert [words for _, words in step_comments(source, comp)] == [
        "load the order,",
        "then fetch the prices and the stock in parallel.",
    ]


async def test_a_step_after_a_remark_is_written_again_at_its_own_place():
    """Re-decoding counts a plan's remarks: the step its words contradict is found among the
    plan's steps (not shifted by the remark) and the kept prefix holds the remark."""
    wrong = plan(REMARK_LEAD, LOAD_ONLY, {**BOTH, "kind": "then", "task": "fetch_prices"})
    wrong = wrong.replace(', "tasks": ["fetch_prices", "fetch_stock"]', "")
    right = plan(REMARK_LEAD, LOAD_ONLY, BOTH)
    model = ScriptedModel([wrong, right])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, constrain="grammar")
    assert gen.ok and gen.chosen == 1 and gen.diagnostics == ()
    grammar = model.requests[1].extra["grammar"]
    prefix = wrong[: wrong.index('then", "task": "fetch_prices"')]
    assert '"kind": "remark"' in prefix
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume n16"
    assert accepts(grammar, right) and not accepts(grammar, wrong)


def test_a_plan_that_runs_no_step_is_not_an_accepted_answer():
    """Regression: a plan of remarks only rendered to a cadence that runs nothing and was
    accepted with no finding. It is a CAD706 error now, in plans and in free text."""
    answer = plan(REMARK_LEAD, {"covers": "load the order,", "kind": "remark"})
    _, diags, built = check_answer(answer, registry(), score=OrderScore())
    assert [d.code for d in diags if d.is_error] == ["CAD706"] and built is None
    assert "remark" in diags[-1].message
    _, diags, _ = check_answer(fenced('Cadence("o", score)'), registry(), mode="text")
    assert [d.code for d in diags] == ["CAD706"]
    handler_only = 'Cadence("o", score).on_error(report_failure)'
    _, diags, _ = check_answer(fenced(handler_only), registry(), mode="text")
    assert [d.code for d in diags] == ["CAD706"]


async def test_a_plan_of_remarks_has_its_longest_remark_written_again_as_a_step():
    """An anchored plan of remarks only: the next request keeps the answer up to the kind of
    its longest remark and offers every kind there but "remark"; each remark is tried once,
    and a model that keeps writing remarks ends with a failed generation, not an empty
    cadence."""
    task = "For a new order: load the order, then ship it express."
    lead = {"covers": "For a new order:", "kind": "remark"}
    rest = {"covers": "load the order, then ship it express.", "kind": "remark"}
    step = {"covers": "load the order, then ship it express.", "kind": "then"}
    remarks = plan(lead, rest)
    model = ScriptedModel([remarks, plan(lead, {**step, "task": "load_order"})])
    gen = await generate_cadence(
        model, task, registry(), OrderScore, constrain="grammar", ground=False
    )
    assert gen.ok and gen.chosen == 1 and gen.cadence is not None
    assert [d.code for d in gen.attempts[0].diagnostics] == ["CAD706"]
    assert model.requests[1].messages == model.requests[0].messages  # a re-decode, not chat
    grammar = model.requests[1].extra["grammar"]
    prefix = remarks[: remarks.index('remark"}\n]}')]
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume n11"
    rules = dict(x.split(" ::= ", 1) for x in grammar.splitlines() if " ::= " in x)
    kinds = rules["step-resume"].split(" | ")
    assert "m-remark" not in kinds and "m-on-error-again" not in kinds and "m-then-again" in kinds
    assert accepts(grammar, plan(lead, {**step, "task": "load_order"}))
    assert not accepts(grammar, remarks)
    assert (await gen.cadence.run(OrderScore())).trace == ["load"]

    model = ScriptedModel([remarks], repeat=True)
    gen = await generate_cadence(
        model,
        task,
        registry(),
        OrderScore,
        constrain="grammar",
        ground=False,
        max_repairs=0,
        raise_on_failure=False,
    )
    assert not gen.ok and gen.cadence is None
    assert model.calls == 3  # the answer, then each of its two remarks once
    second = model.requests[2].extra["grammar"].splitlines()[1]
    assert second == f"root ::= {json.dumps(remarks[: remarks.index('remark')])} step-resume n4"

    # A handler is no step either: a plan of one .on_error has it written as a step that runs.
    handler = {"covers": task, "kind": "on_error", "handler": "report_failure"}
    model = ScriptedModel([plan(handler), plan({**step, "covers": task, "task": "load_order"})])
    gen = await generate_cadence(
        model, task, registry(), OrderScore, constrain="grammar", ground=False
    )
    assert gen.ok and gen.chosen == 1
    assert [d.code for d in gen.attempts[0].diagnostics] == ["CAD706"]
    rules = dict(
        x.split(" ::= ", 1) for x in model.requests[1].extra["grammar"].splitlines() if " ::= " in x
    )
    assert "m-on-error-again" not in rules["step-resume"].split(" | ")


def test_worked_examples_cover_every_word_with_remarks_for_context():
    """A worked example's plan covers the task's words in order, every one (as the anchored
    grammar makes a model do): a lead-in or a trailing reason no comment quotes is a remark,
    a connective joins the step after it."""
    ex = next(e for e in examples() if e["task"].startswith("Nightly job for the bakery"))
    steps = example_plan(ex["task"], ex["answer"])["steps"]
    assert " ".join(s["covers"] for s in steps) == ex["task"]
    assert [s["kind"] for s in steps] == ["remark", "then", "then", "then", "remark"]
    assert steps[2]["covers"] == "then mark them half price."
    for e in examples():
        covers = [s["covers"] for s in example_plan(e["task"], e["answer"])["steps"]]
        assert " ".join(covers) == " ".join(e["task"].split()), e["task"]


def test_a_run_may_end_at_a_line_break_or_before_a_lone_dash():
    """List items on lines of their own and parts set apart by a lone dash may each be a
    step: a run may end at a line break and before a dash standing alone, never inside a
    line's words (a bullet list is no longer forced into one step)."""
    task = "In this order:\n- load the order\n- fetch the prices - and the stock"
    words = task.split()
    assert [words[k] for k in sorted(run_ends(task))] == ["order:", "order", "prices", "stock"]
    grammar = plan_grammar_for(registry(), task=task)
    lead = {"covers": "In this order:", "kind": "remark"}
    load = {"covers": "- load the order", "kind": "then", "task": "load_order"}
    rest = {"covers": "- fetch the prices - and the stock", "kind": "sync"}
    rest["tasks"] = ["fetch_prices", "fetch_stock"]
    assert accepts(grammar, plan(lead, load, rest))
    inside = {"covers": "- load the", "kind": "then", "task": "load_order"}
    tail = {**rest, "covers": "order - fetch the prices - and the stock"}
    assert not accepts(grammar, plan(lead, inside, tail))


async def written_again(task: str, first: str, right: str) -> tuple[Any, str, dict[str, str]]:
    """Generate with a model that answers ``first`` and then ``right``; the second answer is
    the one chosen, clean. Returns the first answer's finding, the second request's grammar and
    that grammar's rules by name."""
    model = ScriptedModel([first, right])
    gen = await generate_cadence(model, task, registry(), OrderScore, constrain="grammar")
    assert gen.ok and gen.chosen == 1 and gen.diagnostics == ()
    grammar = model.requests[1].extra["grammar"]
    rules = dict(x.split(" ::= ", 1) for x in grammar.splitlines() if " ::= " in x)
    return gen.attempts[0].findings[0], grammar, rules


async def test_a_lead_in_lent_the_next_steps_note_is_written_again_without_it():
    """A .then on words that do not describe its note, while a later step runs that note
    too: the next request writes that step again with the note left out of every slot (a
    remark or another note is the model's choice), from the same point."""
    task = "At the shop counter: load the order, then fetch the prices."
    lent = {"covers": "At the shop counter:", "kind": "then", "task": "load_order"}
    load = {"covers": "load the order,", "kind": "then", "task": "load_order"}
    prices = {"covers": "then fetch the prices.", "kind": "then", "task": "fetch_prices"}
    right = plan({"covers": "At the shop counter:", "kind": "remark"}, load, prices)
    finding, grammar, rules = await written_again(task, plan(lent, load, prices), right)
    assert finding.code == "CAD703" and "load_order" in finding.message
    assert '"\\"load_order\\""' not in rules["r-first-task"]
    assert "m-remark" in rules["step-resume"]
    assert accepts(grammar, right) and not accepts(grammar, plan(lent, load, prices))


async def test_a_branch_listing_a_note_twice_is_written_again_as_another_kind():
    """A step padded with a .split whose branch names one note twice (words that ask for no
    action): the next request writes that step again from the same point, with .split left
    out and a remark among the choices."""
    task = "Load the order, then fetch the prices. Nothing else is needed."
    load = {"covers": "Load the order,", "kind": "then", "task": "load_order"}
    prices = {"covers": "then fetch the prices.", "kind": "then", "task": "fetch_prices"}
    padded = {
        "covers": "Nothing else is needed.",
        "kind": "split",
        "condition": "is_express",
        "if_true": ["ship_express", "ship_express"],
    }
    right = plan(load, prices, {"covers": "Nothing else is needed.", "kind": "remark"})
    finding, grammar, rules = await written_again(task, plan(load, prices, padded), right)
    assert finding.code == "CAD703" and "ship_express twice" in finding.message
    assert "m-remark" in rules["step-resume"] and "m-split" not in rules["step-resume"]
    assert accepts(grammar, right) and not accepts(grammar, plan(load, prices, padded))


async def test_a_split_forced_on_a_decision_cue_does_not_replace_the_models_step_it_pads():
    """The words "When an express order comes in" have a decision cue and fit a condition, so
    the model's .then is written again as a .split. When that .split pads a branch with one note
    twice, it has a finding of its own, and the model's first answer is the one kept: a cue
    does not overrule the model with a worse answer."""
    task = "When an express order comes in, load the order, then fetch the prices."
    first = plan(
        {"covers": "When an express order comes in, load the order,", "kind": "then"}
        | {"task": "load_order"},
        {"covers": "then fetch the prices.", "kind": "then", "task": "fetch_prices"},
    )
    padded = plan(
        {"covers": "When an express order comes in, load the order,", "kind": "split"}
        | {"condition": "is_express", "if_true": ["load_order", "load_order"]},
        {"covers": "then fetch the prices.", "kind": "then", "task": "fetch_prices"},
    )
    model = ScriptedModel([first, padded])
    gen = await generate_cadence(
        model, task, registry(), OrderScore, constrain="grammar", max_repairs=0
    )
    assert len(model.requests) == 2  # the .split was asked for once, and not again
    assert "decision on is_express" in gen.attempts[0].findings[0].message
    assert "load_order twice" in gen.attempts[1].findings[0].message
    assert gen.ok and gen.chosen == 0 and ".then(" in gen.source and ".split(" not in gen.source
