"""The seed README's two headline examples — a checkout flow and a RAG pipeline — on stand-in
services, printed with their results and Mermaid diagrams.

Run: ``python -m recipes.seed_tour``. No network, no API key: the services are small in-process
fakes with realistic latency, so the parallel retrieval visibly overlaps.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from cadence import Cadence, Score, note, to_mermaid
from recipes._models import no_arguments


class Inventory:
    """Stand-in for an order database."""

    async def get_items(self, order_id: str) -> list[dict[str, float | str]]:
        await asyncio.sleep(0.02)
        return [{"sku": "book", "price": 12.5}, {"sku": "pen", "price": 2.0}]


class Payments:
    """Stand-in payment provider that fails the first call, as real ones sometimes do."""

    def __init__(self) -> None:
        self.calls = 0

    async def charge(self, order_id: str, amount: float) -> str:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.calls == 1:
            raise ConnectionError("payment gateway reset the connection")
        return f"tx-{order_id.lower()}"


db = Inventory()
payment_service = Payments()


@dataclass
class OrderScore(Score):
    order_id: str
    items: list[dict[str, float | str]] = field(default_factory=list)
    total: float = 0.0
    status: str = "pending"
    transaction: str = ""


@note
async def fetch_items(score: OrderScore) -> None:
    score.items = await db.get_items(score.order_id)


@note
def calculate_total(score: OrderScore) -> None:
    score.total = sum(float(item["price"]) for item in score.items)


@note(retry={"max_attempts": 3, "delay": 0.05, "backoff": "exponential"}, timeout=2.0)
async def process_payment(score: OrderScore) -> None:
    score.transaction = await payment_service.charge(score.order_id, score.total)
    score.status = "paid"


checkout = (
    Cadence("checkout", OrderScore(order_id="ORD-123"))
    .then("fetch_items", fetch_items)
    .then("calculate_total", calculate_total)
    .then("process_payment", process_payment)
)


@dataclass
class RAGScore(Score):
    query: str
    context: list[str] = field(default_factory=list)
    answer: str = ""


DOCS = {
    "cadence": "Cadence is a declarative orchestration DSL: then, sync, split, child.",
    "sync": ".sync runs tasks in parallel on isolated views and merges their changes.",
}


@note(timeout=5.0)
async def retrieve(score: RAGScore) -> None:
    await asyncio.sleep(0.05)  # vector search latency
    score.context = [text for key, text in DOCS.items() if key in score.query.lower()]


@note(fallback={"default": [], "field": "context"}, timeout=10.0)
async def web_search(score: RAGScore) -> None:
    await asyncio.sleep(0.05)  # web search latency, overlapping the vector search
    score.context += [f"web: {score.query} — top result"]


@note(retry={"max_attempts": 3, "backoff": "exponential"}, timeout=30.0)
async def generate(score: RAGScore) -> None:
    sources = "; ".join(score.context)
    score.answer = f"Q: {score.query}\nA (from {len(score.context)} sources): {sources}"


rag = (
    Cadence("rag", RAGScore(query="What is Cadence sync?"))
    .sync("retrieve", [retrieve, web_search])
    .then("generate", generate)
)


async def main() -> None:
    random.seed(0)
    t0 = time.perf_counter()
    order = await checkout.run()
    print(
        f"checkout: order {order.order_id} {order.status} total={order.total} tx={order.transaction}"
    )
    print(f"          (payment succeeded on attempt {payment_service.calls} after a reset)")
    print(to_mermaid(checkout))
    t1 = time.perf_counter()
    answer = await rag.run()
    t2 = time.perf_counter()
    print(answer.answer)
    print(f"rag: two 50 ms retrievers ran in parallel; the run took {1000 * (t2 - t1):.0f} ms")
    print(to_mermaid(rag))
    print(f"total {1000 * (t2 - t0):.0f} ms")


if __name__ == "__main__":
    no_arguments(__doc__, "seed_tour")
    asyncio.run(main())
