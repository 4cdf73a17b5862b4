"""0.7.2's diagram names: ``print_cadence``, ``render_svg``, ``MeasureShape``, ``DiagramNode``.

The renderers themselves (``to_mermaid``, ``to_dot``, ``save_diagram``) kept their names and
options; what they draw changed on purpose (see docs/migrating.md). These names work and warn.
``cadence.diagram`` hands the two functions its module (``diagram=``) when they are looked up.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from cadence._compat import deprecated

__all__ = ["DiagramNode", "MeasureShape", "layout_072", "print_cadence", "render_svg"]


def print_cadence(cadence: Any, *, diagram: Any) -> None:
    """Deprecated: print the plan as 0.7.2 did; use ``print(to_text(cadence))``.

    The layout is 0.7.2's (a ``=== Cadence: name ===`` header, ``[step]`` for a plain step and
    a marked line per group: ``⫘ PARALLEL``, ``▶ SEQUENCE``, ``◇ BRANCH`` with ``YES``/``NO``,
    ``⊞ CHILD FLOW``), so scripts that read it keep working; ``to_text`` is the new tree.
    """
    deprecated("cadence.diagram.print_cadence(cadence)", "print(cadence.diagram.to_text(cadence))")
    print(layout_072(cadence, diagram=diagram))


def layout_072(cadence: Any, *, diagram: Any) -> str:
    """The text ``print_cadence`` prints (and ``cadence diagram -f text``), ending in a newline.

    Not deprecated itself: the command line keeps 0.7.2's text format without a warning.
    """
    diagram.to_text(cadence)  # the same argument check as every renderer
    out = [f"=== Cadence: {cadence.name} ==="]
    _old_steps(cadence, "", out, 0)
    return "\n".join(out) + "\n"


def _old_steps(cadence: Any, prefix: str, out: list[str], depth: int) -> None:
    from cadence._cadence import _in_sequence
    from cadence._plan import ChildStep, SplitStep, SyncStep

    steps = list(cadence.steps)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        inner = prefix + ("    " if last else "│   ")
        rows: list[str] = []
        if isinstance(step, SyncStep):
            label = f"⫘ PARALLEL: {step.name} ({step.merge_name})"
            rows = [t.name for t in step.tasks]
        elif isinstance(step, SplitStep) and step.condition.fn is _in_sequence:
            label = f"▶ SEQUENCE: {step.name}"
            rows = [t.name for t in step.if_true]
        elif isinstance(step, SplitStep):
            label = f"◇ BRANCH: {step.name} ({step.condition.name}?)"
            rows = [
                "YES: " + (" → ".join(t.name for t in step.if_true) or "(nothing)"),
                "NO: " + (" → ".join(t.name for t in step.if_false) or "(nothing)"),
            ]
        elif isinstance(step, ChildStep):
            label = f"⊞ CHILD FLOW: {step.name} → {step.cadence.name}"
        else:
            label = f"[{step.name}]"
        out.append(f"{prefix}{'└── ' if last else '├── '}{label}")
        if isinstance(step, ChildStep) and depth < 10:
            _old_steps(step.cadence, inner, out, depth + 1)
        for j, row in enumerate(rows):
            out.append(f"{inner}{'└── ' if j == len(rows) - 1 else '├── '}{row}")


def render_svg(cadence: Any, *, diagram: Any, format: str = "dot", **options: Any) -> str:
    """Deprecated: the plan as SVG text, drawn by Graphviz (``"dot"``) or mermaid-cli.

    Use ``render(cadence, format="svg")``, which returns bytes and says how to install Graphviz.
    """
    deprecated(
        "cadence.diagram.render_svg(cadence)", 'cadence.diagram.render(cadence, format="svg")'
    )
    if format == "dot":
        # 0.7.2's call: ``dot -Tsvg`` found on PATH, DOT text in, SVG text out.
        try:
            proc = subprocess.run(
                ["dot", "-Tsvg"],
                input=diagram.to_dot(cadence, **options),
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        except FileNotFoundError:
            raise diagram.GraphvizNotFoundError(diagram._NO_GRAPHVIZ) from None
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"dot failed ({exc.returncode}): {exc.stderr}") from None
        return str(proc.stdout)
    if format != "mermaid":
        raise ValueError(f"render_svg(format=...) takes 'dot' or 'mermaid', got {format!r}")
    # 0.7.2's call, which mermaid-cli supports: Mermaid text on stdin, SVG text on stdout.
    try:
        proc = subprocess.run(
            [_mmdc(), "-i", "-", "-o", "-", "-e", "svg"],
            input=diagram.to_mermaid(cadence, **options),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except FileNotFoundError:
        raise diagram.GraphvizNotFoundError(
            "mermaid-cli (mmdc) not found; install it with npm install -g @mermaid-js/mermaid-cli, "
            "or use format='dot' (Graphviz)"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"mmdc failed ({exc.returncode}): {exc.stderr}") from None
    return str(proc.stdout)


def _mmdc() -> str:
    """``mmdc``, found on PATH by the OS; on Windows npm installs ``mmdc.cmd``, found here."""
    if os.name == "nt":
        return shutil.which("mmdc") or "mmdc"
    return "mmdc"


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
