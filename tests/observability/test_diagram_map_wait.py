"""Diagrams draw ``.map`` (fork, per-item note, collect) and ``.wait`` (pause, timeout path)."""

from __future__ import annotations

import re

from cadence import Approval, Cadence, Signal, Sleep
from cadence.diagram import render, to_dot, to_mermaid, to_text

from ._support import Order


def summarize(item: str) -> str:
    return item


def escalate(score: Order) -> None:
    """Ask someone else."""


def ship(score: Order) -> None:
    """Ship it."""


def is_large(score: Order) -> bool:
    return True


def flow() -> Cadence[Order]:
    return (
        Cadence("refunds", Order())
        .map("each", "items", summarize, concurrency=4, into="items")
        .wait("manager", Approval(payload={"n": 1}), timeout=3600, on_timeout=escalate)
        .wait("paid", Signal("payment"))
        .wait("cool", Sleep(60))
        .wait("second", Approval(), when=is_large)
        .then("ship", ship)
    )


def test_text_tree_names_the_fan_out_and_the_waits() -> None:
    """The text tree says what a map runs, how many at once, and what each wait waits for."""
    assert to_text(flow()).splitlines() == [
        "refunds",
        "├── map each over items: summarize (at most 4 at once) -> items",
        "├── wait manager for approval (timeout 3600s -> escalate)",
        "├── wait paid for signal 'payment'",
        "├── wait cool for sleep 60s",
        "├── wait second for approval if is_large",
        "└── then ship",
    ]


def test_mermaid_draws_waits_as_pauses_with_a_timeout_branch() -> None:
    """Waits are parallelograms; the timeout path leaves the wait and rejoins the run."""
    text = to_mermaid(flow())
    declared = set(re.findall(r"^\s+(\w+)[\[\(\{]", text, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -->(?:\|([^|]*)\|)? (\w+)$", text, flags=re.M)
    assert all(a in declared and b in declared for a, _, b in edges)
    assert '[/"manager: approval"/]' in text and "[/\"paid: signal 'payment'\"/]" in text
    labels = {label for _, label, _ in edges}
    assert {"at most 4 at once", "in item order", "resumed", "timeout 3600s"} <= labels
    assert '[/"second: approval if is_large"/]' in text
    assert '"escalate"' in text and '"summarize per item"' in text


def test_graphviz_renders_map_and_wait_steps() -> None:
    """The DOT text renders through Graphviz and shows every new node."""
    assert "shape=parallelogram" in to_dot(flow())
    svg = render(flow(), format="svg").decode()
    for label in ("each (map items)", "summarize per item", "manager: approval", "escalate"):
        assert f">{label}</text>" in svg
