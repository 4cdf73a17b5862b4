"""A cadence and a cadence tool served over MCP by ``ToolServer`` (run by the tests).

``python -m tests.mcp_tools.cadence_app`` serves stdio; ``... http PORT`` Streamable HTTP.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from cadence import Cadence, Score
from cadence_llm import cadence_tool, tool
from cadence_llm.mcp import ToolServer


@dataclass
class Quote(Score):
    """Price an order of an item."""

    item: str = ""
    quantity: int = 1
    unit_price: float = 0.0
    total: float = 0.0
    steps: list[str] = field(default_factory=list)


PRICES = {"tea": 2.5, "cake": 4.0}


def look_up(score: Quote) -> None:
    score.unit_price = PRICES[score.item]
    score.steps.append("look_up")


def multiply(score: Quote) -> None:
    score.total = score.unit_price * score.quantity
    score.steps.append("multiply")


quote = Cadence("quote", Quote()).then("look_up", look_up).then("multiply", multiply)


@tool
def stock(item: str) -> dict[str, int]:
    """How many of an item are in stock.

    Args:
        item: The item's name.
    """
    return {"item_count": {"tea": 12, "cake": 0}[item]}


server = ToolServer(
    "shop", [cadence_tool(quote, inputs=["item", "quantity"]), stock], version="1.0"
)

if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", port=int(sys.argv[2]))
    else:
        server.run()
