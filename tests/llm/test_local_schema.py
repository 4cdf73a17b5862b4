"""The JSON schema handed to llama.cpp converts to a grammar, also for a self-recursive model."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from llama_cpp import LlamaGrammar
from pydantic import BaseModel

from cadence_llm import LocalModel, ModelRequest, OpenAICompatModel, ResponseFormat, generate
from cadence_llm.models._json_schema import inline_root_ref

from .conftest import FakeLlama, openai_completion


class Node(BaseModel):
    name: str
    children: list[Node] = []


def converts(schema: dict[str, Any]) -> bool:
    """Whether llama.cpp's own converter builds a grammar from ``schema`` (it falls back to
    any-JSON silently when it cannot)."""
    try:
        LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except Exception:
        return False
    return True


async def test_a_recursive_models_schema_reaches_llama_cpp_as_a_grammar_it_can_build():
    """generate() with a self-recursive model hands llama.cpp a schema rooted at the model."""
    assert not converts(Node.model_json_schema())  # pydantic's root $ref, as llama.cpp sees it
    answer = {"name": "a", "children": [{"name": "b", "children": []}]}
    llama = FakeLlama(json.dumps(answer))
    tree = await generate(LocalModel("tiny", llama=llama), "A tree", response_model=Node)
    assert tree == Node.model_validate(answer)
    fmt = llama.calls[0]["response_format"]
    assert fmt["type"] == "json_object"
    schema = fmt["schema"]
    assert "$ref" not in schema and schema["type"] == "object"
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"] == Node.model_json_schema()["$defs"]  # kept for the recursion
    assert converts(schema)


@respx.mock
async def test_a_llama_cpp_server_gets_the_inlined_schema_too():
    """OpenAICompatModel's json_object style (llama.cpp's server) sends the same inlined schema."""
    route = respx.post("http://127.0.0.1:8080/v1/chat/completions").respond(
        200, json=openai_completion('{"name": "a", "children": []}')
    )
    model = OpenAICompatModel("local", base_url="http://127.0.0.1:8080/v1")
    fmt = ResponseFormat(type="json_schema", schema=Node.model_json_schema())
    await model.complete(ModelRequest.of("A tree", response_format=fmt))
    sent = json.loads(route.calls[0].request.content)["response_format"]["schema"]
    assert "$ref" not in sent and converts(sent)
    await model.aclose()


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"$ref": "#/$defs/Missing", "$defs": {}},
        {"$ref": "https://example.invalid/schema.json"},
    ],
    ids=["no-root-ref", "dangling", "external"],
)
def test_schemas_without_a_local_root_ref_are_left_alone(schema):
    """Only a root reference into the schema's own definitions is inlined."""
    assert inline_root_ref(schema) == schema


def test_a_root_ref_through_an_alias_and_old_style_definitions():
    """A chain of root references is followed (once each); "definitions" works like "$defs"."""
    schema = {
        "$ref": "#/definitions/Alias",
        "definitions": {"Alias": {"$ref": "#/definitions/T"}, "T": {"type": "integer"}},
    }
    assert inline_root_ref(schema) == {"type": "integer", "definitions": schema["definitions"]}
    loop = {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}}
    assert inline_root_ref(loop)["$ref"] == "#/$defs/A"
