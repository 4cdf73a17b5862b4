"""ToolBox.run edges: generator functions refused, a validator's own exception stays in its call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel, field_validator

from cadence import CadenceDefinitionError
from cadence_llm import ToolBox, ToolCall, tool


def rows(n: int) -> Iterator[int]:
    """Yield rows."""
    yield from range(n)


async def stream_rows(n: int) -> AsyncIterator[int]:
    """Yield rows, async."""
    for i in range(n):
        yield i


@pytest.mark.parametrize("fn", [rows, stream_rows])
def test_a_generator_function_is_refused_at_definition(fn: object) -> None:
    """Its body would never run and the model would read '<generator object ...>'."""
    with pytest.raises(CadenceDefinitionError, match="generator function; a tool returns"):
        tool(fn)  # type: ignore[call-overload]


class Quantity(BaseModel):
    n: int

    @field_validator("n")
    @classmethod
    def small(cls, value: int) -> int:
        if value > 10:
            raise LookupError(f"no stock for {value}")  # not a ValueError: pydantic passes it on
        return value


@tool
def reserve(quantity: Quantity) -> str:
    """Reserve stock."""
    return f"reserved {quantity.n}"


@tool
def ping() -> str:
    """Ping."""
    return "pong"


async def test_a_validator_raising_another_error_fails_only_its_call() -> None:
    """The validator's LookupError is that call's error result; the other call still runs."""
    bad, good = await ToolBox([reserve, ping]).run(
        [
            ToolCall(id="a", name="reserve", arguments='{"quantity": {"n": 50}}'),
            ToolCall(id="b", name="ping"),
        ]
    )
    assert not bad.ok and isinstance(bad.error, LookupError)
    assert bad.message.content == "Error: LookupError: no stock for 50"
    assert good.ok and good.message.content == "pong"
