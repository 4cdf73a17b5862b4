"""recipes.tool_agent: parallel tool calls over a SQLite shop, then a structured answer."""

from __future__ import annotations

import json

from cadence.timeline import RunRecorder
from cadence_llm import FunctionModel, ScriptedModel
from recipes import tool_agent


async def test_first_turn_runs_two_tools_in_one_group(fake_model: FunctionModel) -> None:
    """Both tool calls of turn 1 are tasks of the group turn_1.tools (parallel in the timeline)."""
    recorder = RunRecorder()
    result = await tool_agent.build(fake_model, verbose=False).with_hooks(recorder).run()
    group = [e.note_name for e in recorder.events if getattr(e, "group", None) == "turn_1.tools"]
    assert set(group) == {"check_stock", "order_status"}
    assert sorted(result.looked_up) == ["order:A-1002", "stock:Trail Runner"]


async def test_final_answer_is_a_validated_pydantic_object(fake_model: FunctionModel) -> None:
    """The report step yields a ShopAnswer."""
    result = await tool_agent.build(fake_model, verbose=False).run()
    assert isinstance(result.report, tool_agent.ShopAnswer)
    assert result.report.order_status == "shipped" and result.report.in_stock is True
    assert result.answer == "4 in stock; A-1002 has shipped."


async def test_tool_results_come_from_the_database(fake_model: FunctionModel) -> None:
    """The second turn's prompt holds the shop's real rows."""
    seen: list[str] = []

    def spy(request):  # type: ignore[no-untyped-def]
        seen.append(request.messages[-1].content)
        from tests.recipes.conftest import answer

        return answer(request)

    await tool_agent.build(FunctionModel(spy), verbose=False).run()
    results = json.loads(seen[1].split("\n", 1)[1])
    assert [r["tool"] for r in results] == ["check_stock", "order_status"]
    assert '"stock": 4' in results[0]["result"] and "shipped" in results[1]["result"]


async def test_bad_arguments_go_back_to_the_model() -> None:
    """A call with an unknown tool becomes an error result, and the agent continues."""
    model = ScriptedModel(
        [
            json.dumps({"tool_calls": [{"name": "refund", "arguments": {}}], "answer": ""}),
            json.dumps({"answer": "I cannot refund."}),
            json.dumps({"answer": "No.", "in_stock": False, "order_status": "unknown"}),
        ]
    )
    result = await tool_agent.build(model, verbose=False).run()
    assert "unknown tool 'refund'" in model.requests[1].messages[-1].content
    assert result.answer == "I cannot refund."


def test_search_products_matches_names() -> None:
    """The search tool finds products by a word of their name."""
    tools = {t.name: t for t in tool_agent.toolbox(tool_agent.Shop())}
    assert [r["sku"] for r in tools["search_products"](query="trail shoe")] == ["TR-01"]
    assert len(tools) == 3


async def test_system_prompt_shows_a_two_call_example() -> None:
    """The rendered system prompt carries a valid JSON example of two calls in one reply."""
    model = ScriptedModel(
        [json.dumps(tool_agent_conftest_calls()), json.dumps({"answer": "ok"}), REPORT]
    )
    await tool_agent.build(model, verbose=False).run()
    system = model.requests[0].messages[0].content
    start = system.index('{"tool_calls"')
    example, _ = json.JSONDecoder().raw_decode(system[start:])
    assert [c["name"] for c in example["tool_calls"]] == ["check_stock", "order_status"]


REPORT = json.dumps({"answer": "ok", "in_stock": True, "order_status": "shipped"})


def tool_agent_conftest_calls() -> dict:  # type: ignore[type-arg]
    """The fake's two parallel calls."""
    from tests.recipes.conftest import TOOL_CALLS

    return TOOL_CALLS
