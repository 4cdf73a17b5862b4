"""cadence_tool (a cadence as a tool) and Tool(parameters=...) (a schema from elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from cadence import Cadence, Score
from cadence.exceptions import CadenceDefinitionError
from cadence_llm import Tool, ToolArgumentsError, ToolBox, ToolCall, cadence_tool


@dataclass
class Order(Score):
    """Place an order."""

    sku: str
    quantity: int = 1
    total: float = 0.0
    lines: list[str] = field(default_factory=list)


def price(score: Order) -> None:
    score.total = 3.0 * score.quantity
    score.lines.append(score.sku)


orders = Cadence("place-order", Order(sku="")).then("price", price)


class Ticket(BaseModel):
    text: str
    priority: int = 3
    tags: list[str] = []
    answer: str = ""


async def test_schema_comes_from_the_score_fields() -> None:
    """Fields become parameters (required without a default); default factories stay out."""
    t = cadence_tool(orders)
    assert t.name == "place-order"
    assert t.description == "Place an order."
    assert t.parameters["required"] == ["sku"]
    assert set(t.parameters["properties"]) == {"sku", "quantity", "total"}


async def test_each_call_runs_the_cadence_on_a_fresh_score() -> None:
    """Two calls run two scores; the result is the final score, the template is untouched."""
    box = ToolBox([cadence_tool(orders, output="total"), cadence_tool(orders, name="full")])
    first, second = await box.run(
        [
            ToolCall(id="1", name="place-order", arguments='{"sku": "A", "quantity": 2}'),
            ToolCall(id="2", name="full", arguments='{"sku": "B"}'),
        ]
    )
    assert first.value == 6.0
    assert second.value == {"sku": "B", "quantity": 1, "total": 3.0, "lines": ["B"]}
    assert orders.score.lines == []


async def test_pydantic_scores_and_output_functions() -> None:
    """A pydantic score works; output= may be a function of the final score."""

    def answer(score: Ticket) -> None:
        score.answer = f"P{score.priority}: {score.text}"

    desk = Cadence("desk", Ticket(text="")).then("answer", answer)
    t = cadence_tool(desk, inputs=["text", "priority"], output=lambda s: s.answer.upper())
    assert t.parameters["required"] == ["text"]
    [outcome] = await ToolBox([t]).run([ToolCall(id="1", name="desk", arguments='{"text": "hi"}')])
    assert outcome.value == "P3: HI"


def test_bad_cadence_tools_fail_at_definition() -> None:
    """Unknown inputs/outputs, required fields left out, non-cadences: clear errors."""
    with pytest.raises(CadenceDefinitionError, match="not fields of Order"):
        cadence_tool(orders, inputs=["skew"])
    with pytest.raises(CadenceDefinitionError, match=r"\['sku'\].*must be in inputs"):
        cadence_tool(orders, inputs=["quantity"])
    with pytest.raises(CadenceDefinitionError, match="output 'price'"):
        cadence_tool(orders, output="price")
    with pytest.raises(CadenceDefinitionError, match="needs a Cadence"):
        cadence_tool(price)  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="dataclass or pydantic"):
        cadence_tool(Cadence("plain", object()))


async def test_given_parameters_are_shown_and_checked() -> None:
    """Tool(parameters=...) shows that schema and passes a JSON object through as kwargs."""
    seen: list[dict[str, object]] = []

    async def remote(**arguments: object) -> str:
        seen.append(arguments)
        return "done"

    schema = {"properties": {"q": {"type": "string"}}, "required": ["q"]}
    t = Tool(remote, name="search", description="Search.", parameters=schema)
    assert t.parameters == {"type": "object", **schema}
    assert t.validate('{"q": "x", "extra": 1}') == {"q": "x", "extra": 1}
    for bad, problem in (("[1]", "expected a JSON object"), ("{", "not valid JSON"), ("{}", "'q'")):
        with pytest.raises(ToolArgumentsError, match=problem):
            t.validate(bad)
    [outcome] = await ToolBox([t]).run([ToolCall(id="1", name="search", arguments='{"q": "y"}')])
    assert outcome.ok and seen == [{"q": "y"}]


def test_given_parameters_must_be_an_object_schema() -> None:
    """A schema that is not an object schema is refused when the tool is made."""

    async def remote(**arguments: object) -> str:
        return ""

    with pytest.raises(CadenceDefinitionError, match="schema of an object"):
        Tool(remote, name="x", parameters={"type": "array"})
    with pytest.raises(CadenceDefinitionError, match="'required' must be a list"):
        Tool(remote, name="x", parameters={"type": "object", "required": "q"})
