"""Shared helpers for the codegen tests: a small registry of real notes and a score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cadence import Cadence


@dataclass
class OrderScore:
    """The score the generated cadences run on."""

    trace: list[str] = field(default_factory=list)
    express: bool = True


async def load_order(score: OrderScore) -> None:
    """Load the order."""
    score.trace.append("load")


async def fetch_prices(score: OrderScore) -> None:
    """Look up prices."""
    score.trace.append("prices")


async def fetch_stock(score: OrderScore) -> None:
    """Look up stock."""
    score.trace.append("stock")


def is_express(score: OrderScore) -> bool:
    """True for express orders."""
    return score.express


async def ship_express(score: OrderScore) -> None:
    """Ship with the express courier."""
    score.trace.append("express")


async def ship_standard(score: OrderScore) -> None:
    """Ship normally."""
    score.trace.append("standard")


def merge_payment(parent: OrderScore, child: OrderScore) -> None:
    """Copy the payment result back."""
    parent.trace.append("merged")


def report_failure(score: OrderScore, error: BaseException) -> None:
    """Report a failed step."""
    score.trace.append("failed")


payment_flow = Cadence("payment", OrderScore()).then("charge", load_order)


def registry() -> dict[str, Any]:
    """Names a generated cadence may use."""
    return {
        "load_order": load_order,
        "fetch_prices": fetch_prices,
        "fetch_stock": fetch_stock,
        "is_express": is_express,
        "ship_express": ship_express,
        "ship_standard": ship_standard,
        "merge_payment": merge_payment,
        "report_failure": report_failure,
        "payment_flow": payment_flow,
    }


GOOD = (
    "(\n"
    '    Cadence("order", score)\n'
    '    .then("load", load_order)\n'
    '    .sync("enrich", [fetch_prices, fetch_stock])\n'
    '    .split("ship", is_express, [ship_express], [ship_standard])\n'
    ")"
)


#: A task GOOD does exactly (no task-grounding findings).
TASK = (
    "Load the order, then fetch the prices and the stock at the same time. "
    "If the order is express, ship it express; otherwise ship it normally."
)


def fenced(code: str) -> str:
    """An answer as a chatty model writes it."""
    return f"Here is the cadence:\n```python\n{code}\n```\nIt loads, enriches and ships."
