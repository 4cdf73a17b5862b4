"""A cadence written by the model: task + note registry -> code -> validate -> repair ->
diagram -> run.

What it shows:

- ``generate_cadence(model, task, registry, SupportScore)`` shows the model the DSL's grammar,
  worked examples, the score's fields and the registry's notes (with their docstrings), and
  asks for one cadence expression. A local model writes it under a GBNF grammar narrowed to
  the registry's names whose step comments must spell out the task (``mode="grammar"``); other
  models answer in a code block (``mode="text"``).
- ``cadence.validate`` checks the answer statically (unknown names, wrong arguments, a
  condition used as a note...), and a valid answer is checked against the task (steps it never
  asked for, "at the same time" written as a sequence...). Findings go back to the model with
  line numbers and fix hints for up to two repair rounds.
- The accepted text is *interpreted* into a ``Cadence`` from the registry -- never passed to
  ``exec`` or ``eval`` -- so the worst a model can do is be rejected.
- The result is an ordinary cadence: drawn with ``to_mermaid`` and run. The registry's notes
  take 50 ms each, so a ``.sync`` the model wrote visibly saves time.

Run: ``python -m recipes.generated`` (or pass your own task in quotes).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from cadence import AtomicList, Cadence, Score, to_mermaid
from cadence_llm import Model
from cadence_llm.codegen import Generation, Mode, generate_cadence
from cadence_llm.models.local import LocalModel
from recipes._models import command_words, load_model, run, say

TASK = (
    "Load the order. Then, at the same time, track the shipment and fetch the return policy. "
    "Then draft the reply to the customer."
)


@dataclass
class SupportScore(Score):
    """A customer asking where their order is."""

    order_id: str = "A-1002"
    order: dict[str, Any] = field(default_factory=dict)
    shipment: str = ""
    policy: str = ""
    reply: str = ""
    # Shared by every task of a .sync group (not isolated, not merged), so the log of what ran
    # is complete whatever merge strategy the model picks.
    done: AtomicList[str] = field(default_factory=AtomicList)


async def load_order(score: SupportScore) -> None:
    """Load the order (items, customer) from the database."""
    await asyncio.sleep(0.05)
    score.order = {"id": score.order_id, "item": "Trail Runner shoe", "customer": "Ada"}
    score.done.append("load_order")


async def track_shipment(score: SupportScore) -> None:
    """Ask the carrier where the order's parcel is."""
    await asyncio.sleep(0.05)
    score.shipment = "in transit, arriving Thursday"
    score.done.append("track_shipment")


async def fetch_return_policy(score: SupportScore) -> None:
    """Look up the return policy for the order's items."""
    await asyncio.sleep(0.05)
    score.policy = "free returns within 30 days"
    score.done.append("fetch_return_policy")


async def draft_reply(score: SupportScore) -> None:
    """Write the reply to the customer from the order, shipment and policy."""
    await asyncio.sleep(0.05)
    item = score.order.get("item", "your order")
    score.reply = f"Your {item} is {score.shipment or 'on its way'}. {score.policy}.".strip()
    score.done.append("draft_reply")


async def send_newsletter(score: SupportScore) -> None:
    """Email the weekly newsletter to all customers."""
    score.done.append("send_newsletter")


def report_failure(score: SupportScore, error: Exception) -> None:
    """Record that a step failed, so support can follow up by hand."""
    score.done.append(f"failed: {type(error).__name__}")


def is_vip(score: SupportScore) -> bool:
    """True when the customer is a VIP."""
    return False


REGISTRY: dict[str, Any] = {
    f.__name__: f
    for f in (
        load_order,
        track_shipment,
        fetch_return_policy,
        draft_reply,
        send_newsletter,
        report_failure,
        is_vip,
    )
}


@dataclass
class GeneratedScore(Score):
    """The task, the model's cadence and what running it produced."""

    task: str = TASK
    source: str = ""
    repairs: int = 0
    rounds: list[str] = field(default_factory=list)
    built: Any = None
    diagram: str = ""
    result: SupportScore | None = None


def build(
    model: Model | None = None,
    *,
    task: str = TASK,
    mode: Mode | None = None,
    max_tokens: int = 200,
) -> Cadence[GeneratedScore]:
    """Two steps: ``write`` (generate, validate, repair, build, draw) and ``run`` the result.

    Args:
        model: The writing model (default: the recipes' model).
        task: The task description the template score carries.
        mode: ``"text"`` (default), ``"grammar"`` (GBNF-constrained; LocalModel) or ``"json"``.
        max_tokens: Cap on each answer.
    """
    model = model or load_model()
    # A local model gets the anchored grammar: its step comments must spell out the task, so it
    # can neither invent steps nor run past the task's end (evals/README.md has the numbers).
    # Hosted models get free text; the validator and the task checks catch the rest.
    chosen: Mode = mode or ("grammar" if isinstance(model, LocalModel) else "text")

    async def write(score: GeneratedScore) -> None:
        gen: Generation = await generate_cadence(
            model,
            score.task,
            REGISTRY,
            SupportScore,
            mode=chosen,
            max_repairs=2,
            max_tokens=max_tokens,
            raise_on_failure=False,  # report a failed generation instead of ending the run
        )
        for attempt in gen.attempts:
            problems = "; ".join(d.format() for d in attempt.diagnostics if d.is_error)
            findings = "; ".join(f"{d.code} {d.message}" for d in attempt.findings)
            verdict = problems or (f"valid, but {findings}" if findings else "accepted")
            score.rounds.append(f"round {attempt.round}: {verdict}")
        if gen.ok and gen.chosen not in (-1, len(gen.attempts) - 1):
            score.rounds.append(
                f"kept round {gen.attempts[gen.chosen].round}: fewest task findings"
            )
        score.source, score.repairs, score.built = gen.source, gen.repairs, gen.cadence
        if gen.cadence is not None:
            score.diagram = to_mermaid(gen.cadence)

    async def run(score: GeneratedScore) -> None:
        if score.built is None:
            score.rounds.append("no accepted cadence: nothing to run")
            return
        started = time.perf_counter()
        score.result = await score.built.run(SupportScore())
        score.rounds.append(f"ran in {time.perf_counter() - started:.2f}s")

    return Cadence("generated", GeneratedScore(task=task)).then("write", write).then("run", run)


async def main(task: str = TASK, *, model: Model | None = None, **options: Any) -> GeneratedScore:
    """Generate, print the code, its diagram and the run's result."""
    say(f"task: {task}")
    started = time.perf_counter()
    out = await build(model, task=task, **options).run(GeneratedScore(task=task))
    say("model wrote:\n" + "\n".join("    " + line for line in out.source.splitlines()))
    for line in out.rounds:
        say(f"  {line}")
    say(out.diagram)
    if out.result is not None:
        say(f"steps run: {out.result.done.get_all()}")
        say(f"reply: {out.result.reply}")
    say(f"  ({time.perf_counter() - started:.1f}s)")
    return out


if __name__ == "__main__":
    run(main(" ".join(command_words(__doc__)) or TASK))
