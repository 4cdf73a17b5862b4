"""Plan diagrams: Mermaid, DOT, text, SVG/PNG through Graphviz, and the CLI entry point."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from cadence import Cadence, to_dot, to_mermaid
from cadence.diagram import (
    GraphvizNotFoundError,
    diagram_command,
    load_cadence,
    render,
    save_diagram,
    to_text,
)

from ._support import Order


def validate(score: Order) -> None:
    """Check the order."""


def fetch_profile(score: Order) -> None:
    """Load the profile."""


def fetch_history(score: Order) -> None:
    """Load the history."""


def is_premium(score: Order) -> bool:
    return True


def express(score: Order) -> None:
    """Ship fast."""


def regular(score: Order) -> None:
    """Ship slow."""


def checkout() -> Cadence[Order]:
    payment = Cadence("payment", Order()).then("authorize", validate).then("capture", validate)
    return (
        Cadence("checkout", Order())
        .then("validate", validate)
        .sync("enrich", [fetch_profile, fetch_history])
        .split("route", is_premium, [express], regular)
        .child("pay", payment, lambda parent, child: None)
        .then("confirm", validate)
    )


def test_mermaid_of_a_small_cadence_is_exact() -> None:
    """A then + sync cadence gives this exact flowchart."""
    cadence = Cadence("c", Order()).then("v", validate).sync("g", [fetch_profile, fetch_history])
    assert to_mermaid(cadence) == (
        "flowchart TD\n"
        '    n_start(["c"])\n'
        '    ns0["v"]\n'
        '    ns1{{"g (sync)"}}\n'
        '    ns1_m(("merge g"))\n'
        '    subgraph ns1_g ["sync g"]\n'
        '        ns1_t0["fetch_profile"]\n'
        '        ns1_t1["fetch_history"]\n'
        "    end\n"
        '    n_end(["end"])\n'
        "    ns1 --> ns1_t0\n"
        "    ns1_t0 --> ns1_m\n"
        "    ns1 --> ns1_t1\n"
        "    ns1_t1 --> ns1_m\n"
        "    ns0 --> ns1\n"
        "    n_start --> ns0\n"
        "    ns1_m --> n_end\n"
    )


def test_mermaid_of_every_step_kind_is_well_formed() -> None:
    """Every edge joins declared nodes, subgraphs are balanced, branches are labelled."""
    text = to_mermaid(checkout(), direction="LR")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared = set(re.findall(r"^\s+(\w+)[\[\(\{]", text, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -->(?:\|[^|]*\|)? (\w+)$", text, flags=re.M)
    assert edges and all(a in declared and b in declared for a, b in edges)
    assert "end" not in declared  # a reserved word in Mermaid
    assert text.count("subgraph ") == sum(1 for line in lines if line.strip() == "end")
    assert "-->|true|" in text and "-->|false|" in text
    for name in ("validate", "fetch_profile", "fetch_history", "express", "regular"):
        assert f'"{name}"' in text
    assert '"authorize"' in text and '"child pay: payment"' in text


def test_mermaid_and_dot_escape_quotes() -> None:
    """Quotes in names do not break either syntax."""
    cadence = Cadence('say "hi"', Order()).then('step "1"', validate)
    assert '"say #quot;hi#quot;"' in to_mermaid(cadence)
    assert '"step \\"1\\""' in to_dot(cadence)


def test_dot_renders_with_graphviz_and_shows_every_step() -> None:
    """to_dot is valid DOT: Graphviz renders it to SVG containing every step's name."""
    svg = render(checkout(), format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for name in ("checkout", "validate", "fetch_profile", "fetch_history", "express", "regular"):
        assert f">{name}</text>" in svg
    assert "child pay: payment" in svg


def test_png_rendering(tmp_path: Path) -> None:
    """PNG output is a PNG image; save_diagram picks the format from the suffix."""
    assert render(checkout(), format="png").startswith(b"\x89PNG\r\n\x1a\n")
    path = save_diagram(checkout(), tmp_path / "plan.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert save_diagram(checkout(), tmp_path / "plan.mmd").read_text().startswith("flowchart")


def test_missing_graphviz_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the dot program, rendering says how to install Graphviz."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError, match="install Graphviz"):
        render(checkout())
    with pytest.raises(GraphvizNotFoundError):
        render(checkout(), dot="/nonexistent/dot")


def test_bad_options_fail_early() -> None:
    """Unknown formats and directions raise ValueError naming the choices."""
    with pytest.raises(ValueError, match="svg"):
        render(checkout(), format="gif")
    with pytest.raises(ValueError, match="LR"):
        to_mermaid(checkout(), direction="sideways")
    with pytest.raises(TypeError, match="Cadence"):
        to_dot("not a cadence")


def test_text_tree() -> None:
    """to_text draws the plan as an indented tree."""
    assert to_text(checkout()) == (
        "checkout\n"
        "├── then validate\n"
        "├── sync enrich (2 tasks, merge: smart_merge)\n"
        "│   ├── fetch_profile\n"
        "│   └── fetch_history\n"
        "├── split route on is_premium\n"
        "│   ├── if true: express\n"
        "│   └── if false: regular\n"
        "├── child pay -> payment\n"
        "│   ├── then authorize\n"
        "│   └── then capture\n"
        "└── then confirm\n"
    )


@pytest.fixture
def plan_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module defining a cadence, as the CLI would see it."""
    (tmp_path / "obs_plan_mod.py").write_text(
        "from cadence import Cadence\n"
        "def a(s): pass\n"
        "def b(s): pass\n"
        "flow = Cadence('flow', object()).then('first', a).sync('both', [a, b])\n"
        "def make(): return flow\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "obs_plan_mod"
    sys.modules.pop("obs_plan_mod", None)


def test_diagram_command_formats(plan_module: str, tmp_path: Path) -> None:
    """The CLI entry point loads module:attribute (or a factory) and prints or writes."""
    assert diagram_command(f"{plan_module}:flow").startswith("flowchart TD")
    assert diagram_command(f"{plan_module}:make", format="text").startswith("flow\n")
    assert "digraph" in diagram_command(f"{plan_module}:flow", format="dot")
    message = diagram_command(f"{plan_module}:flow", format="svg", output=tmp_path / "f.svg")
    assert message.startswith("wrote") and (tmp_path / "f.svg").read_text().count("<svg") == 1
    with pytest.raises(ValueError, match="--output"):
        diagram_command(f"{plan_module}:flow", format="png")


def test_load_cadence_errors(plan_module: str) -> None:
    """Bad targets say what was expected."""
    with pytest.raises(ValueError, match="module:attribute"):
        load_cadence("no_colon")
    with pytest.raises(ValueError, match="no attribute"):
        load_cadence(f"{plan_module}:missing")
    with pytest.raises(ValueError, match="not a Cadence"):
        load_cadence(f"{plan_module}:a")
