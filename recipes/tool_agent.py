"""An agent over a small SQLite shop: parallel tool calls, then a structured answer.

What it shows:

- Three ``@tool`` functions over an in-memory SQLite database (products, stock, orders,
  customers); every tool's schema is part of each tool-turn prompt, so fewer tools, faster turns. Their JSON schemas come from the type hints; the model's arguments are validated
  before a call, and a bad call goes back to the model as an error result.
- ``agent(...)`` as a note: model -> tools -> model, one step per turn (``turn_1``,
  ``turn_2``...). When a turn asks for several tools they run as one ``.sync`` group -- at the
  same time, each on an isolated view of the score -- so the run timeline shows the calls
  side by side. The question needs two facts (stock and an order's status), so a model that
  batches calls asks for both in its first turn (Qwen2.5-Coder-0.5B, measured, makes one call
  per turn; the scripted model of the tests makes two).
- ``tool_mode="json"``: small local models have no native tool calling, but under a JSON schema
  (constrained decoding) they always produce well-formed calls.
- ``report``: ``llm_note(response_model=ShopAnswer)`` turns the agent's answer into a validated
  pydantic object (re-asked with the validation errors if it does not fit).

Run: ``python -m recipes.tool_agent "Is the trail runner in stock, and where is order A-1002?"``
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from cadence import Cadence, Score
from cadence_llm import AgentEvent, Model, ToolBox, agent, llm_note, tool
from recipes._models import command_words, load_model, run, say

QUESTION = "Is the Trail Runner shoe in stock, and what is the status of order A-1002?"
# A template over score fields (agent system prompts are), so literal braces are doubled.
SYSTEM = (
    "You are a shop assistant. Look facts up with the tools before answering. When a question "
    "needs several facts, call all the tools you need together, in one reply. For example, for "
    '"Is the Road Racer in stock, and where is order A-1001?" reply {{"tool_calls": '
    '[{{"name": "check_stock", "arguments": {{"product": "Road Racer"}}}}, {{"name": '
    '"order_status", "arguments": {{"order_id": "A-1001"}}}}], "answer": ""}}. '
    "Then answer briefly from the tool results."
)

_SCHEMA = """
CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER);
CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT, email TEXT);
CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT, sku TEXT, qty INTEGER, status TEXT);
INSERT INTO products VALUES
  ('TR-01', 'Trail Runner shoe', 89.0, 4), ('RD-02', 'Road Racer shoe', 119.0, 0),
  ('SK-03', 'Merino socks (3 pairs)', 24.5, 40), ('BT-04', 'Hiking boot', 149.0, 2);
INSERT INTO customers VALUES
  ('C-1', 'Ada Lovelace', 'ada@example.com'), ('C-2', 'Alan Turing', 'alan@example.com');
INSERT INTO orders VALUES
  ('A-1001', 'C-1', 'SK-03', 2, 'delivered'), ('A-1002', 'C-1', 'TR-01', 1, 'shipped'),
  ('A-1003', 'C-2', 'BT-04', 1, 'awaiting payment');
"""


class Shop:
    """The shop database; tools query it from worker threads, one query at a time."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""
        with self.lock:
            return [dict(r) for r in self.db.execute(sql, args).fetchall()]


class ShopAnswer(BaseModel):
    """The structured reply the shop's front end renders."""

    answer: str = Field(description="one or two sentences for the customer")
    in_stock: bool = Field(description="whether the product asked about is in stock")
    order_status: str = Field(description="the order's status, or 'unknown'")


@dataclass
class ShopScore(Score):
    """A customer's question, the agent's answer and the structured reply."""

    question: str = QUESTION
    looked_up: list[str] = field(default_factory=list)
    answer: str = ""
    report: ShopAnswer | None = None


