"""agent() at its edges: approvers' edits, JSON-mode replies off the protocol, the conversation
given to run(messages=...), limits the model ignores, and a stream left after a failure."""

from __future__ import annotations

import asyncio
import gc
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import CadenceDefinitionError, CadenceError, Decision, RunSuspended, Score
from cadence.checkpoint import InMemoryCheckpointStore
from cadence_llm import (
    AllModelsFailedError,
    FallbackChain,
    OverloadedError,
    ScriptedModel,
    ServerError,
    SystemMessage,
    ToolMessage,
    TurnLimitError,
    UserMessage,
    agent,
    tool,
)

from .conftest import calls


@dataclass
class Order(Score):
    query: str = "Refund order A-7"
    answer: str = ""
    refunds: list[int] = field(default_factory=list)


@tool(needs_approval=True)
def refund(score: Order, order: str, amount: int) -> str:
    """Refund an order."""
    score.refunds.append(amount)
    return f"refunded {amount}"


@tool
def lookup(order: str) -> str:
    """Look an order up."""
    return f"{order}: delivered"


ASK_REFUND = calls(("c1", "refund", {"order": "A-7", "amount": 240}))


async def parked_shop(model: ScriptedModel, run_id: str) -> Any:
    """An agent whose run parked at the refund's approval."""
    shop = agent(model, [refund], checkpoint=InMemoryCheckpointStore(), run_id=run_id)
    with pytest.raises(RunSuspended):
        await shop.run(Order())
    return shop


async def test_arguments_an_approver_edits_as_json_text_are_the_ones_that_run() -> None:
    """Edited arguments given as JSON text (as a form posts them) run, not the model's."""
    shop = await parked_shop(ScriptedModel([ASK_REFUND, "Refunded 200."]), "edit-text")
    order = Order()
    edited = {"arguments": '{"order": "A-7", "amount": 200}'}
    await shop.resume("edit-text", Decision.approve(edited, by="ana"), order)
    assert order.refunds == [200]


async def test_edited_arguments_of_another_type_never_run_the_call() -> None:
    """Edited arguments that are neither an object nor JSON text answer the model with an error;
    the call does not run with the model's arguments instead."""
    model = ScriptedModel([ASK_REFUND, "Could not."])
    shop = await parked_shop(model, "edit-list")
    order = Order()
    await shop.resume("edit-list", Decision.approve({"arguments": ["A-7", 200]}), order)
    assert order.refunds == []
    (seen,) = [m for m in model.requests[-1].messages if isinstance(m, ToolMessage)]
    assert seen.is_error and "ToolArgumentsError" in seen.content
    assert "payload['arguments'] as an object" in seen.content


async def test_a_failing_needs_approval_function_names_the_tool() -> None:
    """A needs_approval function that raises fails the run with an error naming the tool."""

    @tool(needs_approval=lambda args: args["amount"] > 100)
    def credit(score: Order, amount: int | None = None) -> str:
        """Credit the customer."""
        return "credited"

    model = ScriptedModel([calls(("c1", "credit", {}))])
    shop = agent(model, [credit], checkpoint=InMemoryCheckpointStore(), run_id="rule")
    with pytest.raises(CadenceError) as info:
        await shop.run(Order())
    assert info.value.code == "APPROVAL_RULE_FAILED"
    assert "'credit'" in info.value.message and "needs_approval" in info.value.message
    assert isinstance(info.value.__cause__, TypeError)


@pytest.mark.parametrize(
    "reply",
    [
        {"city": "Oslo"},
        {"tool_calls": [], "answer": None},
        {"tool_calls": {"name": "lookup", "arguments": {"order": "A-7"}}, "answer": ""},
        {"tool_calls": ["lookup"], "answer": ""},
        {"tool_calls": [{"arguments": {"order": "A-7"}}], "answer": ""},
    ],
)
async def test_json_mode_object_off_the_protocol_is_sent_back(reply: dict[str, Any]) -> None:
    """A JSON object without an answer or with malformed calls is not an empty final answer:
    the model is told the protocol's shape and answers again."""
    model = ScriptedModel([json.dumps(reply), json.dumps({"tool_calls": [], "answer": "ok"})])
    result = await agent(model, [lookup], tool_mode="json", max_turns=3).run(Order())
    assert result.answer == "ok" and result.turns == 2
    correction = model.requests[1].messages[-1]
    assert isinstance(correction, UserMessage) and '"tool_calls"' in correction.content


