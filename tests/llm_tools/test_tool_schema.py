"""@tool: names, descriptions and JSON schemas from type hints; argument validation."""

from __future__ import annotations

import asyncio
import enum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from cadence import CadenceDefinitionError
from cadence_llm import Tool, ToolArgumentsError, ToolDefinition, tool


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str | None = None


@tool
async def forecast(place: Place, unit: Unit = Unit.CELSIUS, days: int | None = None) -> str:
    """Get the weather forecast for a place.

    Args:
        place: Where to look.
        unit: Temperature unit,
            celsius or fahrenheit.
        days: How many days ahead.
    """
    return f"{place.city}:{unit.value}:{days}"


def test_name_and_description_come_from_the_function() -> None:
    """The tool is named after the function and described by the docstring's summary."""
    assert forecast.name == "forecast"
    assert forecast.description == "Get the weather forecast for a place."
    assert isinstance(forecast.definition, ToolDefinition)
    assert forecast.definition.parameters == forecast.parameters


def test_schema_covers_nested_models_enums_optionals_and_defaults() -> None:
    """Nested models and enums become $defs, optionals allow null, defaults are kept."""
    schema = forecast.parameters
    assert schema["type"] == "object"
    assert schema["required"] == ["place"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["place"]["$ref"] == "#/$defs/Place"
    assert schema["$defs"]["Place"]["required"] == ["city"]
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["unit"]["default"] == "celsius"
    assert {"type": "null"} in props["days"]["anyOf"]
    assert props["unit"]["description"] == "Temperature unit, celsius or fahrenheit."
    assert "title" not in schema and "title" not in props["place"]


def test_literal_and_annotated_field_descriptions() -> None:
    """Literal types become enums and Annotated Field descriptions reach the schema."""

    @tool(name="sort-items", description="Sort things.")
    def sort_items(
        order: Literal["asc", "desc"],
        limit: Annotated[int, Field(ge=1, description="Max items")] = 10,
    ) -> list[int]:
        return []

    props = sort_items.parameters["properties"]
    assert sort_items.name == "sort-items" and sort_items.description == "Sort things."
    assert props["order"]["enum"] == ["asc", "desc"]
    assert props["limit"]["description"] == "Max items" and props["limit"]["minimum"] == 1


def test_score_parameter_is_injected_not_described() -> None:
    """A parameter named score is left out of the schema and marked as taking the score."""

    @tool
    def remember(score: object, fact: str) -> None:
        """Remember a fact."""

    assert remember.takes_score
    assert list(remember.parameters["properties"]) == ["fact"]


def test_validate_turns_json_into_typed_keyword_arguments() -> None:
    """Valid arguments come back as keyword arguments with pydantic types applied."""
    kwargs = forecast.validate('{"place": {"city": "Oslo"}, "unit": "fahrenheit"}')
    assert kwargs == {"place": Place(city="Oslo"), "unit": Unit.FAHRENHEIT, "days": None}
    assert forecast.validate({"place": {"city": "Rome"}})["unit"] is Unit.CELSIUS


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ('{"place": {"city": 3}}', "place.city"),
        ('{"unit": "kelvin", "place": {"city": "x"}}', "unit"),
        ("{not json", "(arguments)"),
        ('{"place": {"city": "x"}, "extra": 1}', "extra"),
    ],
)
def test_invalid_arguments_explain_themselves(arguments: str, fragment: str) -> None:
    """Invalid arguments raise ToolArgumentsError naming the field and showing the schema."""
    with pytest.raises(ToolArgumentsError) as info:
        forecast.validate(arguments)
    assert fragment in info.value.message
    assert '"properties"' in info.value.message
    assert info.value.code == "TOOL_ARGUMENTS"


def test_tool_stays_callable_as_the_plain_function() -> None:
    """Calling the Tool calls the function unchanged."""
    assert asyncio.run(forecast(Place(city="Lima"))) == "Lima:celsius:None"


def test_empty_arguments_mean_no_arguments() -> None:
    """An empty arguments string is read as {} (some providers send it for no-arg tools)."""

    @tool
    def now() -> str:
        return "noon"

    assert now.validate("") == {}


def _star_args(*args: int) -> None:
    return None


def _star_kwargs(**kwargs: int) -> None:
    return None


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (_star_args, "*args"),
        (_star_kwargs, "*args"),
        (int, "needs a function"),
        ("not callable", "needs a function"),
    ],
)
def test_unusable_functions_fail_at_definition(fn: object, fragment: str) -> None:
    """Functions that cannot be called by name, and non-functions, fail when decorated."""
    with pytest.raises(CadenceDefinitionError) as info:
        Tool(fn)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bad_tool_name_fails_at_definition() -> None:
    """A name with spaces or punctuation is refused with a hint."""
    with pytest.raises(CadenceDefinitionError, match="tool name"):
        tool(name="get weather")(lambda city: city)


def test_bad_resilience_option_fails_at_definition() -> None:
    """@tool(retry=...) is validated by the resilience layer when the tool is defined."""

    def lookup(city: str) -> str:
        return city

    with pytest.raises(CadenceDefinitionError, match="retry"):
        tool(retry=-1)(lookup)


def test_local_score_class_in_the_annotation_is_fine() -> None:
    """A score annotated with a class local to a function does not block the schema."""

    class LocalScore:
        pass

    @tool
    def mark(score: LocalScore, flag: bool) -> None:
        return None

    assert mark.parameters["properties"] == {"flag": {"type": "boolean"}}


def test_unresolvable_argument_type_is_a_clear_definition_error() -> None:
    """An argument type that cannot be resolved fails with a hint to define it at module level."""

    class LocalArg(BaseModel):
        x: int

    def use(arg: LocalArg) -> None:
        return None

    with pytest.raises(CadenceDefinitionError, match="module level"):
        tool(use)
