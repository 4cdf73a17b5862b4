"""agent(): the model → tools → model loop with ScriptedModel (turns, limits, errors, resume)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Cadence, CadenceError, ParallelNoteError, Score
from cadence.checkpoint import InMemoryCheckpointStore, SQLiteCheckpointStore
from cadence.events import EventEmitter
from cadence_llm import (
    AgentEvent,
    ModelResponse,
    PromptTemplateError,
    RateLimitedError,
    ScriptedModel,
    ToolMessage,
    TurnLimitError,
    Usage,
    UserMessage,
    agent,
    tool,
)

from .conftest import calls


@dataclass
class Trip(Score):
    query: str = "Plan a day in Oslo"
    answer: str = ""
    stops: list[str] = field(default_factory=list)
    budget: int = 0


executed: list[str] = []


@tool
async def add_stop(score: Trip, place: str) -> str:
    """Add a stop to the trip."""
    executed.append(f"add_stop:{place}")
    score.stops.append(place)
    return f"added {place}"


@tool
def set_budget(score: Trip, amount: int) -> str:
    """Set the budget."""
    executed.append(f"set_budget:{amount}")
    score.budget = amount
    return "ok"


@pytest.fixture(autouse=True)
def _reset() -> None:
    executed.clear()


def usage(i: int, o: int) -> Usage:
    return Usage(input_tokens=i, output_tokens=o)


def with_usage(response: ModelResponse, u: Usage) -> ModelResponse:
    return response.model_copy(update={"usage": u})


async def test_multi_turn_loop_runs_tools_and_returns_the_answer() -> None:
    """Two tool turns then an answer: tools run, results reach the model, usage is summed."""
    model = ScriptedModel(
        [
            with_usage(
                calls(
                    ("c1", "add_stop", {"place": "Museum"}), ("c2", "set_budget", {"amount": 50})
                ),
                usage(10, 5),
            ),
            with_usage(calls(("c3", "add_stop", {"place": "Fjord"})), usage(20, 4)),
            ModelResponse(text="Museum, then the fjord.", usage=usage(30, 6)),
        ]
    )
    trip = Trip()
    result = await agent(model, [add_stop, set_budget], max_turns=5).run(trip)
    assert result.answer == "Museum, then the fjord."
    assert result.turns == 3 and result.tool_calls == 3
    assert result.usage == Usage(input_tokens=60, output_tokens=15)
    assert trip.stops == ["Museum", "Fjord"] and trip.budget == 50
    second = model.requests[1]
    assert [t.name for t in second.tools] == ["add_stop", "set_budget"]
    results = [m for m in second.messages if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.content) for m in results] == [("c1", "added Museum"), ("c2", "ok")]
    assert [m.role for m in result.messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]


async def test_as_a_note_it_fills_the_prompt_and_writes_into() -> None:
    """Used as a step, the agent fills its prompt from the score and writes the answer field."""
    model = ScriptedModel([calls(("c1", "add_stop", {"place": "Park"})), "Go to the park."])
    flow = Cadence("trip", Trip(query="Sunny day?")).then(
        "plan", agent(model, [add_stop], prompt="Plan: {query}", system="You plan trips.")
    )
    result = await flow.run()
    assert result.answer == "Go to the park." and result.stops == ["Park"]
    first = model.requests[0].messages
    assert first[0].content == "You plan trips." and first[1] == UserMessage(
        content="Plan: Sunny day?"
    )


async def test_turn_limit_raises_without_running_the_last_turns_tools() -> None:
    """A model still asking for tools at max_turns gets TurnLimitError; those tools never run."""
    model = ScriptedModel(
        [calls(("c1", "add_stop", {"place": "A"})), calls(("c2", "add_stop", {"place": "B"}))]
    )
    with pytest.raises(TurnLimitError) as info:
        await agent(model, [add_stop], max_turns=2).run(Trip())
    assert executed == ["add_stop:A"]
    assert info.value.max_turns == 2 and info.value.code == "TURN_LIMIT"
    assert info.value.messages[-1].tool_calls[0].id == "c2"  # type: ignore[union-attr]
    assert info.value.usage.total_tokens > 0


async def test_force_final_answer_asks_the_last_turn_for_text() -> None:
    """With force_final_answer the last turn is sent with tool_choice='none'."""
    model = ScriptedModel([calls(("c1", "add_stop", {"place": "A"})), "Done."])
    result = await agent(model, [add_stop], max_turns=2, force_final_answer=True).run(Trip())
    assert result.answer == "Done."
    assert [r.tool_choice for r in model.requests] == [None, "none"]


async def test_bad_arguments_go_back_to_the_model_which_recovers() -> None:
    """Invalid arguments become an error result the model reads, and its next call works."""
    model = ScriptedModel(
        [
            calls(("c1", "set_budget", {"amount": "lots"})),
            calls(("c2", "set_budget", {"amount": 80})),
            "Budget set.",
        ]
    )
    trip = Trip()
    result = await agent(model, [set_budget]).run(trip)
    error = model.requests[1].messages[-1]
    assert isinstance(error, ToolMessage) and error.is_error and error.tool_call_id == "c1"
    assert "amount" in error.content
    assert executed == ["set_budget:80"] and trip.budget == 80 and result.answer == "Budget set."


async def test_unknown_tool_is_reported_to_the_model() -> None:
    """A call to a tool that does not exist gets an error result listing the real tools."""
    model = ScriptedModel([calls(("c1", "book_flight", {})), "Sorry, I cannot book flights."])
    result = await agent(model, [add_stop, set_budget]).run(Trip())
    error = model.requests[1].messages[-1]
    assert isinstance(error, ToolMessage) and error.is_error
    assert "book_flight" in error.content and "add_stop, set_budget" in error.content
    assert result.answer.startswith("Sorry")


async def test_failing_tool_does_not_stop_the_loop() -> None:
    """A tool that raises becomes an error result; the loop goes on to an answer."""

    @tool
    async def weather(city: str) -> str:
        raise ConnectionError("weather service down")

    model = ScriptedModel(
        [calls(("c1", "weather", {"city": "Oslo"}), ("c2", "add_stop", {"place": "Cafe"})), "Cafe."]
    )
    trip = Trip()
    result = await agent(model, [weather, add_stop]).run(trip)
    contents = [m.content for m in model.requests[1].messages if isinstance(m, ToolMessage)]
    assert contents == ["Error: ConnectionError: weather service down", "added Cafe"]
    assert trip.stops == ["Cafe"] and result.answer == "Cafe."


async def test_fatal_tool_and_model_errors_end_the_run() -> None:
    """A fatal tool raises ParallelNoteError; a model error surfaces as itself."""

    @tool(fatal=True)
    async def charge_card(amount: int) -> None:
        raise RuntimeError("card declined")

    with pytest.raises(ParallelNoteError) as info:
        await agent(
            ScriptedModel([calls(("c1", "charge_card", {"amount": 5}))]), [charge_card]
        ).run(Trip())
    assert isinstance(info.value.original_error, RuntimeError)
    limited = RateLimitedError("slow down", provider="test", model="m", retry_after=1.0)
    with pytest.raises(RateLimitedError):
        await agent(ScriptedModel([limited]), [add_stop]).run(Trip())


async def test_events_per_turn_and_per_tool_call() -> None:
    """on_event gets turn start/end, each call's start and end, the output; hooks see turns."""
    events: list[AgentEvent] = []
    seen: list[tuple[str, str]] = []
    emitter = EventEmitter()
    emitter.on("*", lambda e: seen.append((e.event_type, e.note_name or "")))
    model = ScriptedModel(
        [calls(("c1", "add_stop", {"place": "A"}), ("c2", "add_stop", {"place": "B"})), "ok"]
    )
    flow = (
        Cadence("trip", Trip())
        .with_hooks(emitter)
        .then("plan", agent(model, [add_stop], on_event=events.append))
    )
    await flow.run()
    assert [(e.kind, e.turn) for e in events] == [
        ("turn.started", 1),
        ("tool.started", 1),
        ("tool.completed", 1),
        ("tool.started", 1),
        ("tool.completed", 1),
        ("turn.completed", 1),
        ("turn.started", 2),
        ("turn.completed", 2),
        ("output", 2),
    ]
    assert events[1].call is not None and events[1].call.id == "c1"
    assert events[2].outcome is not None and events[2].outcome.call.id == "c1"
    assert events[5].tool_calls == 2 and events[5].usage is not None
    assert events[-1].output == "ok" and events[-1].result is not None
    assert ("note.started", "turn_1") in seen and ("note.completed", "turn_2") in seen
    assert ("group.started", "turn_1.tools") in seen
    assert seen.count(("note.completed", "add_stop")) == 2


