"""Task grounding: cues in a step's own words checked against it; no cue means unknown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadence._validate._composition import parse_composition
from cadence_llm import _prompts
from cadence_llm._grounding import check_grounding, first_fix, step_comments
from cadence_llm._registry import docs_of
from cadence_llm.codegen import generate_cadence
from cadence_llm.models.scripted import ScriptedModel

from .support import GOOD, TASK, OrderScore, fenced, registry

EVALS = Path(__file__).parents[2] / "evals"


def codes(source: str, task: str, *, anchored: bool = False) -> list[str]:
    comp, diags = parse_composition(source, registry())
    assert comp is not None, diags
    found = check_grounding(source, comp, task, docs=docs_of(registry()), anchored=anchored)
    return [d.code for d in found]


def chain(*lines: str) -> str:
    return "(\n" + "\n".join("    " + line for line in lines) + "\n)"


def anchored(*steps: tuple[str, str]) -> str:
    """A composition whose steps carry their words as comments (as a plan renders)."""
    return chain('Cadence("o", score)', *(x for words, call in steps for x in (f"# {words}", call)))


SEQUENCE_TASK = "Load the order, then fetch the prices, then fetch the stock."
SEQUENCE = anchored(
    ("Load the order,", '.then("load", load_order)'),
    ("then fetch the prices,", '.then("prices", fetch_prices)'),
    ("then fetch the stock.", '.then("stock", fetch_stock)'),
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
        (4, "Load the order,"),
        (6, "then fetch the prices,"),
        (8, "then fetch the stock."),
    ]


def test_a_free_text_step_the_task_never_asked_for_is_cad701():
    """In free text, a step whose words are not the task's is reported at its line."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    assert codes(extra, SEQUENCE_TASK) == ["CAD701"]
    assert codes(extra, SEQUENCE_TASK, anchored=True) == []  # anchored words are the task's


def test_a_part_of_the_task_no_step_quotes_is_not_a_finding():
    """Words no step covers may be context, a lead-in or a remark ("We run a small shop."):
    which of them are actions is the model's call, not a word list's."""
    dropped = SEQUENCE.replace('    # Load the order,\n    .then("load", load_order)\n', "")
    assert codes(dropped, "We run a shop. " + SEQUENCE_TASK) == []


def test_parallel_words_over_a_then_are_cad703_once():
    """A step whose words say 'at the same time' is a .then: one CAD703 (the whole-task check
    is not repeated)."""
    task = "Load the order, then fetch the prices and the stock at the same time."
    seq = anchored(
        ("Load the order,", '.then("load", load_order)'),
        ("then fetch the prices and the stock at the same time.", '.then("p", fetch_prices)'),
    )
    assert codes(seq, task) == ["CAD703"]
    both = seq.replace('.then("p", fetch_prices)', '.sync("both", [fetch_prices, fetch_stock])')
    assert codes(both, task) == []


@pytest.mark.parametrize(
    ("words", "call", "message"),
    [
        ("Load the order; it may be interrupted.", '.then("load", load_order)', "interrupted"),
        (
            "If a step fails, report it and carry on.",
            ".on_error(report_failure)",
            "carry on",
        ),
        (
            "If a step fails, report it and stop.",
            ".on_error(report_failure, stop=False)",
            "stop",
        ),
        (
            "Fetch the prices and the stock in parallel; the last write wins.",
            '.sync("s", [fetch_prices, fetch_stock])',
            "conflicting writes",
        ),
    ],
)
def test_an_option_a_steps_words_ask_for_is_cad704(words, call, message):
    """Options named by a cue in the step's own words and missing from the step."""
    src = anchored(("Fetch the stock.", '.then("first", fetch_stock)'), (words, call))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    findings = check_grounding(src, comp, "Fetch the stock. " + words)
    assert [d.code for d in findings] == ["CAD704"], findings
    assert message in findings[0].message


