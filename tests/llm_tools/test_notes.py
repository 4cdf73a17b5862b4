"""llm_note and classify: LLM steps in the DSL, templates filled from score fields."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from cadence import Cadence, CadenceDefinitionError, NoteError, Score
from cadence_llm import PromptTemplateError, ScriptedModel, classify, llm_note
from cadence_llm.notes import fill_template, template_fields


@dataclass
class Ticket(Score):
    query: str = "My invoice is wrong"
    customer: str = "Ada"
    intent: str = ""
    answer: str = ""
    routed_to: str = ""


async def test_llm_note_fills_the_prompt_and_writes_the_answer() -> None:
    """The prompt is filled from score fields and the reply lands in the into field."""
    model = ScriptedModel(["We will fix it."])
    flow = Cadence("support", Ticket()).then(
        "answer",
        llm_note(
            model,
            prompt="{customer} asks: {query}",
            system="Support for {customer}.",
            into="answer",
        ),
    )
    result = await flow.run()
    assert result.answer == "We will fix it."
    sent = model.requests[0].messages
    assert (
        sent[0].content == "Support for Ada." and sent[1].content == "Ada asks: My invoice is wrong"
    )


async def test_llm_note_with_response_model_writes_a_validated_object() -> None:
    """With response_model the field receives the validated pydantic object."""

    class Summary(BaseModel):
        topic: str

    @dataclass
    class Doc(Score):
        text: str = "..."
        summary: Summary | None = None

    model = ScriptedModel(['{"wrong": 1}', '{"topic": "billing"}'])
    result = (
        await Cadence("d", Doc())
        .then("sum", llm_note(model, prompt="{text}", into="summary", response_model=Summary))
        .run()
    )
    assert result.summary == Summary(topic="billing") and model.calls == 2


async def test_missing_template_field_names_the_field_and_the_fields_that_exist() -> None:
    """A placeholder for an absent field fails the step with PromptTemplateError."""
    flow = Cadence("s", Ticket()).then(
        "answer", llm_note(ScriptedModel(["x"]), prompt="Re: {subject}", into="answer")
    )
    with pytest.raises(NoteError) as info:
        await flow.run()
    error = info.value.original_error
    assert isinstance(error, PromptTemplateError)
    assert (
        "'subject'" in error.message and "query" in error.message and "{subject}" in error.message
    )


def test_templates_are_checked_when_the_note_is_built() -> None:
    """Malformed templates, positional placeholders and bad into names fail at definition."""
    model = ScriptedModel(["x"])
    with pytest.raises(CadenceDefinitionError, match="invalid prompt template"):
        llm_note(model, prompt="Hello {name", into="answer")
    with pytest.raises(CadenceDefinitionError, match="positional"):
        llm_note(model, prompt="Hello {}", into="answer")
    with pytest.raises(CadenceDefinitionError, match="into"):
        llm_note(model, prompt="Hi", into="not a field")


def test_template_helpers_handle_attributes_indexes_dicts_and_escapes() -> None:
    """Placeholders may reach into attributes and items; {{ }} stay literal; dict scores work."""
    assert template_fields("{a.b} {c[0]} {a} {{x}}") == ("a", "c")
    assert fill_template("{items[1]} {{ok}}", {"items": ["x", "y"]}) == "y {ok}"
    with pytest.raises(PromptTemplateError, match="'missing'"):
        fill_template("{missing}", {"items": []})


async def test_classify_routes_a_split_and_calls_the_model_once() -> None:
    """classify writes the label; split conditions reuse it instead of asking again."""
    model = ScriptedModel([json.dumps({"label": "billing"})])
    route = classify(model, labels=["billing", "technical", "other"], text="{query}", into="intent")

    def to_billing(score: Ticket) -> None:
        score.routed_to = "billing desk"

    def to_helpdesk(score: Ticket) -> None:
        score.routed_to = "helpdesk"

    flow = (
        Cadence("support", Ticket())
        .then("classify", route)
        .split("is_billing", route.is_("billing"), if_true=[to_billing], if_false=[to_helpdesk])
        .split("is_technical", route.is_("technical"), if_true=[to_helpdesk])
    )
    result = await flow.run()
    assert result.intent == "billing" and result.routed_to == "billing desk"
    assert model.calls == 1
    fmt = model.requests[0].response_format
    assert fmt is not None and fmt.schema_ is not None
    assert fmt.schema_["properties"]["label"]["enum"] == ["billing", "technical", "other"]


async def test_classify_condition_classifies_when_no_label_is_stored() -> None:
    """Used directly as a split condition, the classifier asks the model and stores the label."""
    model = ScriptedModel(['{"label": "other"}'])
    route = classify(model, labels=["billing", "other"])
    flow = Cadence("s", Ticket()).split("billing?", route.is_("billing"), if_true=[lambda s: None])
    result = await flow.run()
    assert result.intent == "other" and model.calls == 1


async def test_classify_re_asks_when_the_label_is_not_allowed() -> None:
    """An answer outside the labels is re-asked like any invalid structured answer."""
    model = ScriptedModel(['{"label": "refund"}', '{"label": "billing"}'])
    route = classify(model, labels=["billing", "other"], into=None)
    assert await route.label(Ticket()) == "billing"
    assert "billing" in model.requests[1].messages[-1].content


def test_classify_rejects_bad_labels() -> None:
    """Fewer than two labels, duplicates, or is_() with an unknown label fail at definition."""
    model = ScriptedModel(["x"])
    with pytest.raises(CadenceDefinitionError, match="labels"):
        classify(model, labels=["only"])
    with pytest.raises(CadenceDefinitionError, match="labels"):
        classify(model, labels=["a", "a"])
    with pytest.raises(CadenceDefinitionError, match="not one of its labels"):
        classify(model, labels=["a", "b"]).is_("c")
