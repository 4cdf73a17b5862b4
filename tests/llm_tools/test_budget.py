"""Budgets: one shared count per run, checked before each model request and tool batch."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cadence import Budget, BudgetExceededError, Cadence, CadenceDefinitionError, Score, Spend
from cadence.checkpoint import InMemoryCheckpointStore
from cadence.events import SPEND_RECORDED, EventEmitter, SpendEvent
from cadence.resilience import retry
from cadence.timeline import RunRecorder, write_timeline
from cadence_llm import (
    FallbackChain,
    FunctionModel,
    ModelRequest,
    ModelResponse,
    Price,
    PriceTable,
    ScriptedModel,
    Usage,
    agent,
    tool,
)
from cadence_llm.errors import CadenceError

from .conftest import calls


@dataclass
class Desk(Score):
    query: str = "q"
    answer: str = ""
    a: str = ""
    b: str = ""
    c: str = ""
    notes: list[str] = field(default_factory=list)
    spend: Spend | None = None


def answering(out: int, *, delay: float = 0.001, log: list[int] | None = None) -> FunctionModel:
    """A model that always asks for a tool and uses exactly ``out`` output tokens per answer."""

    async def fn(request: ModelRequest) -> ModelResponse:
        if log is not None:
            log.append(request.max_tokens or 0)
        await asyncio.sleep(delay)
        return calls(("n", "jot", {"text": "x"})).model_copy(
            update={"usage": Usage(input_tokens=10, output_tokens=out)}
        )

    return FunctionModel(fn)


@tool
async def jot(score: Desk, text: str) -> str:
    """Write a note."""
    score.notes.append(text)
    return "ok"


async def test_a_sync_of_three_agents_shares_one_budget_and_stops_at_the_limit() -> None:
    """Three agents in one .sync share an output-token budget; it stops them at the limit.

    Each request declares max_tokens=50 and uses all 50; with a limit of 400 the ninth request
    (whichever agent makes it) is refused before it is sent, counting the requests still in
    flight: exactly 400 tokens' worth is ever sent -- never over the limit, let alone by more
    than one call's declared maximum.
    """
    sent: list[int] = []
    agents = [
        agent(
            answering(50, log=sent),
            [jot],
            into=name,
            name=f"agent_{name}",
            max_turns=20,
            options={"max_tokens": 50},
        )
        for name in ("a", "b", "c")
    ]
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(output_tokens=400), into="spend")
        .sync("research", agents)
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    err = info.value
    assert err.limit == "output_tokens" and err.maximum == 400
    assert len(sent) == 8 and sum(sent) == 400
    # spent by finished calls plus reserved by the calls in flight when the ninth was refused
    assert err.details["committed"] == 400 and err.spend.output_tokens <= 400
    assert "'desk'" in err.message and "output_tokens" in err.message and "400" in err.message
    assert err.step is not None and "turn_" in err.step and "agent_" in err.step


async def test_the_request_limit_is_checked_before_the_call() -> None:
    """Budget(requests=3): the fourth request is never sent, and the error says so."""
    model = ScriptedModel([calls(("1", "jot", {"text": "x"}))], repeat=True)
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(requests=3))
        .then("work", agent(model, [jot], max_turns=10))
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert model.calls == 3
    assert info.value.limit == "requests" and info.value.spend.requests == 3
    assert info.value.code == "BUDGET_EXCEEDED"
    assert "step 'turn_4' of cadence 'agent'" in (info.value.step or "")


async def test_a_nested_agent_inside_a_tool_counts_against_the_parents_budget() -> None:
    """An agent run by a tool spends the outer run's budget; its stop is not a tool error."""
    inner_model = ScriptedModel([calls(("i", "jot", {"text": "inner"}))], repeat=True)
    inner = agent(inner_model, [jot], name="inner", max_turns=10)

    @tool
    async def delegate(score: Desk, question: str) -> str:
        """Ask the helper agent."""
        return (await inner.run(score, prompt=question)).answer

    outer_model = ScriptedModel([calls(("o", "delegate", {"question": "dig"}))], repeat=True)
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(requests=4))
        .then("work", agent(outer_model, [delegate], name="outer", max_turns=10))
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert outer_model.calls == 1 and inner_model.calls == 3
    assert info.value.spend.requests == 4
    assert "'inner'" in (info.value.step or "")