@pytest.mark.parametrize(
    ("task", "call"),
    [
        # The wordings: an otherwise branch the cue list does not know.
        (
            "Load the order. If it is not express, ship it normally; express goes by courier.",
            '.split("s", is_express, [ship_express], [ship_standard])',
        ),
        (
            "Either ship it express or normally, depending on whether it is express.",
            '.split("s", is_express, [ship_express], [ship_standard])',
        ),
        # A structure the task has no cue for.
        ("Price it and count the stock.", '.sync("s", [fetch_prices, fetch_stock])'),
        ("Pay for it.", '.child("pay", payment_flow, merge_payment)'),
        ("Ship it the right way.", '.split("s", is_express, [ship_express], [ship_standard])'),
        ("Load it; tell us if that breaks.", ".on_error(report_failure)"),
        # "otherwise" with no action to do: no branch is asked for.
        (
            "If it is express, ship it express; otherwise leave it.",
            '.split("s", is_express, [ship_express])',
        ),
    ],
)
def test_an_absent_cue_is_unknown_never_a_finding(task, call):
    """A step the task's words have no cue against is never reported: no check says a
    branch, a group, a child or failure handling should not be there."""
    src = chain('Cadence("o", score)', f"# {task}", call)
    assert codes(src, task, anchored=True) == []
    assert codes(src, task) == []


def test_branches_that_fit_the_other_part_of_the_words_are_cad704():
    """A two-branch .split whose notes fit the words the other way round (by name); notes
    sharing no word with either part are unknown, not wrong."""
    words = "If the order is express, ship it express; otherwise ship it standard."
    swapped = anchored((words, '.split("s", is_express, [ship_standard], [ship_express])'))
    assert codes(swapped, words, anchored=True) == ["CAD704"]
    right = swapped.replace("[ship_standard], [ship_express]", "[ship_express], [ship_standard]")
    assert codes(right, words, anchored=True) == []
    unrelated = "If it is big, do the one thing, otherwise the other."
    src = anchored((unrelated, '.split("s", is_express, [load_order], [fetch_stock])'))
    assert codes(src, unrelated, anchored=True) == []


async def _seat(score: OrderScore) -> None:
    """Seat the guests at the table."""


async def _hold(score: OrderScore) -> None:
    """Hold the next table that opens for the guests."""


def _table_free(score: OrderScore) -> bool:
    """Whether a table is free."""
    return True


def test_branches_are_judged_as_a_pair_not_one_note_at_a_time():
    """ "If a table is free, seat the guests, and if not, wait for the next one": the else
    note's name and description share "table" and "guests" with the if part and nothing with
    the otherwise part, but the two notes as written fit the two parts better than swapped
    (regression: a correct answer was flagged and repaired away). The right branches have no
    finding; swapped ones still do."""
    reg = {"table_is_free": _table_free, "seat_guests": _seat, "hold_table": _hold}
    words = "If a table is free, seat the guests, and if not, wait for the next one."

    def found(call: str) -> list[str]:
        src = anchored((words, call))
        comp, diags = parse_composition(src, reg)
        assert comp is not None, diags
        return [d.code for d in check_grounding(src, comp, words, docs=docs_of(reg), anchored=True)]

    assert found('.split("t", table_is_free, [seat_guests], [hold_table])') == []
    assert found('.split("t", table_is_free, [hold_table], [seat_guests])') == ["CAD704"]


def test_a_sync_of_one_note_is_cad703_in_any_language():
    """A .sync with a single note runs nothing in parallel (structural: no word list)."""
    src = anchored(("Lade die Bestellung.", '.sync("load", [load_order])'))
    assert codes(src, "Lade die Bestellung.", anchored=True) == ["CAD703"]


def test_a_structure_the_task_asks_for_and_no_step_has_is_reported():
    """The whole task's cues: failure handling asked for and missing is CAD702."""
    src = anchored(("Load the order.", '.then("load", load_order)'))
    task = "Load the order. On an error, report it."
    assert codes(src, task, anchored=True) == ["CAD702"]


