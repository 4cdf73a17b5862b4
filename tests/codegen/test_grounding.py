"""Task grounding: valid answers checked against their task, repaired, the best one kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadence._validate._composition import parse_composition
from cadence_llm import _prompts
from cadence_llm._grounding import check_grounding, step_comments
from cadence_llm._registry import docs_of
from cadence_llm.codegen import generate_cadence
from cadence_llm.models.scripted import ScriptedModel

from .support import GOOD, TASK, OrderScore, fenced, registry

EVAL_TASKS = Path(__file__).parents[2] / "evals" / "tasks.jsonl"


def codes(source: str, task: str) -> list[str]:
    comp, diags = parse_composition(source, registry())
    assert comp is not None, diags
    return [d.code for d in check_grounding(source, comp, task, docs=docs_of(registry()))]


def chain(*lines: str) -> str:
    return "(\n" + "\n".join("    " + line for line in lines) + "\n)"


SEQUENCE_TASK = "Load the order, then fetch the prices, then fetch the stock."
SEQUENCE = chain(
    'Cadence("o", score)',
    "# load the order",
    '.then("load", load_order)',
    "# fetch the prices",
    '.then("prices", fetch_prices)',
    "# fetch the stock",
    '.then("stock", fetch_stock)',
)


def test_a_faithful_answer_has_no_findings():
    """Every part of the task has its step and nothing else: no findings."""
    assert codes(SEQUENCE, SEQUENCE_TASK) == []
    assert codes(GOOD, TASK) == []


def test_step_comments_pair_each_call_with_the_comment_above_it():
    """Comments are read with tokenize and paired with the method call below them."""
    comp, _ = parse_composition(SEQUENCE, registry())
    assert comp is not None
    assert step_comments(SEQUENCE, comp) == [
        (4, "load the order"),
        (6, "fetch the prices"),
        (8, "fetch the stock"),
    ]


def test_a_step_the_task_never_asked_for_is_cad701():
    """An extra step whose comment quotes nothing of the task is reported at its line."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    comp, _ = parse_composition(extra, registry())
    assert comp is not None
    (finding,) = check_grounding(extra, comp, SEQUENCE_TASK)
    assert finding.code == "CAD701" and finding.line == 10 and finding.severity == "warning"
    assert "ship it with the express courier" in finding.message and "remove" in finding.hint


def test_a_part_of_the_task_no_step_does_is_cad702():
    """Dropping the first step leaves its clause uncovered."""
    dropped = SEQUENCE.replace('    # load the order\n    .then("load", load_order)\n', "")
    comp, _ = parse_composition(dropped, registry())
    assert comp is not None
    (finding,) = check_grounding(dropped, comp, SEQUENCE_TASK)
    assert finding.code == "CAD702" and "'Load the order'" in finding.message


def test_parallel_work_written_as_a_sequence_is_cad703():
    """A comment saying 'at the same time' above a .then, and a task with no .sync."""
    task = "Load the order, then fetch the prices and the stock at the same time."
    seq = chain(
        'Cadence("o", score)',
        "# load the order",
        '.then("load", load_order)',
        "# fetch the prices and the stock at the same time",
        '.then("prices", fetch_prices)',
    )
    found = codes(seq, task)
    assert found.count("CAD703") == 1  # the comment check; the task-level one is not repeated
    assert (
        codes(
            seq.replace(
                '.then("prices", fetch_prices)', '.sync("both", [fetch_prices, fetch_stock])'
            ),
            task,
        )
        == []
    )


