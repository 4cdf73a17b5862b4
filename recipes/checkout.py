"""The seed's checkout flow as a service would run it: retries, a timeout, a fallback, events,
checkpoints, and a resume after a crash that charges the card only once.

What it shows:

- ``@note(retry=..., timeout=...)``: the payment gateway drops the first connection; the retry
  policy tries again after a short backoff (``note.retrying`` is printed).
- ``@note(fallback=...)``: the confirmation email service is down; the fallback records
  "email queued" instead of failing the order.
- ``.sync("prepare", [calculate_total, reserve_stock])``: two independent steps at once.
- ``EventEmitter``: every lifecycle event is printed as it happens.
- ``with_checkpoint(SQLiteCheckpointStore(...), run_id=order_id)``: the score is saved after
  every step. The first run crashes while shipping (a simulated process crash, after the card
  was charged); the second run -- a new store object on the same file, as a restarted process
  would have -- skips the completed steps and finishes. The payment gateway sees one charge.

Run: ``python -m recipes.checkout``. No model, no network.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence import Cadence, Score, note
from cadence.checkpoint import SQLiteCheckpointStore
from cadence.events import CadenceEvent, EventEmitter
from recipes._models import no_arguments, say


class SimulatedCrash(Exception):
    """Stands in for the process dying (a deploy, an OOM kill) in the middle of a step."""


class Services:
    """Stand-ins for the inventory, payment, shipping and email services."""

    def __init__(self, *, crash_shipping: bool = True) -> None:
        self.charges: list[tuple[str, float]] = []
        self.payment_calls = 0
        self.crash_shipping = crash_shipping
        self.reserved: list[str] = []

    async def items(self, order_id: str) -> list[dict[str, Any]]:
        await asyncio.sleep(0.01)
        return [{"sku": "book", "price": 12.5}, {"sku": "pen", "price": 2.0}]

    async def charge(self, order_id: str, amount: float) -> str:
        self.payment_calls += 1
        await asyncio.sleep(0.01)
        if self.payment_calls == 1:
            raise ConnectionError("payment gateway reset the connection")
        self.charges.append((order_id, amount))
        return f"tx-{order_id.lower()}"

    async def ship(self, order_id: str) -> str:
        await asyncio.sleep(0.01)
        if self.crash_shipping:
            self.crash_shipping = False  # the restarted process finds the service healthy
            raise SimulatedCrash("the worker died while booking the courier")
        return f"parcel-{order_id.lower()}"

    async def email(self, order_id: str) -> None:
        raise ConnectionError("mail relay unavailable")


@dataclass
class OrderScore(Score):
    """An order going through checkout."""

    order_id: str = "ORD-123"
    items: list[dict[str, Any]] = field(default_factory=list)
    total: float = 0.0
    reserved: bool = False
    transaction: str = ""
    parcel: str = ""
    email: str = ""


def build(
    services: Services, store: Any, *, events: list[str] | None = None
) -> Cadence[OrderScore]:
    """The checkout cadence over ``services``, checkpointed in ``store``.

    Args:
        services: The (stand-in) services.
        store: A checkpoint store.
        events: A list that receives every event line (they are also printed).
    """

    @note
    async def fetch_items(score: OrderScore) -> None:
        score.items = await services.items(score.order_id)

    def calculate_total(score: OrderScore) -> None:
        score.total = sum(float(item["price"]) for item in score.items)

    async def reserve_stock(score: OrderScore) -> None:
        services.reserved.append(score.order_id)
        score.reserved = True

    @note(retry={"max_attempts": 3, "delay": 0.05, "backoff": "exponential"}, timeout=2.0)
    async def process_payment(score: OrderScore) -> None:
        score.transaction = await services.charge(score.order_id, score.total)

    @note(timeout=2.0)
    async def ship(score: OrderScore) -> None:
        score.parcel = await services.ship(score.order_id)

    @note(fallback={"default": "queued for retry", "field": "email"})
    async def send_confirmation(score: OrderScore) -> None:
        await services.email(score.order_id)
        score.email = "sent"

    def show(event: CadenceEvent) -> None:
        line = f"  {event.event_type:<18} {event.note_name or event.cadence_name}"
        if event.error is not None:
            line += f"  ({type(event.error).__name__}: {event.error})"
        if events is not None:
            events.append(line)
        say(line)

    emitter = EventEmitter().on("*", show)
    return (
        Cadence("checkout", OrderScore())
        .with_hooks(emitter)
        .with_checkpoint(store)
        .then("fetch_items", fetch_items)
        .sync("prepare", [calculate_total, reserve_stock])
        .then("process_payment", process_payment)
        .then("ship", ship)
        .then("send_confirmation", send_confirmation)
    )


async def main(*, directory: Path | None = None) -> tuple[OrderScore, Services]:
    """Run checkout until the simulated crash, then resume it; print events and the outcome."""
    started = time.perf_counter()
    services = Services()
    with tempfile.TemporaryDirectory() as tmp:
        db = (directory or Path(tmp)) / "checkpoints.db"
        order = OrderScore(order_id="ORD-123")

        say("first run (the worker will crash while shipping):")
        store = SQLiteCheckpointStore(db)
        try:
            await build(services, store).run(order, run_id=order.order_id)
        except Exception as exc:
            say(f"  crashed: {exc}")
        saved = await store.get_completed_measures("checkout", order.order_id)
        say(f"  checkpoints saved for: {sorted(saved)}")
        await store.aclose()

        say("second run (a restarted worker, same run id):")
        store = SQLiteCheckpointStore(db)
        final = await build(services, store).run(OrderScore(order_id="ORD-123"), run_id="ORD-123")
        await store.aclose()

    say(
        f"order {final.order_id}: total={final.total} tx={final.transaction} "
        f"parcel={final.parcel} email={final.email}"
    )
    say(
        f"payment gateway: {services.payment_calls} calls, {len(services.charges)} charge "
        f"(the retry absorbed the reset; the resume did not charge again)"
    )
    say(f"  ({time.perf_counter() - started:.1f}s)")
    return final, services


if __name__ == "__main__":
    no_arguments(__doc__, "checkout")
    asyncio.run(main())