def test_an_answer_without_steps_is_checked_without_crashing():
    """Regression: a composition with no steps has no line to report at; nothing crashes."""
    src = 'Cadence("o", score)'
    comp, _ = parse_composition(src, registry())
    assert comp is not None and comp.steps == ()
    found = check_grounding(src, comp, "Load the order. If anything fails, report it.")
    assert [d.code for d in found] == ["CAD702"] and found[0].line == 1


def test_every_eval_reference_and_worked_example_is_clean():
    """The checks do not flag the development set's references or the retired held-out
    sets' (with their tasks as the words and their registries' names), or the pack's worked
    examples."""
    retired = [*sorted((EVALS / "heldout").glob("*.jsonl")), *(EVALS / "heldout2").glob("*.jsonl")]
    files = [EVALS / "tasks.jsonl", *retired]
    for t in (json.loads(x) for f in files for x in f.read_text().splitlines() if x):
        comp, _ = parse_composition(t["reference"], None)
        assert comp is not None
        docs = {n: doc for n, (_, doc) in t["registry"].items()}
        named: dict[str, list[str]] = {}
        for name, (role, _) in t["registry"].items():
            named.setdefault(role, []).append(name)
        found = check_grounding(
            t["reference"], comp, t["task"], docs=docs, notes=named.get("note", ()), entries=named
        )
        assert found == [], t["id"]
    for ex in _prompts.examples():
        comp, _ = parse_composition(ex["answer"], None)
        assert comp is not None
        docs = {n: doc for n, (_, doc) in ex["registry"].items()}
        assert check_grounding(ex["answer"], comp, ex["task"], docs=docs) == [], ex["task"]


async def test_findings_go_back_for_a_repair_and_the_fixed_answer_is_built():
    """A free-text answer with an extra step gets one reground round naming it and the task."""
    extra = (
        SEQUENCE[:-2]
        + '\n    # ship it with the express courier\n    .then("ship", ship_express)\n)'
    )
    model = ScriptedModel([fenced(extra), fenced(SEQUENCE)])
    gen = await generate_cadence(model, SEQUENCE_TASK, registry(), OrderScore, mode="text")
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
    gen = await generate_cadence(
        model, SEQUENCE_TASK, registry(), OrderScore, mode="text", max_repairs=2
    )
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
    gen = await generate_cadence(
        model, SEQUENCE_TASK, registry(), OrderScore, mode="text", ground=False
    )
    assert gen.ok and gen.repairs == 0 and gen.diagnostics == ()


def test_first_fix_never_asks_for_a_method_the_registry_cannot_fill():
    """Words asking for a child cadence over a .then are no fix when there is no child
    cadence to run."""
    src = anchored(("run the billing cadence as a child cadence", '.then("b", load_order)'))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    assert first_fix(src, comp, {}, ["then", "sync"]) is None
    found = first_fix(src, comp, {}, ["then", "sync", "child"])
    assert found is not None and found[0] == 0 and found[1].finding.code == "CAD703"


def test_words_deciding_on_a_registry_condition_over_another_method_are_cad703():
    """A decision cue plus a condition that fits the words (by its name and description) over
    a .then is CAD703 with a .split fix; the cue alone ("if that breaks") is not."""
    words = "If the order is an express order, ship it with the express courier."
    src = anchored((words, '.then("ship", ship_express)'))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    docs = docs_of(registry())
    found = check_grounding(src, comp, words, docs=docs, conditions=["is_express"])
    assert [d.code for d in found] == ["CAD703"] and "is_express" in found[0].message
    fix = first_fix(src, comp, docs, ["then", "split"], ["is_express"])
    assert fix is not None and fix[1].kind == "split"
    # The other branch's note is named too: still a decision, not two steps' words in one.
    both = words[:-1] + "; otherwise ship it standard."
    src = anchored((both, '.then("ship", ship_express)'))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    fix = first_fix(src, comp, docs, ["then", "split"], ["is_express"], ["ship_standard"])
    assert fix is not None and fix[1].kind == "split" and fix[1].cut is None
    loose = "If that breaks, load the order again."
    src = anchored((loose, '.then("load", load_order)'))
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    assert check_grounding(src, comp, loose, docs=docs, conditions=["is_express"]) == []


