"""Requests and usage at their edges: tool_choice checked when built, usage summed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cadence import CadenceDefinitionError
from cadence_llm import ModelRequest, ScriptedModel, ToolDefinition, Usage, llm_note

WEATHER = ToolDefinition(name="weather")


@pytest.mark.parametrize("choice", ["requird", "search"])
def test_tool_choice_naming_no_mode_and_no_tool_is_refused(choice: str) -> None:
    """A misspelt mode or an absent tool fails when the request is built, listing the tools."""
    with pytest.raises(ValidationError, match=r"tool_choice must be .*\['weather'\]"):
        ModelRequest.of("Oslo?", tools=(WEATHER,), tool_choice=choice)


@pytest.mark.parametrize("choice", [None, "auto", "none", "required", "weather"])
def test_tool_choice_modes_and_tool_names_are_accepted(choice: str | None) -> None:
    """The three modes and the name of a request's tool stay valid."""
    assert ModelRequest.of("Oslo?", tools=(WEATHER,), tool_choice=choice).tool_choice == choice


def test_a_note_option_with_a_bad_tool_choice_fails_at_definition() -> None:
    """options={'tool_choice': ...} is checked with the request, when the note is built."""
    with pytest.raises(CadenceDefinitionError, match="tool_choice"):
        llm_note(ScriptedModel(["x"]), prompt="hi", into="a", options={"tool_choice": "requird"})


def test_usages_sum_and_refuse_other_operands() -> None:
    """sum() of usages works; adding a non-Usage is a TypeError, not an AttributeError."""
    total = sum([Usage(input_tokens=1), Usage(output_tokens=2, cached_tokens=1)])
    assert total == Usage(input_tokens=1, output_tokens=2, cached_tokens=1)
    with pytest.raises(TypeError):
        Usage() + 1  # type: ignore[operator]
