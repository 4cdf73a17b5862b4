"""The plan path through the real OpenAI and Anthropic SDKs (HTTP intercepted by respx): the
registry-narrowed plan schema goes out as the provider's structured output, and the plan that
comes back is rendered, validated and built."""

from __future__ import annotations

import json

import respx

from cadence_llm import AnthropicModel, OpenAIModel
from cadence_llm.codegen import generate_cadence
from tests.llm.conftest import ANTHROPIC_URL, OPENAI_URL, anthropic_message, openai_completion

from .support import OrderScore, registry
from .test_repair_loop import PLAN, PLAN_TASK


def _kinds(schema: dict) -> list[str]:
    return [
        v["properties"]["kind"]["const"] for v in schema["properties"]["steps"]["items"]["anyOf"]
    ]


@respx.mock
async def test_openai_gets_the_plan_schema_and_its_plan_is_built():
    """OpenAI receives response_format json_schema "plan" narrowed to the registry's names; the
    JSON it returns becomes a built cadence."""
    from openai import AsyncOpenAI

    route = respx.post(OPENAI_URL).respond(200, json=openai_completion(json.dumps(PLAN)))
    model = OpenAIModel("gpt-4o-mini", client=AsyncOpenAI(api_key="sk-test"))
    gen = await generate_cadence(model, PLAN_TASK, registry(), OrderScore)
    assert route.call_count == 1 and gen.ok and gen.cadence is not None
    sent = json.loads(route.calls[0].request.content)["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "plan"
    schema = sent["json_schema"]["schema"]
    assert "child" in _kinds(schema)
    child = next(
        v for v in schema["properties"]["steps"]["items"]["anyOf"] if "cadence" in v["properties"]
    )
    assert child["properties"]["cadence"]["enum"] == ["payment_flow"]
    assert (await gen.cadence.run(OrderScore())).trace == ["load", "merged"]


@respx.mock
async def test_anthropic_gets_the_plan_schema_and_its_plan_is_built():
    """Anthropic receives the plan schema as output_config json_schema (after the SDK's
    transform_schema); the JSON it returns becomes a built cadence."""
    from anthropic import AsyncAnthropic

    body = anthropic_message([{"type": "text", "text": json.dumps(PLAN)}])
    route = respx.post(ANTHROPIC_URL).respond(200, json=body)
    model = AnthropicModel("claude-sonnet-4-5", client=AsyncAnthropic(api_key="sk-ant-test"))
    gen = await generate_cadence(model, PLAN_TASK, registry(), OrderScore)
    assert route.call_count == 1 and gen.ok and gen.cadence is not None
    fmt = json.loads(route.calls[0].request.content)["output_config"]["format"]
    assert fmt["type"] == "json_schema" and "child" in _kinds(fmt["schema"])
    assert (await gen.cadence.run(OrderScore())).trace == ["load", "merged"]
