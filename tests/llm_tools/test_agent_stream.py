"""Agent.stream(), agents inside SSE-streamed runs, and typed final output (output_type=)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from cadence import Cadence, CadenceDefinitionError, Score
from cadence.integrations.fastapi import CadenceRouter
from cadence_llm import (
    AgentEvent,
    FallbackChain,
    ScriptedModel,
    ServerError,
    StructuredOutputError,
    agent,
    tool,
)
from cadence_llm.models.scripted import FailMidStream
from tests.integrations._models import parse_sse

from .conftest import calls


@dataclass
class Desk(Score):
    query: str = "Where to?"
    answer: Any = None
    stops: list[str] = field(default_factory=list)


@tool
async def add_stop(score: Desk, place: str) -> str:
    """Add a stop."""
    await asyncio.sleep(0)
    score.stops.append(place)
    return f"added {place}"


class Plan(BaseModel):
    city: str
    days: int = Field(ge=1)


async def test_stream_yields_text_tool_calls_turn_ends_and_the_output() -> None:
    """stream() gives text deltas, tool start/end with call ids, turn ends, then the output."""
    model = ScriptedModel(
        [
            calls(("c1", "add_stop", {"place": "Pier"}), ("c2", "add_stop", {"place": "Fort"})),
            "Pier then the fort.",
        ]
    )
    desk = Desk()
    events = [e async for e in agent(model, [add_stop]).stream(desk)]
    kinds = [e.kind for e in events]
    assert kinds[0] == "turn.started" and kinds[-1] == "output"
    starts = [e.call.id for e in events if e.kind == "tool.started" and e.call]
    ends = [e.outcome.call.id for e in events if e.kind == "tool.completed" and e.outcome]
    assert sorted(starts) == sorted(ends) == ["c1", "c2"]
    assert kinds.index("tool.completed") < kinds.index("turn.completed")
    text = "".join(e.text for e in events if e.kind == "text.delta")
    assert text == "Pier then the fort."
    assert len([e for e in events if e.kind == "text.delta"]) == 4  # streamed word by word
    assert [e.turn for e in events if e.kind == "turn.completed"] == [1, 2]
    final = events[-1]
    assert final.output == "Pier then the fort." and final.result is not None
    assert final.result.tool_calls == 2 and desk.stops == ["Pier", "Fort"]


async def test_stream_raises_the_runs_error_after_the_events_so_far() -> None:
    """A failing model ends the iteration with its error, after the events that happened."""
    model = ScriptedModel([FailMidStream("partial answer", ServerError("boom", status_code=500))])
    seen: list[AgentEvent] = []
    with pytest.raises(ServerError):
        async for event in agent(model, [add_stop]).stream(Desk()):
            seen.append(event)
    assert [e.kind for e in seen] == ["turn.started", "text.delta", "text.delta"]


async def test_leaving_the_stream_early_cancels_the_run() -> None:
    """Breaking out of the loop cancels the agent: the slow tool never finishes."""
    finished: list[str] = []

    @tool
    async def slow(score: Desk) -> str:
        """Slow."""
        await asyncio.sleep(30)
        finished.append("slow")
        return "done"

    model = ScriptedModel([calls(("c1", "slow", {}))])
    stream = agent(model, [slow]).stream(Desk())
    async for event in stream:
        if event.kind == "tool.started":
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0.01)
    assert finished == []


async def test_a_fallback_chain_reset_is_an_event() -> None:
    """A chain failing over mid-stream sends stream.reset, then the next model's text."""
    first = ScriptedModel(
        [FailMidStream("lost words", ServerError("down", status_code=503))], name="a"
    )
    second = ScriptedModel(["kept words"], name="b")
    events = [e async for e in agent(FallbackChain([first, second], retry=1), []).stream(Desk())]
    kinds = [e.kind for e in events]
    reset = kinds.index("stream.reset")
    after = "".join(e.text for e in events[reset:] if e.kind == "text.delta")
    assert after == "kept words" and events[-1].output == "kept words"


