"""Diagram fixes: Mermaid labels escaped as HTML, ``save_diagram(format="text")``, and the
tasks of a ``.split(..., parallel=True)`` branch drawn in every format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cadence import Cadence
from cadence.diagram import render, save_diagram, to_dot, to_mermaid, to_text

from ._support import Order


def check(score: Order) -> None:
    """Check it."""


def first(score: Order) -> None:
    """One."""


def second(score: Order) -> None:
    """Two."""


def third(score: Order) -> None:
    """Three."""


def fourth(score: Order) -> None:
    """Four."""


def is_big(score: Order) -> bool:
    return True


def labels(mermaid: str) -> list[str]:
    """The quoted labels of a Mermaid text (nodes and subgraphs)."""
    return re.findall(r'"([^"]*)"', mermaid)


def test_mermaid_labels_escape_html() -> None:
    """<lambda> and & < > # reach Mermaid as entity codes, in nodes, subgraphs and decisions."""
    inner = Cadence("kid <x>", Order()).then("k & k", check)
    flow = (
        Cadence("top <1>", Order())
        .map("each", lambda s: list(s.items), check)
        .split("route", lambda s: True, check)
        .child("sub", inner, lambda parent, child: None)
        .then('a<b> & "c" #1', check)
    )
    text = to_mermaid(flow)
    assert "<" not in text and ">" not in text.replace("-->", "")
    assert "&" not in text
    found = labels(text)
    assert "route: #lt;lambda#gt;?" in found
    assert "each (map #lt;lambda#gt;())" in found
    assert "child sub: kid #lt;x#gt;" in found  # a subgraph label
    assert "k #amp; k" in found
    assert "top #lt;1#gt;" in found
    assert "a#lt;b#gt; #amp; #quot;c#quot; #35;1" in found


def test_mermaid_escapes_hash_before_the_codes_it_writes() -> None:
    """A name that looks like an entity code stays literal text (# goes first)."""
    text = to_mermaid(Cadence("c", Order()).then("#quot; #lt;", check))
    assert '"#35;quot; #35;lt;"' in text


def test_save_diagram_text_by_format_and_by_suffix(tmp_path: Path) -> None:
    """format="text" (one of the choices the error lists) works, as does the .txt suffix."""
    flow = Cadence("flow", Order()).then("a", check)
    expected = to_text(flow)
    assert save_diagram(flow, tmp_path / "plan.log", format="text").read_text() == expected
    assert save_diagram(flow, tmp_path / "plan.txt").read_text() == expected
    assert save_diagram(flow, tmp_path / "plan2.txt", format=".txt").read_text() == expected
    assert save_diagram(flow, tmp_path / "plan.out", format="mermaid").read_text() == (
        to_mermaid(flow)
    )
    with pytest.raises(ValueError, match="'text'"):
        save_diagram(flow, tmp_path / "plan.log", format="gif")


def parallel_flow() -> Cadence[Order]:
    return (
        Cadence("f", Order())
        .split("route", is_big, [first, second, third], fourth, parallel=True)
        .split("both", is_big, [first, second], [third, fourth], parallel=True)
        .then("done", check)
    )


def test_text_draws_a_parallel_branch_as_its_group() -> None:
    """Each task of a parallel branch is listed under the group that runs them at once."""
    assert to_text(parallel_flow()) == (
        "f\n"
        "├── split route on is_big\n"
        "│   ├── if true:\n"
        "│   │   └── sync route_if (3 tasks, merge: smart_merge)\n"
        "│   │       ├── first\n"
        "│   │       ├── second\n"
        "│   │       └── third\n"
        "│   └── if false: fourth\n"
        "├── split both on is_big\n"
        "│   ├── if true:\n"
        "│   │   └── sync both_if (2 tasks, merge: smart_merge)\n"
        "│   │       ├── first\n"
        "│   │       └── second\n"
        "│   └── if false:\n"
        "│       └── sync both_else (2 tasks, merge: smart_merge)\n"
        "│           ├── third\n"
        "│           └── fourth\n"
        "└── then done\n"
    )


def test_mermaid_draws_a_parallel_branch_as_fork_tasks_merge() -> None:
    """The branch goes decision -> fork -> each task -> merge -> the split's end."""
    text = to_mermaid(parallel_flow())
    declared = set(re.findall(r"^\s+(\w+)[\[\(\{]", text, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -->(?:\|([^|]*)\|)? (\w+)$", text, flags=re.M)
    assert all(a in declared and b in declared for a, _, b in edges)
    assert text.count("subgraph ") == sum(1 for line in text.splitlines() if line.strip() == "end")
    assert ("ns0", "true", "ns0_t0_s0") in edges  # decision -> fork
    assert ("ns0", "false", "ns0_f0") in edges  # the one-task branch stays one box
    for j in range(3):
        assert ("ns0_t0_s0", "", f"ns0_t0_s0_t{j}") in edges
        assert (f"ns0_t0_s0_t{j}", "", "ns0_t0_s0_m") in edges
    assert ("ns0_t0_s0_m", "", "ns0_m") in edges  # merge -> end of the split
    assert ("ns1", "false", "ns1_f0_s0") in edges
    found = labels(text)
    for name in ("first", "second", "third", "fourth", "route_if (sync)", "sync both_else"):
        assert name in found
    assert "route_if" not in found  # no longer one opaque box


def test_a_parallel_branch_draws_like_a_sync_step() -> None:
    """The group in the branch is drawn exactly as the same .sync step on its own would be."""
    branch = to_mermaid(Cadence("f", Order()).split("s", is_big, [first, second], parallel=True))
    alone = to_mermaid(Cadence("f", Order()).sync("s_if", [first, second]))
    body = [line.strip() for line in alone.splitlines() if "ns0" in line and "n_start" not in line]
    body = [line.replace("ns0", "ns0_t0_s0") for line in body if "n_end" not in line]
    drawn = [line.strip() for line in branch.splitlines()]
    assert all(line in drawn for line in body)


def test_dot_and_svg_draw_the_parallel_branch_tasks() -> None:
    """DOT (and so SVG/PNG through Graphviz) shows every task of the parallel branches."""
    dot = to_dot(parallel_flow())
    for name in ("first", "second", "third", "fourth"):
        assert f'[label="{name}", shape=box' in dot
    assert 'ns0 -> ns0_t0_s0 [label="true"];' in dot
    svg = render(parallel_flow(), format="svg").decode()
    for name in ("first", "second", "third", "fourth", "sync route_if", "sync both_else"):
        assert f">{name}</text>" in svg


def test_a_one_task_parallel_branch_and_a_plain_split_are_unchanged() -> None:
    """parallel=True with one task per branch draws as the plain split does."""
    one = Cadence("f", Order()).split("s", is_big, [first], second, parallel=True)
    plain = Cadence("f", Order()).split("s", is_big, [first], second)
    assert to_mermaid(one) == to_mermaid(plain)
    assert to_text(one) == to_text(plain)
    assert "│   ├── if true: first -> second\n" in to_text(
        Cadence("f", Order()).split("s", is_big, [first, second], third).then("x", check)
    )