async def test_tool_calls_of_a_turn_respect_the_concurrency_limit() -> None:
    """agent(concurrency=1) runs a turn's calls one at a time."""
    active = peak = 0

    @tool
    async def slow_step(n: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)
        active -= 1
        return n

    many = calls(*[(f"c{i}", "slow_step", {"n": i}) for i in range(4)])
    await agent(ScriptedModel([many, "done"]), [slow_step], concurrency=1).run(prompt="go")
    assert peak == 1
    await agent(ScriptedModel([many, "done"]), [slow_step]).run(prompt="go")
    assert peak == 4


def plan(model: ScriptedModel, store: Any) -> Any:
    return agent(model, [add_stop, set_budget], checkpoint=store, run_id="trip-42", max_turns=5)


async def _crash_then_resume(store: Any) -> None:
    first = ScriptedModel(
        [
            calls(("c1", "add_stop", {"place": "Museum"}), ("c2", "set_budget", {"amount": 70})),
            calls(("c3", "add_stop", {"place": "Harbour"})),
            RuntimeError("process died"),
        ]
    )
    with pytest.raises(RuntimeError, match="process died"):
        await plan(first, store).run(Trip())
    assert executed == ["add_stop:Museum", "set_budget:70", "add_stop:Harbour"]

    second = ScriptedModel(["Museum, then the harbour."])
    fresh = Trip()  # a new process: the score starts over
    result = await plan(second, store).run(fresh)
    assert executed == ["add_stop:Museum", "set_budget:70", "add_stop:Harbour"]  # nothing re-ran
    assert second.calls == 1
    replayed = [m for m in second.requests[0].messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in replayed] == ["c1", "c2", "c3"]
    assert fresh.stops == ["Museum", "Harbour"] and fresh.budget == 70
    assert (
        result.turns == 3
        and result.tool_calls == 3
        and result.answer == "Museum, then the harbour."
    )


