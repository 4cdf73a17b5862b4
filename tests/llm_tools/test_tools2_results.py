"""Tool results the model reads: dataclasses, enums, dates and bytes as JSON, not Python reprs."""

from __future__ import annotations

import datetime
import enum
import json
from dataclasses import dataclass

from cadence_llm import ToolBox, ToolCall, tool
from cadence_llm.tools import render_result


class Status(enum.Enum):
    SHIPPED = "shipped"


@dataclass
class Order:
    id: int
    placed: datetime.date
    status: Status


def test_a_dataclass_result_is_a_json_object() -> None:
    """A returned dataclass is sent as an object, its enum as the value, its date in ISO form."""
    text = render_result([Order(7, datetime.date(2024, 5, 1), Status.SHIPPED)])
    assert json.loads(text) == [{"id": 7, "placed": "2024-05-01", "status": "shipped"}]


def test_enum_datetime_and_bytes_results_read_as_values() -> None:
    """An enum is its value, a datetime ISO 8601, UTF-8 bytes their text; other bytes a repr."""
    assert render_result(Status.SHIPPED) == '"shipped"'
    assert render_result(datetime.datetime(2024, 5, 1, 9, 30)) == '"2024-05-01T09:30:00"'
    assert render_result({"body": b"h\xc3\xa9"}) == '{"body": "hé"}'
    assert render_result(b"\xff") == json.dumps(str(b"\xff"))


async def test_a_tool_returning_a_dataclass_sends_json_and_keeps_the_value() -> None:
    """Through ToolBox.run the message holds the JSON and the outcome the dataclass itself."""

    @tool
    def find_order(order_id: int) -> Order:
        """Find an order."""
        return Order(order_id, datetime.date(2024, 5, 1), Status.SHIPPED)

    [out] = await ToolBox([find_order]).run(
        [ToolCall(id="a", name="find_order", arguments='{"order_id": 3}')]
    )
    assert out.ok and isinstance(out.value, Order)
    assert json.loads(out.message.content) == {"id": 3, "placed": "2024-05-01", "status": "shipped"}