@pytest.mark.parametrize(
    ("task", "source", "message"),
    [
        (
            "Load the order; it may be interrupted.",
            'Cadence("o", score).then("load", load_order)',
            "may be interrupted",
        ),
        (
            "Load the order. If a step fails, report it and carry on.",
            'Cadence("o", score).then("load", load_order).on_error(report_failure)',
            "carry on",
        ),
        (
            "Load the order. If a step fails, report it and stop.",
            'Cadence("o", score).then("load", load_order).on_error(report_failure, stop=False)',
            "stop=False",
        ),
        (
            "If the order is express, ship it express; otherwise ship it normally.",
            'Cadence("o", score).split("s", is_express, [ship_express])',
            "otherwise",
        ),
        (
            "If the order is express, ship it express; if not, do nothing.",
            'Cadence("o", score).split("s", is_express, [ship_express], [ship_standard])',
            "otherwise",
        ),
        (
            "Fetch the prices and the stock in parallel; the last write wins.",
            'Cadence("o", score).sync("s", [fetch_prices, fetch_stock])',
            "conflicting writes",
        ),
    ],
)
def test_options_the_wording_asks_for_are_cad704(task, source, message):
    """Options the task's wording asks for (or rules out) are checked even without comments."""
    comp, _ = parse_composition(source, registry())
    assert comp is not None
    findings = check_grounding(source, comp, task)
    assert [d.code for d in findings] == ["CAD704"], findings
    assert message in findings[0].message + findings[0].hint


def test_failure_handling_the_task_never_asked_for_is_reported():
    """An .on_error the task does not mention is a finding; one it asks for is required."""
    src = 'Cadence("o", score).then("load", load_order).on_error(report_failure)'
    assert codes(src, "Load the order.") == ["CAD702"]
    assert codes(
        'Cadence("o", score).then("load", load_order)', "Load the order. On an error, report it."
    ) == ["CAD702"]


def test_every_eval_reference_and_worked_example_is_clean():
    """The checks do not flag the reference compositions of the eval set or the pack's examples."""
    tasks = [json.loads(line) for line in EVAL_TASKS.read_text().splitlines() if line]
    assert len(tasks) >= 80
    for t in tasks:
        comp, _ = parse_composition(t["reference"], None)
        assert comp is not None
        docs = {name: doc for name, (_, doc) in t["registry"].items()}
        assert check_grounding(t["reference"], comp, t["task"], docs=docs) == [], t["id"]
    for ex in _prompts.examples():
        comp, _ = parse_composition(ex["answer"], None)
        assert comp is not None
        docs = {name: doc for name, (_, doc) in ex["registry"].items()}
        assert check_grounding(ex["answer"], comp, ex["task"], docs=docs) == [], ex["task"]
        assert _prompts.answer_features(ex["answer"]) == _prompts.task_features(ex["task"])


