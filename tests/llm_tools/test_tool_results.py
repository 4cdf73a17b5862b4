"""A tool's return value that cannot become text is an error result, not a failed turn."""

from __future__ import annotations

from typing import Any

import pytest

from cadence import ParallelNoteError
from cadence_llm import ScriptedModel, ToolBox, ToolCall, ToolMessage, ToolResultError, agent, tool

from .conftest import calls


@tool
def tuple_keys() -> dict[Any, int]:
    """Returns a dict keyed by tuples, which JSON cannot hold."""
    return {("a", 1): 2}


@tool
def circular() -> list[Any]:
    """Returns a list that contains itself."""
    loop: list[Any] = []
    loop.append(loop)
    return loop


@tool
def fine() -> str:
    """Returns plain text."""
    return "fine"


@pytest.mark.parametrize(
    ("name", "why"),
    [("tuple_keys", "keys must be str"), ("circular", "Circular reference")],
)
async def test_unrenderable_result_becomes_an_error_result(name: str, why: str) -> None:
    """A result JSON cannot encode fails only its own call; the other call keeps its result."""
    out = await ToolBox([tuple_keys, circular, fine]).run(
        [ToolCall(id="a", name=name, arguments="{}"), ToolCall(id="b", name="fine")]
    )
    bad, good = out
    assert not bad.ok and bad.message.is_error and bad.message.tool_call_id == "a"
    assert isinstance(bad.error, ToolResultError) and bad.error.code == "TOOL_RESULT"
    assert bad.message.content.startswith(f"Error: ToolResultError: tool {name!r} ran, but")
    assert why in bad.message.content
    assert good.ok and good.message.content == "fine"


async def test_unrenderable_result_of_a_fatal_tool_still_fails_the_group() -> None:
    """fatal=True keeps its meaning: the render failure ends the group instead of going back."""

    @tool(fatal=True)
    def fatal_loop() -> list[Any]:
        """Returns a list that contains itself."""
        loop: list[Any] = []
        loop.append(loop)
        return loop

    with pytest.raises(ParallelNoteError) as info:
        await ToolBox([fatal_loop]).run([ToolCall(id="a", name="fatal_loop")])
    assert isinstance(info.value.original_error, ValueError)


async def test_agent_reads_the_error_result_and_answers() -> None:
    """The agent's turn goes on: the model reads the error result and gives its answer."""
    model = ScriptedModel([calls(("c1", "tuple_keys", {})), "sorry, that tool is broken"])
    result = await agent(model, [tuple_keys]).run(None, prompt="go")
    assert result.answer == "sorry, that tool is broken"
    sent = model.requests[1].messages[-1]
    assert isinstance(sent, ToolMessage) and sent.is_error
    assert "ToolResultError" in sent.content
