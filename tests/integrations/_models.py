"""Scores, notes and cadences shared by the web integration tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cadence import Cadence, CircuitOpenError, Score, TimeoutError, note


@dataclass
class OrderScore(Score):
    """The seed's order score."""

    order_id: str
    items: list[Any] | None = None
    total: float = 0.0
    status: str = "pending"
    trail: list[str] = field(default_factory=list)


class PaymentDeclined(Exception):
    """A domain error a user maps to 402."""


@note
async def fetch_items(score: OrderScore) -> None:
    await asyncio.sleep(0)
    score.items = [{"sku": f"{score.order_id}-a", "price": 2.5}, {"sku": "b", "price": 1.0}]
    score.trail.append("fetch")


@note
async def calculate_total(score: OrderScore) -> None:
    await asyncio.sleep(0)
    score.total = sum(i["price"] for i in score.items or [])
    score.trail.append("total")


@note
async def process_payment(score: OrderScore) -> None:
    await asyncio.sleep(0)
    if score.order_id.startswith("declined"):
        raise PaymentDeclined(f"card of {score.order_id} declined; secret=hunter2")
    if score.order_id.startswith("breaker"):
        raise CircuitOpenError("payments breaker open", breaker="payments", retry_after=12.2)
    if score.order_id.startswith("slow"):
        raise TimeoutError("payment call exceeded 5s", timeout=5.0, note_name="process_payment")
    score.status = "paid"
    score.trail.append("pay")


def checkout() -> Cadence[OrderScore]:
    """A fresh copy of the seed's checkout cadence."""
    return (
        Cadence("checkout", OrderScore(order_id="ORD-123"))
        .then("fetch_items", fetch_items)
        .then("calculate_total", calculate_total)
        .then("process_payment", process_payment)
    )


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of an SSE body; comments (pings) are skipped."""
    import json

    events = []
    for block in text.strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events
