"""0.7.2's diagram names: ``print_cadence``, ``render_svg``, ``MeasureShape``, ``DiagramNode``.

The renderers themselves (``to_mermaid``, ``to_dot``, ``save_diagram``) kept their names and
options; what they draw changed on purpose (see docs/migrating.md). These names work and warn.
``cadence.diagram`` hands the two functions its module (``diagram=``) when they are looked up.
"""

from __future__ import annotations

import enum
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence._compat import deprecated

__all__ = ["DiagramNode", "MeasureShape", "print_cadence", "render_svg"]


def print_cadence(cadence: Any, *, diagram: Any) -> None:
    """Deprecated: print the plan as a text tree; use ``print(to_text(cadence))``."""
    deprecated("cadence.diagram.print_cadence(cadence)", "print(cadence.diagram.to_text(cadence))")
    print(diagram.to_text(cadence))


def render_svg(cadence: Any, *, diagram: Any, format: str = "dot", **options: Any) -> str:
    """Deprecated: the plan as SVG text, drawn by Graphviz (``"dot"``) or mermaid-cli.

    Use ``render(cadence, format="svg")``, which returns bytes and says how to install Graphviz.
    """
    deprecated(
        "cadence.diagram.render_svg(cadence)", 'cadence.diagram.render(cadence, format="svg")'
    )
    if format == "dot":
        return diagram.render(cadence, format="svg", **options).decode()  # type: ignore[no-any-return]
    if format != "mermaid":
        raise ValueError(f"render_svg(format=...) takes 'dot' or 'mermaid', got {format!r}")
    mmdc = shutil.which("mmdc")
    if mmdc is None:
        raise diagram.GraphvizNotFoundError(
            "mermaid-cli (mmdc) not found; install it with npm install -g @mermaid-js/mermaid-cli, "
            "or use format='dot' (Graphviz)"
        )
    with tempfile.TemporaryDirectory(prefix="cadence-mermaid-") as tmp:
        source, output = Path(tmp, "plan.mmd"), Path(tmp, "plan.svg")
        source.write_text(diagram.to_mermaid(cadence, **options), encoding="utf-8")
        proc = subprocess.run(
            [mmdc, "-i", str(source), "-o", str(output)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"mmdc failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
            )
        return output.read_text(encoding="utf-8")


class MeasureShape(enum.Enum):
    """Deprecated: the node shapes of 0.7.2's diagram model (diagrams read ``cadence.steps``)."""

    SINGLE = "rectangle"
    SEQUENCE = "rectangle"
    PARALLEL = "parallelogram"
    BRANCH = "diamond"
    CHILD = "subroutine"


@dataclass
class DiagramNode:
    """Deprecated: a node of 0.7.2's diagram model (diagrams read ``cadence.steps``)."""

    id: str
    label: str
    measure_type: str
    shape: MeasureShape
    children: list[DiagramNode] = field(default_factory=list)
    branches: dict[str, list[DiagramNode]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # 0.7.2 callers pass None for "no children / no branches".
        if self.children is None:
            self.children = []
        if self.branches is None:
            self.branches = {}
