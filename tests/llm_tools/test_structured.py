"""generate(): structured output validated against a pydantic model, re-asked when invalid."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from cadence import CadenceDefinitionError
from cadence_llm import (
    ModelRequest,
    ScriptedModel,
    StructuredOutputError,
    SystemMessage,
    UserMessage,
    generate,
)


class Invoice(BaseModel):
    customer: str
    total: float = Field(ge=0)
    lines: list[str] = []


async def test_valid_answer_is_returned_validated() -> None:
    """A valid first answer is parsed into the model with one call, under a JSON-schema format."""
    model = ScriptedModel(['{"customer": "ACME", "total": 12.5}'])
    invoice = await generate(model, "Extract the invoice", response_model=Invoice)
    assert invoice == Invoice(customer="ACME", total=12.5)
    fmt = model.requests[0].response_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.name == "Invoice"
    assert fmt.schema_ == Invoice.model_json_schema()


async def test_invalid_answers_are_repaired_within_the_limit() -> None:
    """Invalid answers are re-asked with their validation errors until one validates."""
    model = ScriptedModel(
        [
            "Sure! Here it is: total twelve",
            '{"customer": "ACME", "total": -3}',
            '{"customer": "ACME", "total": 3}',
        ]
    )
    invoice = await generate(model, "Extract", response_model=Invoice, max_retries=2)
    assert invoice.total == 3 and model.calls == 3
    second = model.requests[1].messages
    assert second[-2].content == "Sure! Here it is: total twelve"
    assert isinstance(second[-1], UserMessage) and "not valid" in second[-1].content
    third = model.requests[2].messages[-1].content
    assert "total" in third and "greater than or equal to 0" in third


async def test_limit_reached_raises_with_the_last_raw_output() -> None:
    """When every allowed answer is invalid the error carries the last raw output and errors."""
    model = ScriptedModel(['{"customer": 1}', '{"total": "x"}'])
    with pytest.raises(StructuredOutputError) as info:
        await generate(model, "Extract", response_model=Invoice, max_retries=1)
    err = info.value
    assert err.raw == '{"total": "x"}' and err.attempts == 2 and model.calls == 2
    assert "customer" in err.errors and err.code == "STRUCTURED_OUTPUT_INVALID"
    assert '{"total": "x"}' in err.message and "max_retries=1" in err.message


async def test_max_retries_zero_means_one_attempt() -> None:
    """max_retries=0 never re-asks."""
    model = ScriptedModel(["nope"])
    with pytest.raises(StructuredOutputError):
        await generate(model, "Extract", response_model=Invoice, max_retries=0)
    assert model.calls == 1


async def test_code_fences_and_surrounding_text_are_tolerated() -> None:
    """JSON inside a code fence or after a sentence still validates without a re-ask."""
    model = ScriptedModel(
        [
            '```json\n{"customer": "A", "total": 1}\n```',
            'Result: {"customer": "B", "total": 2} hope it helps',
        ]
    )
    assert (await generate(model, "x", response_model=Invoice)).customer == "A"
    assert (await generate(model, "x", response_model=Invoice)).customer == "B"
    assert model.calls == 2


async def test_system_prompt_and_request_options_are_kept() -> None:
    """A system prompt comes first; a ModelRequest's options survive the re-ask."""
    model = ScriptedModel(['{"customer": "A", "total": -1}', '{"customer": "A", "total": 1}'])
    request = ModelRequest.of("Extract", temperature=0.0, max_tokens=64)
    await generate(model, request, response_model=Invoice, system="Be exact.")
    for sent in model.requests:
        assert sent.messages[0] == SystemMessage(content="Be exact.")
        assert sent.temperature == 0.0 and sent.max_tokens == 64


async def test_response_model_must_be_a_pydantic_model() -> None:
    """A non-model response_model or a negative max_retries fails before calling the model."""
    model = ScriptedModel(["{}"])
    with pytest.raises(CadenceDefinitionError, match="pydantic model"):
        await generate(model, "x", response_model=dict)  # type: ignore[type-var]
    with pytest.raises(CadenceDefinitionError, match="max_retries"):
        await generate(model, "x", response_model=Invoice, max_retries=-1)
    assert model.calls == 0


async def test_raw_newlines_inside_strings_are_accepted() -> None:
    """Grammar-constrained output with raw newlines inside a string still validates."""
    model = ScriptedModel(['{"customer": "ACME\nLtd", "total": 1}'])
    invoice = await generate(model, "x", response_model=Invoice)
    assert invoice.customer == "ACME\nLtd" and model.calls == 1