async def test_resume_after_crash_between_turns_in_memory() -> None:
    """A run crashing before turn 3 resumes there: no tool re-runs, transcript and score restored."""
    store = InMemoryCheckpointStore()
    await _crash_then_resume(store)
    assert await store.get_completed_measures("agent", "trip-42") == set()  # cleared on success


async def test_resume_after_crash_between_turns_sqlite(tmp_path: Path) -> None:
    """The same resume works from a SQLite file, as after a real process restart."""
    store = SQLiteCheckpointStore(tmp_path / "runs.db")
    try:
        await _crash_then_resume(store)
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


async def test_checkpointing_needs_a_run_id() -> None:
    """checkpoint= without any run id fails before the first model call, saying how to fix it."""
    model = ScriptedModel(["unused"])
    with pytest.raises(CadenceError) as info:
        await agent(model, [add_stop], checkpoint=InMemoryCheckpointStore()).run(Trip())
    assert info.value.code == "AGENT_NO_RUN_ID" and "run_id" in info.value.message
    assert model.calls == 0


async def test_run_id_can_come_from_the_score() -> None:
    """run_id= may be a function of the score, keying each run's checkpoints."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel([calls(("c1", "add_stop", {"place": "X"})), RuntimeError("crash")])
    ag = agent(model, [add_stop], checkpoint=store, run_id=lambda s: f"trip:{s.query}")
    with pytest.raises(RuntimeError):
        await ag.run(Trip(query="q1"))
    assert await store.get_completed_measures("agent", "trip:q1") == {"turn_1"}


async def test_missing_prompt_field_is_a_clear_error() -> None:
    """A prompt template naming an absent score field raises PromptTemplateError naming it."""
    with pytest.raises(PromptTemplateError) as info:
        await agent(ScriptedModel(["x"]), [add_stop], prompt="Plan {destination}").run(Trip())
    assert "'destination'" in info.value.message and "query" in info.value.message


async def test_json_mode_parses_tool_calls_from_constrained_json() -> None:
    """tool_mode='json' sends a schema of the tools, runs the calls and reads the final answer."""
    model = ScriptedModel(
        [
            json.dumps(
                {"tool_calls": [{"name": "add_stop", "arguments": {"place": "Pier"}}], "answer": ""}
            ),
            json.dumps({"tool_calls": [], "answer": "See the pier."}),
        ]
    )
    trip = Trip()
    result = await agent(
        model, [add_stop], tool_mode="json", tool_choice="required", max_turns=3
    ).run(trip)
    assert result.answer == "See the pier." and trip.stops == ["Pier"]
    first = model.requests[0]
    assert first.tools == () and first.response_format is not None
    schema = first.response_format.schema_ or {}
    calls_schema = schema["properties"]["tool_calls"]
    assert calls_schema["minItems"] == 1
    assert calls_schema["items"]["anyOf"][0]["properties"]["name"] == {"const": "add_stop"}
    feedback = model.requests[1].messages[-1]
    assert isinstance(feedback, UserMessage) and '"result": "added Pier"' in feedback.content


async def test_json_mode_final_turn_schema_allows_only_an_answer() -> None:
    """With force_final_answer in JSON mode the last turn's schema has no tool_calls."""
    model = ScriptedModel(
        [
            json.dumps(
                {"tool_calls": [{"name": "add_stop", "arguments": {"place": "A"}}], "answer": ""}
            ),
            json.dumps({"answer": "Fine."}),
        ]
    )
    result = await agent(
        model, [add_stop], tool_mode="json", max_turns=2, force_final_answer=True
    ).run(Trip())
    last = model.requests[1].response_format
    assert last is not None and set((last.schema_ or {})["properties"]) == {"answer"}
    assert result.answer == "Fine."