async def test_child_cadences_share_the_parents_count() -> None:
    """Requests made in a child cadence count against the parent's budget."""
    model = ScriptedModel(["fine"], repeat=True)

    async def ask(score: Desk) -> None:
        score.answer = (await model.complete("hi")).text

    child = Cadence("child", Desk()).then("one", ask).then("two", ask)
    flow = (
        Cadence("parent", Desk())
        .with_budget(Budget(requests=3))
        .then("first", ask)
        .child("sub", child, lambda parent, kid: None)
        .then("last", ask)
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert model.calls == 3 and info.value.step == "step 'last' of cadence 'parent'"


async def test_a_tool_call_limit_refuses_the_whole_turn_before_any_tool_runs() -> None:
    """Budget(tool_calls=2): a turn asking for three calls runs none of them."""
    ran: list[str] = []

    @tool
    def mark(text: str) -> str:
        """Mark."""
        ran.append(text)
        return "ok"

    model = ScriptedModel(
        [
            calls(("1", "mark", {"text": "a"})),
            calls(("2", "mark", {"text": "b"}), ("3", "mark", {"text": "c"})),
        ]
    )
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(tool_calls=2))
        .then("work", agent(model, [mark], max_turns=5))
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert ran == ["a"] and info.value.limit == "tool_calls"
    assert info.value.spend.tool_calls == 1 and "2 tool calls" in info.value.message


async def test_cost_is_priced_and_limited() -> None:
    """A cost limit uses the budget's prices, counting the declared output before the call."""
    prices = PriceTable({"scripted": Price(input=1_000_000.0, output=2_000_000.0)})
    model = ScriptedModel([ModelResponse(text="ok", usage=Usage(input_tokens=1, output_tokens=1))])

    async def ask(score: Desk) -> None:
        await model.complete(ModelRequest.of("hi", max_tokens=2))

    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(cost=6.0, prices=prices), into="spend")
        .then("one", ask)
        .then("two", ask)
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    # first call: reserved 2 out tokens = 4.0, used 1 in + 1 out = 3.0; second needs 3 + 4 > 6
    assert model.calls == 1 and info.value.limit == "cost"
    assert info.value.spend.cost == pytest.approx(3.0)


async def test_a_cost_limit_refuses_a_model_it_has_no_price_for() -> None:
    """A model missing from the prices of a cost-limited budget fails before it is called."""
    model = ScriptedModel(["ok"], name="mystery-model")
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(cost=1.0, prices=PriceTable({"gpt-4o": Price(1, 1)})))
        .then("one", lambda s: model.complete("hi"))
    )
    with pytest.raises(Exception) as info:
        await flow.run()
    err = info.value.original_error if hasattr(info.value, "original_error") else info.value
    assert isinstance(err, CadenceError) and err.code == "BUDGET_UNPRICED_MODEL"
    assert "mystery-model" in err.message and model.calls == 0


async def test_spend_reaches_events_the_score_and_the_timeline(tmp_path: Path) -> None:
    """Each charge is a spend.recorded event; the run's total is on cadence.completed,
    in the into= field and on the timeline."""
    model = ScriptedModel(
        [
            calls(("1", "jot", {"text": "x"})).model_copy(
                update={"usage": Usage(input_tokens=7, output_tokens=3)}
            ),
            ModelResponse(text="done", usage=Usage(input_tokens=9, output_tokens=2)),
        ]
    )
    emitter = EventEmitter()
    seen: list[Any] = []
    emitter.on("*", seen.append)
    recorder = RunRecorder()
    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(requests=10), into="spend")
        .with_hooks([emitter, recorder])
        .then("work", agent(model, [jot]))
    )
    result = await flow.run()
    assert result.spend == Spend(requests=2, input_tokens=16, output_tokens=5, tool_calls=1)
    charges = [e for e in seen if e.event_type == SPEND_RECORDED]
    assert all(isinstance(e, SpendEvent) for e in charges)
    assert [(e.note_name, e.charge.requests, e.charge.tool_calls) for e in charges] == [
        ("turn_1", 1, 0),
        ("turn_1", 0, 1),
        ("turn_2", 1, 0),
    ]
    assert charges[-1].total == result.spend
    completed = [e for e in seen if e.event_type == "cadence.completed" and e.depth == 0]
    assert completed[0].spend == result.spend
    page = write_timeline(recorder, tmp_path / "run.html").read_text()
    assert "spend: 2 requests, 16 in / 5 out tokens, 1 tool calls" in page
    assert "1 requests, 9 in / 2 out tokens" in page  # turn_2's own bar


async def test_a_resumed_run_keeps_counting_from_its_checkpoint() -> None:
    """with_budget(into=...) checkpoints the spend; a resumed run starts from it, not from 0."""
    store = InMemoryCheckpointStore()
    model = ScriptedModel(["a"], repeat=True)
    crash = [True]

    async def ask(score: Desk) -> None:
        score.notes.append((await model.complete("hi")).text)

    async def flaky(score: Desk) -> None:
        if crash.pop() if crash else False:
            raise RuntimeError("crash")
        await ask(score)

    def build() -> Cadence[Desk]:
        flow = Cadence("desk", Desk()).with_checkpoint(store, run_id="r1")
        flow.with_budget(Budget(requests=3), into="spend")
        return flow.then("s1", ask).then("s2", ask).then("s3", flaky).then("s4", ask)

    with pytest.raises(Exception, match="crash"):
        await build().run()
    with pytest.raises(BudgetExceededError) as info:
        await build().run()
    # s1 and s2 spent 2 requests before the crash; resumed, s3 makes the 3rd and s4 is refused
    assert info.value.spend.requests == 3 and model.calls == 3
    assert info.value.step == "step 's4' of cadence 'desk'"