async def test_a_failed_turn_raises_its_error_with_its_own_cause() -> None:
    """The error a turn raised keeps its cause (a chain's last attempt), not the step wrapper."""
    a = ScriptedModel([ServerError("a down", status_code=500)], name="a")
    b = ScriptedModel([OverloadedError("b busy")], name="b")
    with pytest.raises(AllModelsFailedError) as info:
        await agent(FallbackChain([a, b], retry=1), [lookup]).run(Order())
    assert info.value.__cause__ is info.value.attempts[-1].error


async def test_continuing_a_results_transcript_keeps_one_system_prompt() -> None:
    """run(messages=result.messages + [...]) does not add the agent's system prompt again."""
    model = ScriptedModel(["First.", "Second."])
    helper = agent(model, [lookup], system="Be brief.")
    first = await helper.run(Order())
    await helper.run(messages=[*first.messages, UserMessage(content="And then?")])
    sent = model.requests[1].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0] == SystemMessage(content="Be brief.")


async def test_messages_may_be_dicts_and_bad_ones_say_what_to_give() -> None:
    """Dicts with a role are messages; a string or an unknown role is refused by name."""
    model = ScriptedModel(["Hi."])
    result = await agent(model, []).run(messages=[{"role": "user", "content": "Hello"}])
    assert result.answer == "Hi." and model.requests[0].messages == (UserMessage(content="Hello"),)
    with pytest.raises(CadenceDefinitionError, match="pass prompt="):
        await agent(model, []).run(messages="Hello")  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="messages= item 0"):
        await agent(model, []).run(messages=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]
    with pytest.raises(CadenceDefinitionError, match="empty"):
        await agent(model, []).run(messages=[])
    assert model.calls == 1


async def test_a_tool_call_without_its_result_is_refused_before_the_model_is_called() -> None:
    """A transcript whose last tool call has no result (TurnLimitError.messages) is refused
    early, naming the call, instead of a provider's 400 after the run started."""
    with pytest.raises(TurnLimitError) as limit:
        await agent(
            ScriptedModel([calls(("c9", "lookup", {"order": "A-7"}))]), [lookup], max_turns=1
        ).run(Order())
    model = ScriptedModel(["unused"])
    convo = [*limit.value.messages, UserMessage(content="Answer now.")]
    with pytest.raises(
        CadenceDefinitionError, match=r"tool call 'c9' \(lookup\) has no ToolMessage"
    ):
        await agent(model, [lookup]).run(messages=convo)
    orphan = [UserMessage(content="Hi"), ToolMessage(tool_call_id="c9", content="x")]
    with pytest.raises(
        CadenceDefinitionError, match=r"messages\[1\] is the result of tool call 'c9'"
    ):
        await agent(model, [lookup]).run(messages=orphan)
    assert model.calls == 0


async def test_a_turn_limit_despite_force_final_answer_says_the_model_ignored_it() -> None:
    """With force_final_answer=True, the limit error does not advise passing it."""
    script = [calls(("c1", "lookup", {"order": "A-7"})), calls(("c2", "lookup", {"order": "B"}))]
    with pytest.raises(TurnLimitError) as info:
        await agent(ScriptedModel(script), [lookup], max_turns=2, force_final_answer=True).run(
            Order()
        )
    message = info.value.message
    assert "pass force_final_answer=True" not in message
    assert "although the last turn asked for an answer without tools" in message


async def test_leaving_a_stream_after_the_run_failed_leaves_no_unretrieved_error() -> None:
    """Breaking out of a stream whose run already failed does not make asyncio log
    "Task exception was never retrieved"."""

    @tool(fatal=True)
    async def explode(score: Order) -> str:
        """Fail for good."""
        raise RuntimeError("boom")

    logged: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: logged.append(str(context["message"])))
    try:
        stream = agent(ScriptedModel([calls(("c1", "explode", {}))]), [explode]).stream(Order())
        kinds: list[str] = []
        async for event in stream:
            kinds.append(event.kind)
            (run,) = [
                t for t in asyncio.all_tasks() if t.get_name() == "cadence-agent-stream:agent"
            ]
            await asyncio.wait([run])  # the run fails meanwhile (wait retrieves no error)
            break
        assert kinds == ["turn.started"]
        await stream.aclose()  # type: ignore[attr-defined]
        del stream, run  # the last references to the failed run task
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert logged == []