def toolbox(shop: Shop) -> ToolBox:
    """The agent's tools over ``shop``; each records what it looked up on the score."""

    @tool
    def search_products(query: str) -> list[dict[str, Any]]:
        """Find products whose name contains the query; returns sku, name, price and stock.

        Args:
            query: A word of the product's name, e.g. "trail".
        """
        words = [w for w in query.lower().replace("shoe", "").split() if w] or [query.lower()]
        found: dict[str, dict[str, Any]] = {}
        for word in words:
            for row in shop.rows("SELECT * FROM products WHERE lower(name) LIKE ?", f"%{word}%"):
                found[row["sku"]] = row
        return list(found.values())

    @tool
    def check_stock(product: str, score: ShopScore) -> list[dict[str, Any]]:
        """Units in stock for a product, by sku (e.g. "TR-01") or by a part of its name.

        Args:
            product: The product's sku or a part of its name, e.g. "Trail Runner".
        """
        score.looked_up.append(f"stock:{product}")
        rows = shop.rows(
            "SELECT sku, name, stock FROM products WHERE sku = ? OR lower(name) LIKE ?",
            product.upper(),
            f"%{product.lower().removesuffix(' shoe').strip()}%",
        )
        return rows or [{"error": f"no product matching {product!r}"}]

    @tool
    def order_status(order_id: str, score: ShopScore) -> dict[str, Any]:
        """An order's status, product and quantity (order ids look like "A-1002").

        Args:
            order_id: The order's id.
        """
        score.looked_up.append(f"order:{order_id}")
        rows = shop.rows(
            "SELECT o.id, o.status, o.qty, p.name AS product FROM orders o "
            "JOIN products p ON p.sku = o.sku WHERE o.id = ?",
            order_id.upper(),
        )
        return rows[0] if rows else {"error": f"no order {order_id}"}

    return ToolBox([search_products, check_stock, order_status])


def _print_event(event: AgentEvent) -> None:
    if event.kind == "turn.completed" and event.tool_calls:
        say(f"  turn {event.turn}: the model asked for {event.tool_calls} tool call(s)")
    elif event.kind == "tool.completed" and event.outcome is not None:
        o = event.outcome
        say(f"    {o.call.name}({o.call.arguments}) -> {o.message.content[:90]}")


def build(
    model: Model | None = None,
    *,
    shop: Shop | None = None,
    question: str = QUESTION,
    verbose: bool = True,
    max_tokens: int = 160,
) -> Cadence[ShopScore]:
    """The agent cadence: ``agent`` (turns with parallel tools), then the structured report.

    Args:
        model: The model (default: the recipes' model).
        shop: The database (default: a fresh in-memory shop).
        question: The question the template score carries.
        verbose: Print each turn's tool calls as they complete.
        max_tokens: Cap on each model answer.
    """
    model = model or load_model()
    options = {"max_tokens": max_tokens, "temperature": 0.0}
    helper = agent(
        model,
        toolbox(shop or Shop()),
        tool_mode="json",
        system=SYSTEM,
        prompt="{question}",
        into="answer",
        # Turn 1 must look something up; turn 2 must answer: two model calls, bounded time.
        tool_choice="required",
        max_turns=2,
        force_final_answer=True,
        on_event=_print_event if verbose else None,
        options=options,
    )
    report = llm_note(
        model,
        prompt="Question: {question}\nFacts found: {answer}\nFill in the reply.",
        into="report",
        response_model=ShopAnswer,
        options=options,
    )
    return (
        Cadence("tool_agent", ShopScore(question=question))
        .then("agent", helper)
        .then("report", report)
    )


async def main(
    question: str = QUESTION, *, model: Model | None = None, **options: Any
) -> ShopScore:
    """Answer ``question`` with the agent and print the turns, tools and structured answer."""
    say(f"Q: {question}")
    started = time.perf_counter()
    result = await build(model, question=question, **options).run(ShopScore(question=question))
    say(f"A: {result.answer}")
    if result.report is not None:
        say(f"structured: {result.report.model_dump_json()}")
    say(f"  ({time.perf_counter() - started:.1f}s)")
    return result


if __name__ == "__main__":
    run(main(" ".join(command_words(__doc__)) or QUESTION))