async def test_output_type_validates_and_re_asks_with_the_errors() -> None:
    """output_type: an invalid answer goes back with its errors; the valid one is the output."""
    model = ScriptedModel(['{"city": "Oslo", "days": 0}', '{"city": "Oslo", "days": 2}'])
    desk = Desk()
    flow = Cadence("trip", desk).then("plan", agent(model, [add_stop], output_type=Plan))
    result = await flow.run()
    assert result.answer == Plan(city="Oslo", days=2)
    first = model.requests[0]
    assert first.response_format is not None and first.response_format.name == "Plan"
    reask = model.requests[1].messages[-1]
    assert "days" in reask.content and "greater than or equal to 1" in reask.content


async def test_output_retries_are_bounded() -> None:
    """After output_retries re-asks, a still-invalid answer raises StructuredOutputError."""
    model = ScriptedModel(["not json", '{"city": 3}'])
    with pytest.raises(StructuredOutputError) as info:
        await agent(model, [], output_type=Plan, output_retries=1).run(Desk())
    assert model.calls == 2 and info.value.attempts == 2
    assert "output_retries=1" in info.value.message and "Plan" in info.value.message


async def test_json_mode_puts_the_output_schema_in_the_turn_schema() -> None:
    """In JSON mode the answer field's schema is the output type's, and the answer parses."""
    model = ScriptedModel(
        [
            json.dumps(
                {"tool_calls": [{"name": "add_stop", "arguments": {"place": "Pier"}}], "answer": ""}
            ),
            json.dumps({"tool_calls": [], "answer": {"city": "Bergen", "days": 3}}),
        ]
    )
    result = await agent(model, [add_stop], tool_mode="json", output_type=Plan).run(Desk())
    assert result.output == Plan(city="Bergen", days=3)
    schema = model.requests[0].response_format.schema_  # type: ignore[union-attr]
    assert schema is not None
    answer = schema["properties"]["answer"]["anyOf"][0]
    assert set(answer["properties"]) == {"city", "days"}


def test_output_type_must_be_a_pydantic_model() -> None:
    """output_type= and output_retries= are checked when the agent is built."""
    with pytest.raises(CadenceDefinitionError, match="output_type"):
        agent(ScriptedModel(["x"]), [], output_type=dict)  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="output_retries"):
        agent(ScriptedModel(["x"]), [], output_type=Plan, output_retries=-1)


def test_an_agent_in_an_sse_streamed_run_sends_its_events_as_frames() -> None:
    """Behind stream=True the agent streams: agent_* frames with text, call ids and output."""
    model = ScriptedModel(
        [calls(("c1", "add_stop", {"place": "Pier"})), '{"city": "Oslo", "days": 1}'], repeat=True
    )
    planner = agent(model, [add_stop], output_type=Plan, name="planner")
    flow = Cadence("trip", Desk()).then("plan", planner)
    router = CadenceRouter()

    @router.cadence("/trips", flow, stream=True)
    async def create() -> Desk:
        return Desk(query="Oslo?")

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).stream("POST", "/trips") as response:
        events = parse_sse(response.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "run_started" and names[-1] == "result"
    started = next(data for name, data in events if name == "agent_tool_started")
    assert started == {
        "kind": "tool.started",
        "agent": "planner",
        "turn": 1,
        "call_id": "c1",
        "name": "add_stop",
        "arguments": '{"place": "Pier"}',
    }
    done = next(data for name, data in events if name == "agent_tool_completed")
    assert done["call_id"] == "c1" and done["ok"] is True and done["content"] == "added Pier"
    text = "".join(d["text"] for n, d in events if n == "agent_text_delta")
    assert text == '{"city": "Oslo", "days": 1}'
    assert names.count("agent_turn_completed") == 2
    output = next(data for name, data in events if name == "agent_output")
    assert output["output"] == {"city": "Oslo", "days": 1}
    assert events[-1][1]["answer"] == {"city": "Oslo", "days": 1}
    assert events[-1][1]["stops"] == ["Pier"]
