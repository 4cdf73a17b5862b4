"""llm_note and classify at their edges: template safety, into= targets, frozen scores, labels."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ConfigDict

from cadence import Cadence, CadenceDefinitionError, ImmutableScore, NoteError, Score
from cadence_llm import PromptTemplateError, ScriptedModel, classify, llm_note
from cadence_llm.notes import fill_template, template_fields


@dataclass
class Ticket(Score):
    query: str = "Where is {other}?"
    other: str = "SECRET"
    width: int = 8
    intent: str = ""
    answer: str = ""


@dataclass(frozen=True)
class FrozenTicket(ImmutableScore):
    query: str = "My invoice is wrong"
    intent: str = ""
    answer: str = ""


class FrozenModelTicket(BaseModel):
    model_config = ConfigDict(frozen=True)

    query: str = "My invoice is wrong"
    answer: str = ""


class ModelTicket(BaseModel):
    query: str = "My invoice is wrong"
    answer: str = ""


@pytest.mark.parametrize(
    "template",
    [
        "{query.__class__}",
        "{query.__class__.__init__.__globals__}",
        "{__class__}",
        "{query._private}",
        "{query:{__class__}}",
    ],
)
def test_templates_reaching_private_attributes_are_refused_when_built(template: str) -> None:
    """A placeholder walking into a name starting with '_' fails at definition, not at run."""
    with pytest.raises(CadenceDefinitionError, match="private or dunder"):
        llm_note(ScriptedModel(["x"]), prompt=template, into="answer")


def test_score_values_are_never_expanded_as_templates() -> None:
    """A value holding '{other}' is inserted as text; conversions and specs still apply."""
    score = Ticket()
    assert fill_template("Q: {query}", score) == "Q: Where is {other}?"
    assert fill_template("{query!r}", score) == "'Where is {other}?'"
    assert fill_template("[{other:>{width}}]", score) == "[  SECRET]"


def test_fields_inside_format_specs_and_conversions_are_checked_when_built() -> None:
    """Nested spec fields count as fields read; an unknown !conversion fails at definition."""
    assert template_fields("{query:>{width}}") == ("query", "width")
    with pytest.raises(CadenceDefinitionError, match="unknown conversion"):
        llm_note(ScriptedModel(["x"]), prompt="{query!x}", into="answer")
    with pytest.raises(PromptTemplateError, match="'size'"):
        fill_template("{query:>{size}}", Ticket())


@pytest.mark.parametrize(
    ("template", "problem"),
    [("{query.title_case}", "AttributeError"), ("{query:d}", "ValueError")],
)
def test_placeholders_that_do_not_apply_raise_prompt_template_error(
    template: str, problem: str
) -> None:
    """A missing attribute or a wrong format spec names the placeholder, not a bare builtin."""
    with pytest.raises(PromptTemplateError, match=problem) as info:
        fill_template(template, Ticket())
    assert info.value.code == "TEMPLATE_FILL_FAILED" and template in info.value.message


@pytest.mark.parametrize("score", [Ticket(), ModelTicket()], ids=["dataclass", "pydantic"])
async def test_into_a_missing_field_fails_before_the_model_is_called(score: object) -> None:
    """into= a field the score lacks is refused naming the fields, and no model call is paid."""
    model = ScriptedModel(["paid for nothing"])
    flow = Cadence("s", score).then("a", llm_note(model, prompt="{query}", into="reply"))
    with pytest.raises(NoteError) as info:
        await flow.run()
    error = info.value.original_error
    assert isinstance(error, CadenceDefinitionError)
    assert "into='reply'" in error.message and "answer" in error.message
    assert model.calls == 0


async def test_classify_into_a_missing_field_fails_before_the_model_is_called() -> None:
    """classify's default into='intent' on a score without that field fails clearly."""

    @dataclass
    class Plain(Score):
        query: str = "hi"

    model = ScriptedModel(['{"label": "a"}'])
    flow = Cadence("s", Plain()).then("c", classify(model, labels=["a", "b"]))
    with pytest.raises(NoteError, match="into='intent' is not a field of Plain"):
        await flow.run()
    assert model.calls == 0


@pytest.mark.parametrize(
    "score", [FrozenTicket(), FrozenModelTicket()], ids=["ImmutableScore", "frozen-pydantic"]
)
async def test_llm_note_on_a_frozen_score_returns_the_changed_copy(score: object) -> None:
    """A frozen score advances by a returned copy instead of failing on assignment."""
    flow = Cadence("s", score).then(
        "a", llm_note(ScriptedModel(["Fixed."]), prompt="{query}", into="answer")
    )
    result = await flow.run()
    assert result.answer == "Fixed." and score.answer == ""  # type: ignore[attr-defined]


async def test_classify_routes_a_frozen_score() -> None:
    """classify stores the label in a copy of a frozen score; its splits reuse it."""
    model = ScriptedModel(['{"label": "billing"}'])
    route = classify(model, labels=["billing", "other"])
    seen: list[str] = []
    flow = (
        Cadence("s", FrozenTicket())
        .then("classify", route)
        .split("billing?", route.is_("billing"), if_true=[lambda s: seen.append(s.intent)])
    )
    result = await flow.run()
    assert result.intent == "billing" and seen == ["billing"] and model.calls == 1


def test_labels_that_a_model_cannot_tell_apart_are_refused() -> None:
    """A string, case/space variants, blank labels: refused when the classifier is built."""
    model = ScriptedModel(["x"])
    with pytest.raises(CadenceDefinitionError, match="list of strings"):
        classify(model, labels="ab")
    with pytest.raises(CadenceDefinitionError, match="differ only in case"):
        classify(model, labels=["Billing", "billing"])
    with pytest.raises(CadenceDefinitionError, match="differ only in case"):
        classify(model, labels=["billing", "billing "])
    with pytest.raises(CadenceDefinitionError, match="non-empty"):
        classify(model, labels=["billing", "   "])
    with pytest.raises(CadenceDefinitionError, match="twice"):
        classify(model, labels=["a", "b", "a"])


@pytest.mark.parametrize(
    "answer",
    ['{"label": "Billing"}', '{"label": " billing "}', '{"label": "\\"billing\\""}', '"billing"'],
)
async def test_a_label_in_another_case_or_quoted_is_taken_as_that_label(answer: str) -> None:
    """Case, spaces and quotes around a label do not cost a re-ask; the stored label is exact."""
    model = ScriptedModel([answer])
    route = classify(model, labels=["billing", "other"], into=None, max_retries=0)
    assert await route.label(Ticket()) == "billing"
    fmt = model.requests[0].response_format
    assert fmt is not None and fmt.schema_ is not None
    assert fmt.schema_["properties"]["label"]["enum"] == ["billing", "other"]


def test_retries_and_response_model_are_checked_when_built() -> None:
    """Bad max_retries, a non-pydantic response_model, or a response_format option fail early."""

    class Answer(BaseModel):
        text: str

    model = ScriptedModel(["x"])
    with pytest.raises(CadenceDefinitionError, match="max_retries"):
        llm_note(model, prompt="{query}", into="answer", max_retries=-1)
    with pytest.raises(CadenceDefinitionError, match="max_retries"):
        classify(model, labels=["a", "b"], max_retries="2")  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="response_model"):
        llm_note(model, prompt="{query}", into="answer", response_model=dict)  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="response_format"):
        llm_note(
            model,
            prompt="{query}",
            into="answer",
            response_model=Answer,
            options={"response_format": {"type": "json"}},
        )
