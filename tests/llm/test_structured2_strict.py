"""Structured output and tools through the real openai SDK: strict only where OpenAI takes it.

OpenAI refuses a schema sent with ``strict: true`` when an object's ``additionalProperties`` is
a schema (a ``dict[str, X]`` field) or a ``$ref`` has sibling keys (a described enum
parameter); such schemas go non-strict, and the answer is validated and re-asked as usual.
"""

from __future__ import annotations

import enum

import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field

from cadence_llm import (
    ContentFilteredError,
    ModelRequest,
    OpenAIModel,
    OpenAIResponsesModel,
    ToolDefinition,
    generate,
    tool,
)

from ._provider_server import ProviderServer, reply
from ._provider_server import provider as provider  # the fixture, used by name
from .test_provider_server import RESPONSE, completion


class Counts(BaseModel):
    customer: str
    per_item: dict[str, int]


class Invoice(BaseModel):
    customer: str
    total: float = Field(ge=0)


def openai(provider: ProviderServer) -> OpenAIModel:
    """OpenAIModel on the provider server, without SDK retries."""
    return OpenAIModel("gpt", client=AsyncOpenAI(api_key="k", base_url=provider.url, max_retries=0))


async def test_a_dict_field_is_sent_without_strict(provider: ProviderServer) -> None:
    """A response model with a dict field goes as its own schema, not strict, and validates."""
    provider.script(reply(200, completion('{"customer": "ACME", "per_item": {"bolt": 3}}')))
    model = openai(provider)
    try:
        counts = await generate(model, "Count", response_model=Counts)
    finally:
        await model.aclose()
    assert counts.per_item == {"bolt": 3}
    spec = provider.bodies[0]["response_format"]["json_schema"]
    assert "strict" not in spec
    assert spec["schema"] == Counts.model_json_schema()


async def test_a_closed_model_is_still_sent_strict(provider: ProviderServer) -> None:
    """A model strict mode can express keeps the SDK's strict schema."""
    provider.script(reply(200, completion('{"customer": "ACME", "total": 2}')))
    model = openai(provider)
    try:
        await generate(model, "Extract", response_model=Invoice)
    finally:
        await model.aclose()
    spec = provider.bodies[0]["response_format"]["json_schema"]
    assert spec["strict"] is True and spec["schema"]["additionalProperties"] is False


async def test_reask_then_refusal_over_the_wire(provider: ProviderServer) -> None:
    """An invalid answer is re-asked with its error; a refusal then raises without a re-ask."""
    refused = completion(None)
    refused["choices"][0]["message"]["refusal"] = "I can't help with that."
    provider.script(
        reply(200, completion('{"customer": "ACME", "total": -1}')), reply(200, refused)
    )
    model = openai(provider)
    try:
        with pytest.raises(ContentFilteredError, match="can't help"):
            await generate(model, "Extract", response_model=Invoice, max_retries=3)
    finally:
        await model.aclose()
    assert len(provider.bodies) == 2
    assert "greater than or equal to 0" in provider.bodies[1]["messages"][-1]["content"]


class Unit(enum.Enum):
    CELSIUS = "celsius"


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str


@tool
def convert(value: float, unit: Unit) -> str:
    """Convert a temperature.

    Args:
        value: The temperature.
        unit: Its unit.
    """
    return "ok"


@tool
def visit(place: Closed, days: int) -> str:
    """Plan a visit."""
    return "ok"


async def test_responses_tools_are_strict_only_when_openai_takes_them(
    provider: ProviderServer,
) -> None:
    """A described enum parameter ($ref with a sibling) is not strict; a plain $ref tool is."""
    provider.script(reply(200, {**RESPONSE, "status": "completed", "output": []}))
    model = OpenAIResponsesModel(
        "gpt", client=AsyncOpenAI(api_key="k", base_url=provider.url, max_retries=0)
    )
    tools: tuple[ToolDefinition, ...] = (convert.definition, visit.definition)
    try:
        await model.complete(ModelRequest.of("go", tools=tools))
    finally:
        await model.aclose()
    sent = {t["name"]: t["strict"] for t in provider.bodies[0]["tools"]}
    assert sent == {"convert": False, "visit": True}
