"""generate_cadence: validate, send diagnostics back, repair in bounded rounds, build safely."""

from __future__ import annotations

import json

import pytest

from cadence import Cadence
from cadence_llm.codegen import CodegenError, generate_cadence
from cadence_llm.messages import AssistantMessage, UserMessage
from cadence_llm.models.scripted import ScriptedModel

from .support import GOOD, TASK, OrderScore, fenced, registry

BROKEN = GOOD.replace(".sync(", ".parallel(")


async def test_first_answer_accepted_and_built():
    """A valid first answer is built into a runnable Cadence with no repair."""
    model = ScriptedModel([fenced(GOOD)])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="text")
    assert gen.ok and gen.repairs == 0 and isinstance(gen.cadence, Cadence)
    result = await gen.cadence.run(OrderScore())
    assert result.trace[0] == "load" and set(result.trace[1:3]) == {"prices", "stock"}
    assert result.trace[3] == "express"


async def test_fixed_after_one_round():
    """A rejected answer's diagnostics go back to the model; the repaired answer is built."""
    model = ScriptedModel([fenced(BROKEN), fenced(GOOD)])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="text")
    assert gen.ok and gen.repairs == 1 and gen.cadence is not None
    repair = model.requests[1].messages[-1]
    assert isinstance(repair, UserMessage)
    assert (
        "line 4" in repair.content
        and ".parallel()" in repair.content
        and "use .sync" in repair.content
    )
    assert isinstance(model.requests[1].messages[-2], AssistantMessage)
    assert not gen.attempts[0].ok and gen.attempts[1].ok


async def test_gives_up_after_n_rounds_with_all_diagnostics():
    """After max_repairs failed repairs, CodegenError carries every attempt and the last errors."""
    bad = GOOD.replace("load_order", "load_orders").replace(".sync(", ".parallel(")
    model = ScriptedModel([fenced(bad)], repeat=True)
    with pytest.raises(CodegenError) as info:
        await generate_cadence(model, TASK, registry(), OrderScore, mode="text", max_repairs=3)
    err = info.value
    assert model.calls == 4 and len(err.generation.attempts) == 4
    codes = {d.code for d in err.diagnostics}
    assert codes == {"CAD101", "CAD201"}
    assert "load_orders" in str(err) and "parallel" in str(err)
    assert err.code == "CODEGEN_FAILED"


async def test_no_raise_returns_the_failed_generation():
    """raise_on_failure=False returns the failure for callers (evals) to inspect."""
    model = ScriptedModel([fenced(BROKEN)], repeat=True)
    gen = await generate_cadence(
        model, TASK, registry(), OrderScore, mode="text", max_repairs=0, raise_on_failure=False
    )
    assert not gen.ok and gen.cadence is None and gen.repairs == 0
    assert any(d.code == "CAD101" for d in gen.diagnostics)


async def test_context_stays_bounded_over_rounds():
    """Each repair request carries only the latest failed answer, not every earlier one."""
    model = ScriptedModel([fenced(BROKEN)] * 3 + [fenced(GOOD)])
    await generate_cadence(model, TASK, registry(), OrderScore, mode="text", max_repairs=3)
    sizes = [len(r.messages) for r in model.requests]
    assert sizes[1] == sizes[2] == sizes[3] == sizes[0] + 2


async def test_usage_and_timing_are_summed():
    """The generation adds up tokens over its attempts."""
    model = ScriptedModel([fenced(BROKEN), fenced(GOOD)])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="text")
    assert gen.usage.output_tokens == sum(a.usage.output_tokens for a in gen.attempts) > 0
    assert gen.seconds >= 0


async def test_grammar_mode_sends_the_narrowed_grammar():
    """Grammar mode puts the registry-narrowed GBNF in the request for llama.cpp."""
    model = ScriptedModel([GOOD])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="grammar")
    assert gen.ok
    grammar = model.requests[0].extra["grammar"]
    assert 'r-condition ::= "is_express"' in grammar
    # Worked examples are shown unfenced, like the grammar forces the answer to be.
    assert not model.requests[0].messages[2].content.startswith("```")


PLAN_TASK = (
    "Load the order, then run the payment cadence and merge its result back. "
    "If a step fails, report it and carry on."
)
PLAN = {
    "name": "order",
    "steps": [
        {"covers": "Load the order,", "kind": "then", "task": "load_order"},
        {
            "covers": "then run the payment cadence and merge its result back.",
            "kind": "child",
            "cadence": "payment_flow",
            "merge": "merge_payment",
        },
        {
            "covers": "If a step fails, report it and carry on.",
            "kind": "on_error",
            "handler": "report_failure",
            "stop": False,
        },
    ],
}


@pytest.mark.parametrize("mode", ["plan", "json"])
async def test_a_provider_gets_the_plan_schema_and_the_plan_is_built(mode):
    """The default mode (and "json") asks a provider-style model for the registry-narrowed plan
    schema under structured output; the plan is rendered, with each step's words as its
    comment and library-written step names, and built."""
    model = ScriptedModel([json.dumps(PLAN)])
    gen = await generate_cadence(model, PLAN_TASK, registry(), OrderScore, mode=mode)
    assert gen.ok and gen.cadence is not None and gen.diagnostics == ()
    fmt = model.requests[0].response_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.name == "plan"
    assert "extra" not in model.requests[0].model_fields_set or not model.requests[0].extra
    assert gen.source.splitlines()[2:4] == [
        "    # Load the order,",
        '    .then("load_order", load_order)',
    ]
    result = await gen.cadence.run(OrderScore())
    assert result.trace == ["load", "merged"]