async def test_retry_and_fallback_never_swallow_a_budget_stop() -> None:
    """A retried note and a fallback chain stop at once when the budget refuses a request."""
    primary = ScriptedModel(["x"], name="primary", repeat=True)
    backup = ScriptedModel(["y"], name="backup", repeat=True)
    chain = FallbackChain([primary, backup])
    attempts: list[int] = []

    @retry(5, delay=0.0)
    async def ask(score: Desk) -> None:
        attempts.append(1)
        await chain.complete("hi")

    flow = Cadence("desk", Desk()).with_budget(Budget(requests=0)).then("ask", ask)
    with pytest.raises(BudgetExceededError):
        await flow.run()
    assert attempts == [1] and primary.calls == 0 and backup.calls == 0


async def test_streamed_requests_are_charged_too() -> None:
    """model.stream() reserves before the first chunk and charges the streamed usage."""
    model = ScriptedModel(["one two three"], repeat=True)

    async def ask(score: Desk) -> None:
        async for _ in model.stream("hi"):
            pass

    flow = (
        Cadence("desk", Desk())
        .with_budget(Budget(requests=1), into="spend")
        .then("one", ask)
        .then("two", ask)
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert model.calls == 1 and info.value.spend.output_tokens == 3


async def test_an_agents_own_budget_is_in_its_result() -> None:
    """agent(budget=...) limits each run of that agent and reports the spend in AgentResult."""
    model = ScriptedModel([calls(("1", "jot", {"text": "x"})), "done"])
    result = await agent(model, [jot], budget=Budget(requests=5)).run(Desk())
    assert result.spend == Spend(
        requests=2, input_tokens=result.usage.input_tokens, output_tokens=1, tool_calls=1
    )


async def test_without_a_budget_nothing_is_counted_or_reported() -> None:
    """A run with no budget emits no spend events and its cadence events carry no spend."""
    seen: list[Any] = []
    emitter = EventEmitter().on("*", seen.append)
    model = ScriptedModel(["ok"])
    flow = Cadence("desk", Desk()).with_hooks(emitter).then("one", lambda s: model.complete("q"))
    await flow.run()
    assert [e for e in seen if e.event_type == SPEND_RECORDED] == []
    assert all(e.spend is None for e in seen)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"requests": -1}, "requests"),
        ({"output_tokens": 1.5}, "output_tokens"),
        ({"cost": 1.0}, "prices"),
        ({"prices": object()}, "cost\\(model, usage\\)"),
        ({"tool_calls": True}, "tool_calls"),
    ],
)
def test_bad_budgets_fail_when_built(kwargs: dict[str, Any], fragment: str) -> None:
    """Invalid Budget(...) arguments raise CadenceDefinitionError naming the argument."""
    with pytest.raises(CadenceDefinitionError, match=fragment):
        Budget(**kwargs)


def test_with_budget_checks_its_arguments() -> None:
    """with_budget() takes a Budget once, and into= must be a field name."""
    flow = Cadence("desk", Desk())
    with pytest.raises(CadenceDefinitionError, match=r"cadence\.Budget"):
        flow.with_budget({"requests": 3})
    with pytest.raises(CadenceDefinitionError, match="into"):
        flow.with_budget(Budget(), into="not a field")
    flow.with_budget(Budget())
    with pytest.raises(CadenceDefinitionError, match="already"):
        flow.with_budget(Budget())


async def test_into_must_name_a_field_of_the_score() -> None:
    """with_budget(into=...) naming a field the score lacks fails at the start of the run."""

    @dataclass
    class Bare(Score):
        query: str = ""

    flow = Cadence("bare", Bare()).with_budget(Budget(), into="spend").then("x", lambda s: None)
    with pytest.raises(CadenceDefinitionError, match="spend"):
        await flow.run()


@dataclass
class Batch(Score):
    topics: list[str] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)


async def test_a_map_that_collects_errors_still_stops_at_the_budget() -> None:
    """.map(on_error="collect") over agents: a budget stop ends the run, not one item's failure."""
    model = ScriptedModel(["fine"], repeat=True)
    writer = agent(model, [], name="writer")

    async def answer(topic: str) -> str:
        return (await writer.run(prompt=topic)).answer

    flow = (
        Cadence("batch", Batch(topics=[f"t{i}" for i in range(10)]))
        .with_budget(Budget(requests=4))
        .map(
            "answer",
            "topics",
            answer,
            concurrency=2,
            into="answers",
            on_error="collect",
            errors_into="failed",
        )
    )
    with pytest.raises(BudgetExceededError) as info:
        await flow.run()
    assert model.calls == 4 and info.value.limit == "requests"
