"""Diagram text that stays put: no memory addresses, one line per row, names as written."""

from __future__ import annotations

import functools
import re
from typing import Any

from cadence import Cadence, to_mermaid
from cadence.diagram import to_dot, to_text

from ._support import Order


def fetch(score: Order) -> None:
    """Load something."""


def price(score: Order) -> None:
    """Price it."""


def is_big(score: Order) -> bool:
    return True


class PreferFirst:
    """A merge strategy written as a callable object."""

    def __call__(self, original: Any, snapshots: Any, changes: Any) -> None:
        pass


def merge_with(original: Any, snapshots: Any, changes: Any, *, order: str) -> None:
    pass


def test_text_tree_names_a_merge_object_without_its_address() -> None:
    """A callable-object or partial merge is named by its class or function, not by a repr
    holding a memory address, so the tree is the same in every process."""
    cadence = (
        Cadence("c", Order())
        .sync("a", [fetch, price], merge_strategy=PreferFirst())
        .sync("b", [fetch, price], merge_strategy=functools.partial(merge_with, order="last"))
    )
    assert to_text(cadence).splitlines()[1:] == [
        "├── sync a (2 tasks, merge: PreferFirst)",
        "│   ├── fetch",
        "│   └── price",
        "└── sync b (2 tasks, merge: merge_with)",
        "    ├── fetch",
        "    └── price",
    ]


def test_text_tree_keeps_names_with_line_breaks_on_their_row() -> None:
    """A line break in a cadence, step or branch name is written as ``\\n``: the tree's
    rows stay one line each."""
    child = Cadence("in\nner", Order()).then("a\nb", fetch)
    cadence = (
        Cadence("top\r\nname", Order())
        .then("first\nstep", fetch)
        .split("route\n", is_big, [fetch], [price])
        .child("kid", child, lambda parent, child_score: None)
    )
    assert to_text(cadence).splitlines() == [
        "top\\r\\nname",
        "├── then first\\nstep",
        "├── split route\\n on is_big",
        "│   ├── if true: fetch",
        "│   └── if false: price",
        "└── child kid -> in\\nner",
        "    └── then a\\nb",
    ]


def test_mermaid_writes_backticks_as_codes() -> None:
    """A name in backticks is not read as a Mermaid Markdown string (which drops them)."""
    text = to_mermaid(Cadence("`c`", Order()).then("`md` step", fetch))
    assert '["#96;md#96; step"]' in text and '(["#96;c#96;"])' in text
    assert "`" not in text


def test_duplicate_names_in_nested_groups_get_distinct_node_ids() -> None:
    """The same step and task names in many nested groups never share a node id, every edge
    joins declared nodes, and the same plan gives byte-identical text."""

    def build() -> Cadence[Order]:
        inner = Cadence("same", Order()).then("x", fetch).sync("x2", [fetch, fetch])
        cadence = Cadence("same", Order())
        for i in range(60):
            cadence = (
                cadence.then(f"x{i}", fetch)
                .sync(f"g{i}", [fetch, fetch, price])
                .split(f"s{i}", is_big, [fetch, price], [fetch, price], parallel=True)
                .child(f"c{i}", inner, lambda parent, child_score: None)
            )
        return cadence

    text = to_mermaid(build())
    nodes = re.findall(r"^\s+(\w+)[\[\(\{]", text, flags=re.M)
    groups = re.findall(r"^\s+subgraph (\w+)", text, flags=re.M)
    edges = re.findall(r"^\s+(\w+) -->(?:\|[^|]*\|)? (\w+)$", text, flags=re.M)
    assert len(nodes) == len(set(nodes)) and not set(groups) & set(nodes)
    assert len(groups) == len(set(groups))
    assert all(a in set(nodes) and b in set(nodes) for a, b in edges)
    assert text == to_mermaid(build()) and to_dot(build()) == to_dot(build())