async def test_the_local_model_gets_the_anchored_plan_grammar():
    """constrain="grammar" (what "auto" picks for LocalModel) sends a GBNF plan grammar
    narrowed to the registry, each step's covers anchored to the task's words."""
    model = ScriptedModel([json.dumps(PLAN)])
    gen = await generate_cadence(
        model, PLAN_TASK, registry(), OrderScore, constrain="grammar", ground=False
    )
    assert gen.ok and model.requests[0].response_format is None
    grammar = model.requests[0].extra["grammar"]
    assert '"\\"payment_flow\\""' in grammar and 'w0 ::= "Load"' in grammar


async def test_bad_json_is_repaired():
    """An answer that is not JSON gets a diagnostic and a repair round."""
    plan = {
        "name": "o",
        "steps": [{"covers": "Load the order.", "kind": "then", "task": "load_order"}],
    }
    model = ScriptedModel(["not json", json.dumps(plan)])
    gen = await generate_cadence(model, "Load the order.", registry(), OrderScore)
    assert gen.repairs == 1 and gen.ok
    repair = model.requests[1].messages[-1].content
    assert "not valid JSON" in repair and "JSON object" in repair and "```python" not in repair


async def test_bad_arguments_fail_early():
    """An unknown mode, negative repairs or an empty registry raise before any model call."""
    model = ScriptedModel(["x"])
    with pytest.raises(ValueError, match="mode"):
        await generate_cadence(model, TASK, registry(), mode="yaml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="constrain"):
        await generate_cadence(model, TASK, registry(), constrain="regex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_repairs"):
        await generate_cadence(model, TASK, registry(), max_repairs=-1)
    with pytest.raises(ValueError, match="max_redecodes"):
        await generate_cadence(model, TASK, registry(), max_redecodes=-1)
    with pytest.raises(ValueError, match="registry"):
        await generate_cadence(model, "t", {})
    assert model.calls == 0


async def test_prompt_contains_system_examples_and_registry():
    """The first request is the system prompt with the step kinds, worked examples as plans,
    then the task."""
    model = ScriptedModel([json.dumps(PLAN)])
    await generate_cadence(model, TASK, registry(), OrderScore, ground=False)
    msgs = model.requests[0].messages
    assert msgs[0].role == "system" and '- "split": "condition"' in msgs[0].content
    assert json.loads(msgs[2].content)["steps"][0]["covers"]
    assert msgs[-1].content.endswith(f"Task: {TASK}")
    assert "OrderScore(trace: list[str], express: bool)" in msgs[-1].content
    assert len(msgs) == 2 + 2 * 3  # the three worked examples closest to the task


async def test_examples_are_chosen_by_the_structures_the_task_asks_for():
    """A task asking for parallel work and a decision is shown examples using .sync and .split."""
    model = ScriptedModel([fenced(GOOD)])
    task = "Load it. Then price it and pack it at the same time. If it is express, ship it."
    await generate_cadence(
        model, task, registry(), OrderScore, mode="text", examples=2, ground=False
    )
    msgs = model.requests[0].messages
    answers = [m.content for m in msgs[1:-1] if m.role == "assistant"]
    assert len(answers) == 2
    assert ".sync(" in answers[-1] and ".split(" in answers[-1]  # the closest comes last
    model = ScriptedModel([fenced(GOOD)])
    await generate_cadence(model, TASK, registry(), mode="text", examples=False)
    assert [m.role for m in model.requests[0].messages] == ["system", "user"]


def test_the_former_name_of_answer_is_an_alias():
    """cadence_llm.codegen.Attempt, the former name, is Answer itself."""
    from cadence_llm import codegen

    assert codegen.Attempt is codegen.Answer


async def test_an_answer_cut_off_by_a_length_limit_says_so():
    """An answer that stopped at max_tokens or the context window is reported as cut off (with
    the numbers and what to raise), ahead of the syntax error it causes; the repair turn says so."""
    from cadence_llm.messages import ModelResponse, Usage

    cut = ModelResponse(
        text=fenced(GOOD)[: len(fenced(GOOD)) // 2],
        finish_reason="length",
        usage=Usage(input_tokens=2003, output_tokens=45),
    )
    model = ScriptedModel([cut, fenced(GOOD)])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="text", max_tokens=45)
    assert gen.ok and gen.repairs == 1
    first = gen.attempts[0].diagnostics[0]
    assert first.is_error and "cut off" in first.message
    assert "max_tokens=45" in first.message and "the prompt took 2003" in first.message
    assert "n_ctx" in first.hint
    assert "cut off" in str(model.requests[1].messages[-1].content)


async def test_a_valid_answer_that_hit_the_limit_is_not_flagged():
    """finish_reason 'length' on an answer that is valid adds nothing."""
    from cadence_llm.messages import ModelResponse

    model = ScriptedModel([ModelResponse(text=fenced(GOOD), finish_reason="length")])
    gen = await generate_cadence(model, TASK, registry(), OrderScore, mode="text")
    assert gen.ok and not any("cut off" in d.message for d in gen.attempts[0].diagnostics)
