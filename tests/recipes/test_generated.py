"""recipes.generated: a model-written cadence, validated, repaired, drawn and run."""

from __future__ import annotations

from cadence_llm import FunctionModel, ScriptedModel
from recipes import generated
from tests.recipes.conftest import COMPOSITION


async def test_accepted_cadence_is_drawn_and_run(fake_model: FunctionModel) -> None:
    """The model's composition is built from the registry and run; .sync tasks both ran."""
    out = await generated.build(fake_model).run()
    assert out.rounds[0] == "round 0: accepted"
    assert "flowchart TD" in out.diagram and "track_shipment" in out.diagram
    assert out.result is not None
    assert out.result.done[0] == "load_order" and out.result.done[-1] == "draft_reply"
    assert set(out.result.done[1:3]) == {"track_shipment", "fetch_return_policy"}
    assert "arriving Thursday" in out.result.reply


async def test_unknown_name_is_repaired() -> None:
    """A name outside the registry is reported with a hint and fixed in the next round."""
    bad = COMPOSITION.replace("fetch_return_policy", "fetch_policy")
    model = ScriptedModel([bad, COMPOSITION])
    out = await generated.build(model).run()
    assert out.repairs == 1
    assert "CAD201" in out.rounds[0] and "fetch_return_policy" in out.rounds[0]
    assert "fetch_policy" in model.requests[1].messages[-1].content
    assert out.result is not None


async def test_unrepairable_answer_is_reported_not_run() -> None:
    """After the repair rounds a rejected answer leaves nothing to run, and says so."""
    model = ScriptedModel(["import os"], repeat=True)
    out = await generated.build(model).run()
    assert model.calls == 3
    assert out.built is None and out.result is None
    assert out.rounds[-1] == "no accepted cadence: nothing to run"


async def test_registry_docstrings_reach_the_prompt() -> None:
    """The model sees each registry note with its docstring and the score's fields."""
    model = ScriptedModel([COMPOSITION])
    await generated.build(model).run()
    prompt = model.requests[0].messages[-1].content
    assert "track_shipment" in prompt and "Ask the carrier" in prompt and "order_id" in prompt


async def test_task_findings_are_shown_and_the_faithful_answer_runs() -> None:
    """A valid answer that runs in sequence what the task says to do "at the same time" is
    reported as a task finding; the repaired answer is the one drawn and run."""
    stray = COMPOSITION.replace(
        '.sync("lookup", [track_shipment, fetch_return_policy])',
        '.then("track", track_shipment)\n    .then("policy", fetch_return_policy)',
    )
    model = ScriptedModel([stray, COMPOSITION])
    out = await generated.build(model).run()
    assert out.rounds[0].startswith("round 0: valid, but CAD703")
    assert out.rounds[1] == "round 1: accepted"
    assert ".sync(" in out.source and out.result is not None