def test_the_turn_plan_is_a_cadence() -> None:
    """agent.cadence exposes one can_interrupt step per allowed turn."""
    ag = agent(ScriptedModel(["x"]), [add_stop], max_turns=3)
    assert [s.name for s in ag.cadence.steps] == ["turn_1", "turn_2", "turn_3"]
    assert all(s.can_interrupt for s in ag.cadence.steps)  # type: ignore[union-attr]


async def test_json_mode_unparseable_reply_is_the_answer() -> None:
    """In JSON mode a reply that is not JSON ends the loop with the text as the answer."""
    model = ScriptedModel(['{"tool_calls": [], "answer": "line one\nline two"}', "plain words"])
    first = await agent(model, [add_stop], tool_mode="json").run(Trip())
    assert first.answer == "line one\nline two"
    second = await agent(model, [add_stop], tool_mode="json").run(Trip())
    assert second.answer == "plain words" and executed == []


async def test_two_agents_in_a_sync_group_merge_like_any_notes() -> None:
    """Agents are notes: two in one .sync group work on isolated views and merge."""

    @dataclass
    class Pair(Score):
        query: str = "q"
        left: str = ""
        right: str = ""
        stops: list[str] = field(default_factory=list)

    @tool
    async def note_stop(score: Pair, place: str) -> str:
        score.stops.append(place)
        return "ok"

    a = agent(
        ScriptedModel([calls(("1", "note_stop", {"place": "A"})), "left done"]),
        [note_stop],
        into="left",
        name="a",
    )
    b = agent(
        ScriptedModel([calls(("1", "note_stop", {"place": "B"})), "right done"]),
        [note_stop],
        into="right",
        name="b",
    )
    result = await Cadence("pair", Pair()).sync("both", [a, b]).run()
    assert (result.left, result.right) == ("left done", "right done")
    assert result.stops == ["A", "B"]


