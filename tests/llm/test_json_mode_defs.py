"""JSON tool mode merges the tools' $defs without letting two same-named models overwrite each other."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from cadence_llm import tool
from cadence_llm._agent_json import json_mode_schema
from cadence_llm.tools import Tool, ToolBox


def with_options(name: str, field: str) -> Tool:
    """A tool taking an ``Options`` model with one required int field named ``field``."""
    Options = type("Options", (BaseModel,), {"__annotations__": {field: int}})

    def run(q, opts):  # type: ignore[no-untyped-def]
        """Run."""
        return q

    run.__annotations__ = {"q": str, "opts": Options, "return": str}  # local classes
    return tool(name=name)(run)


def with_nested(name: str, field: str) -> Tool:
    """A tool whose ``Options`` (equal in every tool) refers to a tool-specific ``Inner``."""
    Inner = type("Inner", (BaseModel,), {"__annotations__": {field: int}})
    Options = type("Options", (BaseModel,), {"__annotations__": {"inner": Inner}})

    def run(opts):  # type: ignore[no-untyped-def]
        """Run."""
        return ""

    run.__annotations__ = {"opts": Options, "return": str}  # local classes
    return tool(name=name)(run)


def turn(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}], "answer": ""}


def check(schema: dict[str, Any], name: str, arguments: dict[str, Any], *, valid: bool) -> None:
    if valid:
        jsonschema.validate(turn(name, arguments), schema)
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(turn(name, arguments), schema)


def test_same_named_defs_of_different_tools_stay_apart():
    """Each tool's arguments validate against its own Options, not the other tool's."""
    search, translate = with_options("search", "limit"), with_options("translate", "size")
    schema = json_mode_schema(ToolBox([search, translate]), "auto")
    assert len(schema["$defs"]) == 2
    check(schema, "search", {"q": "a", "opts": {"limit": 3}}, valid=True)
    check(schema, "translate", {"q": "a", "opts": {"size": 3}}, valid=True)
    check(schema, "search", {"q": "a", "opts": {"size": 3}}, valid=False)
    check(schema, "translate", {"q": "a", "opts": {"limit": 3}}, valid=False)
    first = schema["properties"]["tool_calls"]["items"]["anyOf"][0]["properties"]["arguments"]
    assert first["properties"]["opts"] == {"$ref": "#/$defs/Options"}  # the first keeps its name


def test_equal_defs_are_shared_under_their_name():
    """Two tools taking equal models share one def, unrenamed."""
    schema = json_mode_schema(
        ToolBox([with_options("search", "limit"), with_options("find", "limit")]), "auto"
    )
    assert list(schema["$defs"]) == ["Options"]
    check(schema, "find", {"q": "a", "opts": {"limit": 1}}, valid=True)


def test_a_def_that_refers_to_a_renamed_def_is_renamed_too():
    """An equal-looking Options whose Inner differs is kept apart along with its Inner."""
    schema = json_mode_schema(ToolBox([with_nested("a", "x"), with_nested("b", "y")]), "auto")
    assert len(schema["$defs"]) == 4
    check(schema, "a", {"opts": {"inner": {"x": 1}}}, valid=True)
    check(schema, "b", {"opts": {"inner": {"y": 1}}}, valid=True)
    check(schema, "b", {"opts": {"inner": {"x": 1}}}, valid=False)


def test_a_tool_def_does_not_overwrite_the_answers_def():
    """The typed answer's Options and a tool's different Options both survive."""
    answer = with_options("unused", "total").parameters["$defs"]["Options"]
    answer_schema = {
        "type": "object",
        "properties": {"opts": {"$ref": "#/$defs/Options"}},
        "required": ["opts"],
        "$defs": {"Options": answer},
    }
    schema = json_mode_schema(ToolBox([with_options("search", "limit")]), "auto", answer_schema)
    check(schema, "search", {"q": "a", "opts": {"limit": 3}}, valid=True)
    check(schema, "search", {"q": "a", "opts": {"total": 3}}, valid=False)
    final = {"tool_calls": [], "answer": {"opts": {"total": 1}}}
    jsonschema.validate(final, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool_calls": [], "answer": {"opts": {"limit": 1}}}, schema)