ROLES = {"note": ["load_order", "fetch_prices", "fetch_stock", "ship_express", "ship_standard"]}
ENTRIES = {**ROLES, "handler": ["report_failure"], "cadence": ["payment_flow"]}
ALL = ["then", "sync", "split", "child", "on_error"]


def fix_of(*steps: tuple[str, str]) -> object:
    src = anchored(*steps)
    comp, _ = parse_composition(src, registry())
    assert comp is not None
    docs = docs_of(registry())
    return first_fix(src, comp, docs, ALL, ["is_express"], ROLES["note"], ENTRIES)


def test_words_naming_an_unused_handler_over_a_then_ask_for_an_on_error():
    """Words that name a registry handler no step uses (every word of its name), over a .then
    of another note, are that handler's step: the fix is an .on_error there, not a cut."""
    found = fix_of(
        ("Load the order.", '.then("load", load_order)'),
        ("If something breaks, report the failure.", '.then("prices", fetch_prices)'),
    )
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 1 and fix.kind == "on_error" and fix.cut is None
    assert "report_failure" in fix.finding.message


def test_words_naming_the_steps_own_note_and_an_unused_child_are_cut():
    """A .then whose words name its own note and then a child cadence no step runs holds two
    steps' words: they are cut after the punctuation between the two."""
    found = fix_of(("Load the order, then hand it to the payment flow.", '.then("l", load_order)'))
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 0 and fix.cut == 2 and "payment_flow" in fix.finding.message


def test_a_split_whose_words_open_with_an_unused_note_is_cut_before_the_decision():
    """A .split's words that name a note no step uses wholly before the split's own notes
    hold that step too: cut at the first punctuation after it; a note named among the
    branches' words (a .split names several by nature) is no finding."""
    words = "Fetch the prices first. If the order is express, ship it express; otherwise ship it standard."
    split = '.split("s", is_express, [ship_express], [ship_standard])'
    found = fix_of((words, split))
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 0 and fix.cut == 3 and "fetch_prices" in fix.finding.message
    later = (
        "If the order is express, ship it express; otherwise ship it standard and fetch the prices."
    )
    assert fix_of((later, split)) is None


@pytest.mark.parametrize(
    ("text", "child"),
    [
        ("Could this be written as a cadence?", False),
        ("Send the report to the child's school.", False),
        ("Then run the shipping cadence as a child cadence.", True),
        ("Hand it to the fraud sub-workflow.", True),
    ],
)
def test_the_child_cue_asks_for_a_child_cadence_not_the_word(text, child):
    """The child cue is a child cadence or sub-flow, not "cadence" or "child" on its own (a
    false task-level .child finding the retired held-out sets exposed)."""
    from cadence_llm._wording import features

    assert ("child" in features(text)) is child


def test_a_sync_whose_words_end_with_an_unused_note_in_any_form_is_cut_after_it():
    """A .sync whose words go on to name a note no step runs (its name's words inflected:
    "shipping ... standard") is cut at the last punctuation after its own notes."""
    words = "Fetch the prices and the stock in parallel. Then go on shipping it standard."
    found = fix_of((words, '.sync("s", [fetch_prices, fetch_stock])'))
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 0 and fix.cut == 7 and "ship_standard" in fix.finding.message


def test_an_on_error_on_words_that_name_an_unused_note_asks_for_its_then():
    """An .on_error whose words name a note no step runs and not its handler is that note's
    step: the fix is a .then there."""
    found = fix_of(
        ("Load the order.", '.then("load", load_order)'),
        ("Ship it standard to finish.", ".on_error(report_failure)"),
    )
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 1 and fix.kind == "then" and "ship_standard" in fix.finding.message


