"""0.7.2's diagram names and options keep working."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cadence import Cadence, Score, save_diagram, to_dot, to_mermaid


@dataclass
class Plan(Score):
    flag: bool = True


def step(score: Plan) -> None:
    pass


def is_flag(score: Plan) -> bool:
    return score.flag


def plan() -> Cadence[Plan]:
    return Cadence("checkout", Plan()).then("validate", step).split("route", is_flag, [step])


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz (dot)")


def test_mermaid_theme() -> None:
    """to_mermaid(theme=...) starts with Mermaid's init directive."""
    text = to_mermaid(plan(), theme="dark")
    assert text.splitlines()[:2] == ["%%{init: {'theme': 'dark'}}%%", "flowchart TD"]
    with pytest.raises(ValueError, match="theme"):
        to_mermaid(plan(), theme="dark'}}%%")


def test_dot_colours() -> None:
    """to_dot(node_color=, edge_color=) colours the step boxes and the arrows."""
    text = to_dot(plan(), node_color="#FF0000", edge_color="#00FF00")
    assert 'shape=box, fillcolor="#FF0000"' in text and 'color="#00FF00"' in text


def test_save_diagram_072_suffixes_and_errors(tmp_path: Path) -> None:
    """save_diagram knows .mermaid and format='.dot'; an unknown suffix says 'Unknown format'."""
    save_diagram(plan(), tmp_path / "plan.mermaid")
    assert (tmp_path / "plan.mermaid").read_text().startswith("flowchart TD")
    save_diagram(plan(), tmp_path / "plan.txt", format=".dot", rankdir="LR")
    assert "rankdir=LR" in (tmp_path / "plan.txt").read_text()
    with pytest.raises(ValueError, match="Unknown format"):
        save_diagram(plan(), tmp_path / "plan.xyz")


@needs_dot
def test_save_diagram_pdf(tmp_path: Path) -> None:
    """A .pdf path is rendered by Graphviz."""
    target = save_diagram(plan(), tmp_path / "plan.pdf")
    assert target.read_bytes().startswith(b"%PDF")


def test_print_cadence_prints_072s_layout_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """print_cadence(c) prints 0.7.2's layout (header, [step], marked groups), warning of to_text."""
    from cadence.diagram import print_cadence

    def other(score: Plan) -> None:
        pass

    inner = Cadence("inner", Plan()).then("check", step)
    with pytest.warns(DeprecationWarning):
        full = (
            plan()
            .sync("fetch", [step, other])
            .sequence("tidy", [step, other])
            .child("nested", inner, lambda parent, child: None)
        )
    with pytest.warns(DeprecationWarning, match="to_text"):
        print_cadence(full)
    assert capsys.readouterr().out.splitlines() == [
        "=== Cadence: checkout ===",
        "├── [validate]",
        "├── ◇ BRANCH: route (is_flag?)",
        "│   ├── YES: step",
        "│   └── NO: (nothing)",
        "├── ⫘ PARALLEL: fetch (smart_merge)",
        "│   ├── step",
        "│   └── other",
        "├── ▶ SEQUENCE: tidy",
        "│   ├── step",
        "│   └── other",
        "└── ⊞ CHILD FLOW: nested → inner",
        "    └── [check]",
        "",
    ]
    with pytest.warns(DeprecationWarning):
        print_cadence(Cadence("empty", Plan()))
    assert capsys.readouterr().out == "=== Cadence: empty ===\n\n"


def test_save_diagram_png_is_written_by_graphviz_itself(tmp_path: Path) -> None:
    """A .png path runs `dot -Tpng -o <path>`; a missing folder is named before dot runs."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is needed (make test installs it)")
    target = save_diagram(plan(), tmp_path / "plan.png")
    assert target.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_diagram(plan(), tmp_path / "missing" / "plan.png")


@needs_dot
def test_render_svg_returns_svg_text_and_warns() -> None:
    """render_svg(c) is the Graphviz SVG as text, with a warning naming render()."""
    from cadence import render_svg

    with pytest.warns(DeprecationWarning, match=r"render\(cadence, format=\"svg\"\)"):
        svg = render_svg(plan())
    assert "<svg" in svg and "validate" in svg
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="'dot' or 'mermaid'"):
        render_svg(plan(), format="png")


def test_072_diagram_model_classes_warn() -> None:
    """MeasureShape and DiagramNode exist (0.7.2's model), and using them warns."""
    with pytest.warns(DeprecationWarning, match=r"cadence\.steps"):
        from cadence.diagram import MeasureShape
    with pytest.warns(DeprecationWarning, match=r"cadence\.steps"):
        from cadence.diagram import DiagramNode
    node = DiagramNode("m0", "validate", "single", MeasureShape.SINGLE, children=None)
    assert node.children == [] and node.branches == {}
    assert MeasureShape.BRANCH.value == "diamond"