async def test_json_mode_cut_off_reply_is_sent_back_not_taken_as_the_answer() -> None:
    """A JSON-mode reply cut off mid-object gets a correction message and another turn."""
    model = ScriptedModel(
        ['{"tool_calls": [{"name": "add_st', json.dumps({"tool_calls": [], "answer": "ok"})]
    )
    result = await agent(model, [add_stop], tool_mode="json", max_turns=3).run(Trip())
    assert result.answer == "ok" and result.turns == 2
    correction = model.requests[1].messages[-1]
    assert isinstance(correction, UserMessage) and "cut off" in correction.content


async def test_json_mode_cut_off_on_the_last_turn_is_a_turn_limit() -> None:
    """A cut-off reply on the last allowed turn raises TurnLimitError hinting at max_tokens."""
    model = ScriptedModel(['{"answer": "The answer is'])
    with pytest.raises(TurnLimitError, match="max_tokens"):
        await agent(model, [add_stop], tool_mode="json", max_turns=1).run(Trip())


async def test_inside_a_checkpointed_cadence_with_hooks_it_uses_the_runs_id() -> None:
    """In a checkpointed run with hooks the agent keys its turns by the run's id and resumes."""
    store = InMemoryCheckpointStore()

    def build(model: ScriptedModel) -> Cadence[Trip]:
        return (
            Cadence("trip", Trip())
            .with_checkpoint(store, run_id="r-1")
            .with_hooks(EventEmitter())
            .then("plan", agent(model, [add_stop], checkpoint=store, name="planner"))
        )

    crashing = ScriptedModel([calls(("c1", "add_stop", {"place": "Dock"})), RuntimeError("killed")])
    with pytest.raises(Exception, match="killed"):
        await build(crashing).run()
    assert await store.get_completed_measures("planner", "r-1") == {"turn_1"}
    result = await build(ScriptedModel(["Dock it is."])).run()
    assert executed == ["add_stop:Dock"]
    assert result.stops == ["Dock"] and result.answer == "Dock it is."


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_turns": 0}, "max_turns"),
        ({"concurrency": 0}, "concurrency"),
        ({"tool_mode": "xml"}, "tool_mode"),
        ({"prompt": "Hi {"}, "invalid prompt template"),
        ({"into": "not a field"}, "into"),
    ],
)
def test_bad_agent_options_fail_at_definition(options: dict[str, Any], fragment: str) -> None:
    """Invalid agent options raise CadenceDefinitionError when the agent is built."""
    from cadence import CadenceDefinitionError

    with pytest.raises(CadenceDefinitionError, match=fragment):
        agent(ScriptedModel(["x"]), [add_stop], **options)


async def test_usage_keeps_cache_write_tokens() -> None:
    """AgentResult.usage sums every field of the turns' usage (Anthropic's cache writes too)."""
    from cadence_llm import ModelResponse, Usage

    used = Usage(input_tokens=100, output_tokens=5, cache_write_tokens=80)
    result = await agent(ScriptedModel([ModelResponse(text="ok", usage=used)]), []).run(
        {"query": "hi"}
    )
    assert result.usage == used


def test_tool_choice_must_be_a_mode_or_one_of_the_tools() -> None:
    """A misspelt tool_choice fails when the agent is built, naming what is allowed."""
    from cadence.exceptions import CadenceDefinitionError

    with pytest.raises(CadenceDefinitionError, match="'auto', 'none', 'required'"):
        agent(ScriptedModel(["x"]), [], tool_choice="requird")