async def test_findings_go_back_for_a_repair_and_the_fixed_answer_is_built():
    """A valid answer with an extra step gets one reground round naming it and the task."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    model = ScriptedModel([fenced(extra), fenced(SEQUENCE)])
    gen = await generate_cadence(model, SEQUENCE_TASK, registry(), OrderScore)
    assert gen.ok and gen.repairs == 1 and gen.chosen == 1 and gen.diagnostics == ()
    assert [d.code for d in gen.attempts[0].findings] == ["CAD701"]
    reground = model.requests[1].messages[-1].content
    assert "does not do what the task says" in reground and "CAD701" not in reground
    assert "ship it with the express courier" in reground and SEQUENCE_TASK in reground
    result = await gen.cadence.run(OrderScore())
    assert result.trace == ["load", "prices", "stock"]


async def test_a_valid_answer_is_never_traded_for_a_broken_repair():
    """When the repair is invalid (or no better), the earlier valid answer is the result."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    broken = SEQUENCE.replace(".then(", ".thenn(", 1)
    model = ScriptedModel([fenced(extra), fenced(broken), fenced(extra)])
    gen = await generate_cadence(model, SEQUENCE_TASK, registry(), OrderScore, max_repairs=2)
    assert model.calls == 3 and gen.chosen == 0 and gen.ok
    assert gen.source == extra and [d.code for d in gen.diagnostics] == ["CAD701"]
    assert gen.cadence is not None
    result = await gen.cadence.run(OrderScore())
    assert result.trace == ["load", "prices", "stock", "express"]


async def test_ground_false_accepts_the_first_valid_answer():
    """ground=False turns the checks off: no findings, no extra round."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    model = ScriptedModel([fenced(extra)])
    gen = await generate_cadence(model, SEQUENCE_TASK, registry(), OrderScore, ground=False)
    assert gen.ok and gen.repairs == 0 and gen.diagnostics == ()


BRANCH_TASK = (
    "Load the order. If the order is express, ship it express; otherwise ship it normally."
)


def anchored(*steps: tuple[str, str]) -> str:
    """An answer in the anchored layout: one comment line (task words), one call line."""
    body = [f"# {comment}\n    .{call}" for comment, call in steps]
    return '(\n    Cadence("o", score)\n    ' + "\n    ".join(body) + "\n)"


async def test_an_anchored_step_is_redecoded_with_another_method():
    """Grammar mode: a step whose comment asks for another method is decoded again from that
    point, with the method it used excluded, in the same conversation (no repair turn)."""
    wrong = anchored(
        ("load the order", 'then("load", load_order)'),
        (
            "if the order is express, ship it express; otherwise ship it normally",
            'then("ship", ship_express)',
        ),
    )
    right = wrong.replace(
        'then("ship", ship_express)', 'split("ship", is_express, [ship_express], [ship_standard])'
    )
    model = ScriptedModel([wrong, right])
    gen = await generate_cadence(model, BRANCH_TASK, registry(), OrderScore, mode="grammar")
    assert gen.ok and gen.chosen == 1 and gen.diagnostics == ()
    assert [d.code for d in gen.attempts[0].findings] == ["CAD703"]
    first, second = model.requests
    assert second.messages == first.messages  # not a chat repair: the same prompt
    grammar = second.extra["grammar"]
    prefix = wrong[: wrong.index('then("ship"')]
    assert grammar.splitlines()[1] == f"root ::= {json.dumps(prefix)} step-resume " + '"\\n)"'
    resume = next(line for line in grammar.splitlines() if line.startswith("step-resume ::="))
    assert "m-then" not in resume and "m-split" in resume
    result = await gen.cadence.run(OrderScore())
    assert result.trace == ["load", "express"]


async def test_redecoding_excludes_every_method_tried_at_that_step():
    """A second wrong method at the same step is excluded as well as the first."""
    step = "if the order is express, ship it express; otherwise ship it normally"
    first = anchored(
        ("load the order", 'then("load", load_order)'), (step, 'then("ship", ship_express)')
    )
    second = first.replace(
        'then("ship", ship_express)', 'sync("ship", [ship_express, ship_standard])'
    )
    model = ScriptedModel([first, second, second])
    await generate_cadence(
        model, BRANCH_TASK, registry(), OrderScore, mode="grammar", max_redecodes=2, max_repairs=0
    )
    assert model.calls == 3
    resume = next(
        line
        for line in model.requests[2].extra["grammar"].splitlines()
        if line.startswith("step-resume")
    )
    assert "m-then" not in resume and "m-sync" not in resume and "m-split" in resume


def test_anchored_grammar_cuts_only_at_clause_boundaries():
    """The anchored grammar spells the task out; comments end only where a step can end."""
    from cadence_llm.codegen import grammar_for

    task = (
        "If the order is express, ship it express; if not, do nothing. After that, load the order."
    )
    lines = grammar_for(registry(), task=task).splitlines()
    cut_after = [line.split(" ::= ")[0] for line in lines if line.startswith("a") and " | " in line]
    words = task.lower().split()
    # One cut: after "nothing." ("if the order is express," leads in; "if not, do nothing." has
    # no content words of its own; "after that," leads in).
    assert [words[int(rule[1:])] for rule in cut_after] == ["nothing."]
    assert lines[-1].startswith("step-name") or "a" + str(len(words) - 1) in "\n".join(lines)


def test_a_sync_of_one_note_is_cad703():
    """A .sync with a single note runs nothing in parallel; unless its comment asks for
    parallel work, it is reported."""
    src = anchored(("load the order", 'sync("load", [load_order])'))
    assert codes(src, "Load the order.") == ["CAD703"]


async def test_swapped_branches_are_reported_and_redecoded_with_another_first_note():
    """A .split whose notes match the comment's parts the other way round is a CAD704; in
    grammar mode the step is decoded again with the first if-true note excluded."""
    step = "if the order is express, ship it express; otherwise ship it normally"
    swapped = anchored(
        ("load the order", 'then("load", load_order)'),
        (step, 'split("ship", is_express, [ship_standard], [ship_express])'),
    )
    assert codes(swapped, BRANCH_TASK) == ["CAD704"]
    right = swapped.replace("[ship_standard], [ship_express]", "[ship_express], [ship_standard]")
    assert codes(right, BRANCH_TASK) == []
    model = ScriptedModel([swapped, right])
    gen = await generate_cadence(model, BRANCH_TASK, registry(), OrderScore, mode="grammar")
    assert gen.chosen == 1 and gen.diagnostics == ()
    rules = dict(
        line.split(" ::= ", 1)
        for line in model.requests[1].extra["grammar"].splitlines()
        if " ::= " in line
    )
    assert rules["step-resume"].startswith('"split(" s-name')
    assert (
        '"ship_standard"' not in rules["r-note-first"] and '"ship_express"' in rules["r-note-first"]
    )


def test_a_child_cadence_the_task_never_asks_for_is_cad703():
    """A plain part of the task written as a .child (the task mentions no child cadence)."""
    src = anchored(("load the order", 'child("load", payment_flow, merge_payment)'))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    assert codes(src, "Load the order.") == ["CAD703"]
    from cadence_llm._grounding import first_fix

    assert first_fix(src, comp, "Load the order.") == (0, "method")


def _segments(task: str) -> list[str]:
    from cadence_llm._derive import _cuts

    words = task.lower().split()
    cuts, out, current = _cuts(words), [], []
    for k, word in enumerate(words):
        current.append(word)
        if k in cuts:
            out.append(" ".join(current))
            current = []
    return [*out, " ".join(current)]


@pytest.mark.parametrize(
    ("task", "segments"),
    [
        (
            "Load the order, then fetch the prices and the stock in parallel. Finally ship it.",
            [
                "load the order,",
                "then fetch the prices and the stock in parallel.",
                "finally ship it.",
            ],
        ),
        (
            # In a sentence about parallel work, commas list the members.
            "Fetch the prices, fetch the stock and load the order in parallel. Then ship it.",
            ["fetch the prices, fetch the stock and load the order in parallel.", "then ship it."],
        ),
        (
            # A lead-in goes with what follows; "if not, do nothing" with what precedes.
            "If the order is express, ship it express; if not, do nothing. After that, load it.",
            [
                "if the order is express, ship it express; if not, do nothing.",
                "after that, load it.",
            ],
        ),
        (
            # A qualifier of how a step runs stays with that step; a failure clause is a step.
            "Load the order, then ship it; it may be interrupted. If a step fails, report it.",
            [
                "load the order,",
                "then ship it; it may be interrupted.",
                "if a step fails, report it.",
            ],
        ),
    ],
)
def test_anchored_comments_may_end_only_at_clause_boundaries(task, segments):
    """Where the anchored grammar lets a comment end (the finest cut a model can make)."""
    assert _segments(task) == segments


@pytest.mark.parametrize(
    ("task", "call", "fix", "rule"),
    [
        (
            "Load the order; it may be interrupted.",
            'then("load", load_order)',
            "interrupt",
            '"then(" s-name ", " s-note ", can_interrupt=True)"',
        ),
        (
            "If the order is express, ship it express; otherwise ship it normally.",
            'split("ship", is_express, [ship_express])',
            "else",
            '"split(" s-name ", " s-condition ", " s-branch ", " s-branch ")"',
        ),
    ],
)
async def test_a_missing_option_is_redecoded_with_the_option(task, call, fix, rule):
    """An option the step's comment asks for is written by the re-decoded step (the model
    still picks the names); the same option is never forced twice at one point: after that,
    the findings go back in chat like any others."""
    comment = task.lower().rstrip(".")
    wrong = anchored((comment, call))
    model = ScriptedModel([wrong], repeat=True)
    gen = await generate_cadence(model, task, registry(), OrderScore, mode="grammar", max_repairs=3)
    assert model.calls == 1 + 1 + 3  # the answer, one re-decode, three chat rounds
    resume = next(
        line
        for line in model.requests[1].extra["grammar"].splitlines()
        if line.startswith("step-resume")
    )
    assert resume == f"step-resume ::= {rule}"
    third = model.requests[2]
    assert "step-resume" not in third.extra["grammar"]
    assert "does not do what the task says" in third.messages[-1].content
    assert gen.ok and gen.chosen == 0 and [d.code for d in gen.diagnostics] == ["CAD704"]


async def test_a_sync_leaving_out_a_note_its_comment_names_is_redecoded_with_more_notes():
    """The comment names fetch_stock's work, the .sync runs only fetch_prices: the step is
    decoded again as a .sync of at least two notes (which ones stays the model's choice)."""
    task = "Fetch the prices and fetch the stock at the same time."
    short = anchored(
        (
            "fetch the prices and fetch the stock at the same time",
            'sync("s", [fetch_prices, load_order])',
        )
    )
    assert codes(short, task) == ["CAD704"]
    full = short.replace("[fetch_prices, load_order]", "[fetch_prices, fetch_stock]")
    model = ScriptedModel([short, full])
    gen = await generate_cadence(model, task, registry(), OrderScore, mode="grammar")
    assert gen.chosen == 1 and gen.diagnostics == ()
    resume = next(
        line
        for line in model.requests[1].extra["grammar"].splitlines()
        if line.startswith("step-resume")
    )
    assert '(", " r-note){2,7}' in resume


def _regex_of(rules: dict[str, str], rule: str) -> str:
    """The regular expression a (non-recursive) GBNF rule stands for."""
    import re as _re

    out = []
    for token in _re.findall(
        r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{\d+,\d+\}|[()?|]|[a-z][a-z0-9-]*', rules[rule]
    ):
        if token.startswith('"'):
            out.append(_re.escape(json.loads(token)))
        elif token.startswith(("[", "{")) or token in "()?|":
            out.append("(?:" if token == "(" else token)
        else:
            out.append(f"(?:{_regex_of(rules, token)})")
    return "".join(out)


def test_a_fresh_step_name_is_any_name_but_the_taken_ones():
    """The re-decoded step's name may be anything an earlier step is not called."""
    import re as _re

    from cadence_llm._derive import _fresh_name_rules

    rules = dict(
        line.split(" ::= ", 1) for line in _fresh_name_rules(frozenset({"load", "lo", "x"}), 8)
    )
    fresh = _re.compile(_regex_of(rules, "s-fresh"))
    for taken in ('"load"', '"lo"', '"x"', '""'):
        assert not fresh.fullmatch(taken), taken
    for free in ('"l"', '"loa"', '"load2"', '"loads"', '"xy"', '"ship"', '"lo_1"'):
        assert fresh.fullmatch(free), free


async def test_a_duplicate_step_name_is_redecoded_with_a_fresh_name():
    """CAD107 in an anchored answer: the step is decoded again from the same point under a
    grammar that admits any name but the earlier steps' (a real GBNF llama.cpp accepts)."""
    task = "Load the order, then fetch the prices."
    dup = anchored(
        ("load the order", 'then("step", load_order)'),
        ("then fetch the prices", 'then("step", fetch_prices)'),
    )
    fixed = dup.replace('then("step", fetch_prices)', 'then("prices", fetch_prices)')
    model = ScriptedModel([dup, fixed])
    gen = await generate_cadence(model, task, registry(), OrderScore, mode="grammar")
    assert [d.code for d in gen.attempts[0].diagnostics] == ["CAD107"]
    assert gen.ok and gen.chosen == 1 and gen.cadence is not None
    grammar = model.requests[1].extra["grammar"]
    assert model.requests[1].messages == model.requests[0].messages
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)
    assert (
        rules["step-resume"]
        == "m-then-fresh | m-sync-fresh | m-split-fresh | m-child-fresh | m-map-fresh | m-on-error-fresh"
    )
    assert "s-fresh" in rules["m-then-fresh"]
    import llama_cpp  # installed by `make test` (the local-model extra); its parser must accept it

    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
