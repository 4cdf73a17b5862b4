"""The score and notes the web compatibility tests run."""

from __future__ import annotations

from dataclasses import dataclass

from cadence import Score


@dataclass
class Order(Score):
    order_id: str = ""
    status: str = "new"


async def process(score: Order) -> None:
    score.status = "processed"


async def fail(score: Order) -> None:
    raise ValueError("secret internal detail")


def as_dict(score: Order) -> dict[str, str]:
    return {"order_id": score.order_id, "status": score.status}