def test_a_note_run_twice_is_flagged_only_where_the_words_do_not_describe_it():
    """A note in two steps is a finding on a .then whose words share nothing with the note's
    name or description; when every step's words describe it, the task asked for it twice."""
    lent = fix_of(
        ("At the shop counter:", '.then("a", load_order)'),
        ("load the order.", '.then("b", load_order)'),
    )
    assert lent is not None
    index, fix = lent  # type: ignore[misc]
    assert index == 0 and fix.taken == {"load_order"} and fix.finding.code == "CAD703"
    twice = fix_of(
        ("Load the order,", '.then("a", load_order)'),
        ("then load the order again.", '.then("b", load_order)'),
    )
    assert twice is None


def test_words_naming_an_unused_note_before_the_steps_own_are_cut_just_before_its_part():
    """An unused note named first and the step's own entry after it: the cut falls at the last
    punctuation before the step's own part, not at the first one after the note's name."""
    words = "Then fetch the prices (e.g. from the list). If something breaks, report the failure."
    found = fix_of((words, ".on_error(report_failure)"))
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 0 and fix.cut == 7 and "fetch_prices" in fix.finding.message


def test_a_group_that_lists_a_note_twice_is_written_again_in_any_language():
    """A .split branch or a .sync naming one note twice (small models pad a step that asks
    for no action this way) is a structural finding: the step is written again as another
    method or a remark. No word list is read, so the words may be in any language."""
    padded = fix_of(
        ("Lade die Bestellung,", '.then("load", load_order)'),
        ("und dann nichts weiter.", '.split("s", is_express, [ship_express, ship_express])'),
    )
    assert padded is not None
    index, fix = padded  # type: ignore[misc]
    assert (index, fix.kind, dict(fix.force), fix.cut) == (1, None, {}, None)
    assert fix.finding.code == "CAD703" and "ship_express twice" in fix.finding.message
    sync = fix_of(("Preise holen.", '.sync("p", [fetch_prices, fetch_stock, fetch_prices])'))
    assert sync is not None and "fetch_prices twice" in sync[1].finding.message  # type: ignore[index]
    once = fix_of(("Preise holen.", '.split("s", is_express, [ship_express], [ship_standard])'))
    assert once is None or "twice" not in once[1].finding.message  # type: ignore[index]


def test_an_on_error_a_later_one_replaces_is_written_again():
    """A cadence keeps its last .on_error, so an earlier one is dead code: a structural
    finding on the earlier one (its words belong to another step or a remark), none on the
    last."""
    found = fix_of(
        ("Lade die Bestellung.", '.then("load", load_order)'),
        ("Das darf nichts anhalten.", ".on_error(report_failure)"),
        ("Fehler melden.", ".on_error(report_failure, stop=False)"),
    )
    assert found is not None
    index, fix = found  # type: ignore[misc]
    assert index == 1 and fix.kind is None and "later .on_error" in fix.finding.message
    single = fix_of(
        ("Lade die Bestellung.", '.then("load", load_order)'),
        ("Fehler melden.", ".on_error(report_failure)"),
    )
    assert single is None


def test_a_decision_needs_two_different_words_of_a_condition_not_one_word_of_its_name():
    """ "When an impression arrives" shares one word with impression_is_usable: an event, not a
    decision on it, so no .split is asked for; "when the impression is usable" shares two."""
    from cadence_llm._grounding import decided_by

    docs = {
        "impression_is_usable": "True when the impression shows clear margins.",
        "is_rush_case": "True when the practice paid for next-day turnaround.",
    }
    conditions = list(docs)
    assert decided_by("When an impression arrives, log it.", docs, conditions) is None
    found = decided_by("When the impression is usable, scan it.", docs, conditions)
    assert found == "impression_is_usable"
    assert (
        decided_by("If it is a rush case, ship it overnight.", docs, conditions) == "is_rush_case"
    )
