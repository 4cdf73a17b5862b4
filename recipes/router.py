"""Intent routing: a model picks one of fixed labels, and ``.split`` sends the ticket on.

What it shows:

- ``classify(model, labels=[...])``: the answer is constrained to the labels -- a JSON schema
  whose ``label`` is an enum, enforced by constrained decoding on the local model and validated
  (and re-asked) by pydantic -- so the routing code never sees a label it does not handle.
- ``.split(name, route.is_("billing"), if_true=[...])``: conditions built from the classifier.
  The label is stored in ``score.intent`` by the ``classify`` step, so the three splits that
  follow reuse it instead of asking the model again.
- One definition, many runs: the same cadence routes every ticket, each run on its own score.

Run: ``python -m recipes.router`` (or pass a ticket: ``python -m recipes.router "My card was
charged twice"``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cadence import Cadence, Score
from cadence_llm import Model, classify
from recipes._models import command_words, load_model, run, say

LABELS = ("billing", "technical", "sales")
TICKETS = (
    "I was charged twice for my subscription this month, please refund one payment.",
    "The app crashes with an error every time I upload a photo.",
    "Do you offer a discount if we buy 50 licenses for our team?",
)


@dataclass
class Ticket(Score):
    """A support ticket on its way to a desk."""

    message: str = ""
    intent: str = ""
    desk: str = ""
    reply: str = ""


def billing_desk(ticket: Ticket) -> None:
    """Billing handles charges, refunds and invoices."""
    ticket.desk, ticket.reply = "billing", "A billing specialist will review your charges today."


def tech_desk(ticket: Ticket) -> None:
    """Engineering support handles errors and bugs."""
    ticket.desk, ticket.reply = "technical", "We opened a bug report; support will follow up."


def sales_desk(ticket: Ticket) -> None:
    """Sales handles pricing and volume questions."""
    ticket.desk, ticket.reply = "sales", "A sales rep will send you a volume quote."


def build(model: Model | None = None) -> Cadence[Ticket]:
    """The routing cadence: classify once, then one ``.split`` per desk.

    Args:
        model: The classifying model (default: the recipes' model).
    """
    route = classify(
        model or load_model(),
        labels=LABELS,
        text="{message}",
        into="intent",
        instructions=(
            "Route the support ticket: billing = charges, refunds, invoices; technical = errors, "
            "bugs, crashes; sales = prices, discounts, buying."
        ),
    )
    return (
        Cadence("router", Ticket())
        .then("classify", route)
        .split("billing?", route.is_("billing"), if_true=[billing_desk])
        .split("technical?", route.is_("technical"), if_true=[tech_desk])
        .split("sales?", route.is_("sales"), if_true=[sales_desk])
    )


async def main(tickets: tuple[str, ...] = TICKETS, *, model: Model | None = None) -> list[Ticket]:
    """Route each ticket with one cadence definition and print where it went."""
    cadence = build(model)
    results = []
    for message in tickets:
        started = time.perf_counter()
        ticket = await cadence.run(Ticket(message=message))
        say(
            f"{message}\n  -> {ticket.intent} desk: {ticket.reply} ({time.perf_counter() - started:.1f}s)"
        )
        results.append(ticket)
    return results


if __name__ == "__main__":
    run(main(tuple(command_words(__doc__)) or TICKETS))
