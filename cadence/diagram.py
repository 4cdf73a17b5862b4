"""Pictures of a cadence's plan: Mermaid, Graphviz DOT, a text tree, and SVG/PNG via Graphviz.

The plan is read from ``cadence.steps`` (nothing runs). Every renderer draws the same graph:
a start node, one box per ``.then`` step, a fork / tasks / merge block per ``.sync`` group, a
decision with ``true``/``false`` branches per ``.split``, a boxed sub-plan per ``.child``, a
fork / per-item note / collect block per ``.map`` and a pause (with its timeout path) per
``.wait``.
For a picture of a *run* (what happened, when), see ``cadence.timeline``.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence._callables import note_name_of
from cadence._plan import ChildStep, MapStep, SplitStep, SyncStep, ThenStep, WaitStep

__all__ = [
    "GraphvizNotFoundError",
    "diagram_command",
    "load_cadence",
    "render",
    "save_diagram",
    "to_dot",
    "to_mermaid",
    "to_text",
]

_MAX_DEPTH = 16


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is needed to render SVG/PNG and was not found."""


@dataclass
class _Node:
    id: str
    label: str
    shape: str  # terminal | step | fork | join | decision | wait


@dataclass
class _Cluster:
    id: str
    label: str
    items: list[_Node | _Cluster] = field(default_factory=list)


@dataclass
class _Graph:
    root: _Cluster
    edges: list[tuple[str, str, str]] = field(default_factory=list)


def _add(container: _Cluster, node_id: str, label: str, shape: str) -> str:
    container.items.append(_Node(node_id, label, shape))
    return node_id


def _inner_cadence(task: Any) -> Any:
    """The cadence a branch task runs, or ``None``: ``.split(..., parallel=True)`` wraps a
    branch of two or more tasks into one task running them as a ``.sync`` group (a small
    cadence of its own, which ``_concurrently`` in ``cadence._cadence`` keeps on the task's
    function). The diagrams draw that group's steps rather than the wrapper's one box.
    """
    return getattr(getattr(task, "fn", None), "_cadence_group", None)


def _chain(
    graph: _Graph, container: _Cluster, tasks: Any, prefix: str, depth: int
) -> tuple[str, str] | None:
    """Add a split branch's tasks in order (a parallel branch: its group's steps)."""
    ends: list[tuple[str, str]] = []
    for i, task in enumerate(tasks):
        inner = _inner_cadence(task)
        if inner is not None and inner.steps and depth < _MAX_DEPTH:
            ends.append(_steps(graph, inner, f"{prefix}{i}_", container, depth + 1))
        else:
            node = _add(container, f"{prefix}{i}", task.name, "step")
            ends.append((node, node))
    for (_, a), (b, _) in itertools.pairwise(ends):
        graph.edges.append((a, b, ""))
    return (ends[0][0], ends[-1][1]) if ends else None


def _steps(
    graph: _Graph, cadence: Any, prefix: str, container: _Cluster, depth: int
) -> tuple[str, str]:
    """Add ``cadence``'s steps; return the ids of the first and last node."""
    first = last = ""
    for i, step in enumerate(cadence.steps):
        sid = f"{prefix}s{i}"
        if isinstance(step, ThenStep):
            entry = exit_ = _add(container, sid, step.name, "step")
        elif isinstance(step, SyncStep):
            entry = _add(container, sid, f"{step.name} (sync)", "fork")
            exit_ = _add(container, f"{sid}_m", f"merge {step.name}", "join")
            group = _Cluster(f"{sid}_g", f"sync {step.name}")
            container.items.append(group)
            for j, task in enumerate(step.tasks):
                tid = _add(group, f"{sid}_t{j}", task.name, "step")
                graph.edges += [(entry, tid, ""), (tid, exit_, "")]
        elif isinstance(step, SplitStep):
            entry = _add(container, sid, f"{step.name}: {step.condition.name}?", "decision")
            exit_ = _add(container, f"{sid}_m", f"end {step.name}", "join")
            for label, tasks, tag in (("true", step.if_true, "t"), ("false", step.if_false, "f")):
                chain = _chain(graph, container, tasks, f"{sid}_{tag}", depth)
                if chain is None:
                    graph.edges.append((entry, exit_, label))
                else:
                    graph.edges += [(entry, chain[0], label), (chain[1], exit_, "")]
        elif isinstance(step, ChildStep):
            child = _Cluster(f"{sid}_c", f"child {step.name}: {step.cadence.name}")
            container.items.append(child)
            if depth >= _MAX_DEPTH or not step.cadence.steps:
                entry = exit_ = _add(child, sid, step.cadence.name, "step")
            else:
                entry, exit_ = _steps(graph, step.cadence, f"{sid}_", child, depth + 1)
        elif isinstance(step, MapStep):
            entry = _add(container, sid, f"{step.name} (map {step.items_label})", "fork")
            exit_ = _add(container, f"{sid}_m", f"collect {step.into or step.name}", "join")
            group = _Cluster(f"{sid}_g", f"map {step.name}")
            container.items.append(group)
            tid = _add(group, f"{sid}_t", f"{step.fn_name} per item", "step")
            graph.edges += [(entry, tid, _limit(step)), (tid, exit_, "in item order")]
        elif isinstance(step, WaitStep):
            label = f"{step.name}: {_waits_for(step)}"
            if step.when is not None:
                label += f" if {step.when.name}"
            entry = exit_ = _add(container, sid, label, "wait")
            if step.on_timeout is not None:
                exit_ = _add(container, f"{sid}_m", f"end {step.name}", "join")
                tid = _add(container, f"{sid}_t", step.on_timeout.name, "step")
                graph.edges += [
                    (entry, exit_, "resumed"),
                    (entry, tid, f"timeout {step.timeout:g}s"),
                    (tid, exit_, ""),
                ]
        else:  # pragma: no cover - a step kind added later and not drawn yet
            entry = exit_ = _add(container, sid, step.name, "step")
        if last:
            graph.edges.append((last, entry, ""))
        first = first or entry
        last = exit_
    return first, last


def _limit(step: MapStep) -> str:
    return "each item" if step.concurrency is None else f"at most {step.concurrency} at once"


def _waits_for(step: WaitStep) -> str:
    """What a wait step waits for, in a few words: ``approval``, ``signal 'paid'``, ``sleep``."""
    condition = step.condition
    kind = getattr(condition, "kind", "wait")
    if kind == "signal":
        return f"signal {condition.name!r}"
    if kind == "sleep":
        seconds = getattr(condition, "seconds", None)
        return "sleep" if seconds is None else f"sleep {seconds:g}s"
    return kind


def _graph(cadence: Any) -> _Graph:
    if not hasattr(cadence, "steps") or not hasattr(cadence, "name"):
        raise TypeError(f"expected a Cadence, got {type(cadence).__name__}: {cadence!r}")
    graph = _Graph(_Cluster("root", cadence.name))
    start = _add(graph.root, "n_start", cadence.name, "terminal")
    first, last = _steps(graph, cadence, "n", graph.root, 0)
    end = _add(graph.root, "n_end", "end", "terminal")
    graph.edges += [(start, first or end, "")] + ([(last, end, "")] if last else [])
    return graph


# --- Mermaid ---------------------------------------------------------------------------------

_MERMAID_SHAPES = {
    "terminal": '(["{}"])',
    "step": '["{}"]',
    "fork": '{{{{"{}"}}}}',
    "join": '(("{}"))',
    "decision": '{{"{}"}}',
    "wait": '[/"{}"/]',
}


def _mermaid_label(text: str) -> str:
    """``text`` as a Mermaid label: entity codes for what its HTML rendering would eat.

    Mermaid renders labels as HTML, so ``<lambda>`` would vanish as an unknown tag; ``#``
    goes first, as the codes themselves start with it. A label in backticks would be read as
    Markdown (and lose them), so backticks are codes too.
    """
    return (
        text.replace("#", "#35;")
        .replace("&", "#amp;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace('"', "#quot;")
        .replace("`", "#96;")
    )


def _mermaid_items(items: list[_Node | _Cluster], indent: str, out: list[str]) -> None:
    for item in items:
        if isinstance(item, _Node):
            shape = _MERMAID_SHAPES[item.shape].format(_mermaid_label(item.label))
            out.append(f"{indent}{item.id}{shape}")
        else:
            out.append(f'{indent}subgraph {item.id} ["{_mermaid_label(item.label)}"]')
            _mermaid_items(item.items, indent + "    ", out)
            out.append(f"{indent}end")


def to_mermaid(cadence: Any, *, direction: str = "TD", theme: str | None = None) -> str:
    """The plan as a Mermaid flowchart (paste it into a ```mermaid block).

    Args:
        cadence: The cadence to draw.
        direction: ``TD`` (top-down) or ``LR``, ``BT``, ``RL``.
        theme: A Mermaid theme (``"dark"``, ``"forest"`` ...), set with an ``init`` directive.
    """
    if direction not in ("TD", "TB", "LR", "BT", "RL"):
        raise ValueError(f"direction must be one of TD, TB, LR, BT, RL, got {direction!r}")
    if theme is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", theme):
        raise ValueError(f"theme must be a Mermaid theme name such as 'dark', got {theme!r}")
    graph = _graph(cadence)
    out = [f"flowchart {direction}"]
    if theme is not None:
        out.insert(0, f"%%{{init: {{'theme': '{theme}'}}}}%%")
    _mermaid_items(graph.root.items, "    ", out)
    for a, b, label in graph.edges:
        out.append(f"    {a} -->|{_mermaid_label(label)}| {b}" if label else f"    {a} --> {b}")
    return "\n".join(out) + "\n"


# --- DOT -------------------------------------------------------------------------------------

_DOT_SHAPES = {
    "terminal": 'shape=oval, fillcolor="#e8e8e8"',
    "step": 'shape=box, fillcolor="#dbe8f7"',
    "fork": 'shape=hexagon, fillcolor="#fde9c8"',
    "join": 'shape=circle, fillcolor="#f5b041", label="", width=0.16, fixedsize=true',
    "decision": 'shape=diamond, fillcolor="#e6f4d7"',
    "wait": 'shape=parallelogram, fillcolor="#f7dcdc"',
}


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_items(
    items: list[_Node | _Cluster], indent: str, out: list[str], shapes: dict[str, str]
) -> None:
    for item in items:
        if isinstance(item, _Node):
            out.append(f"{indent}{item.id} [label={_dot_str(item.label)}, {shapes[item.shape]}];")
        else:
            out.append(f"{indent}subgraph cluster_{item.id} {{")
            out.append(
                f'{indent}    label={_dot_str(item.label)}; style="rounded,dashed"; color="#888888";'
            )
            _dot_items(item.items, indent + "    ", out, shapes)
            out.append(f"{indent}}}")


def to_dot(
    cadence: Any,
    *,
    rankdir: str = "TB",
    node_color: str | None = None,
    edge_color: str = "#555555",
) -> str:
    """The plan as a Graphviz DOT digraph (``dot -Tsvg``, or :func:`render`).

    Args:
        cadence: The cadence to draw.
        rankdir: ``TB`` (top-bottom) or ``LR``, ``BT``, ``RL``.
        node_color: Fill colour of the step boxes (a Graphviz colour, ``"#4A90D9"``).
        edge_color: Colour of the arrows.
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    graph = _graph(cadence)
    out = [
        f"digraph {_dot_str(cadence.name)} {{",
        f'    rankdir={rankdir}; fontname="Helvetica"; fontsize=10;',
        '    node [fontname="Helvetica", fontsize=11, style="rounded,filled"];',
        f'    edge [fontname="Helvetica", fontsize=9, color={_dot_str(edge_color)}];',
    ]
    shapes = _DOT_SHAPES
    if node_color is not None:
        shapes = {**_DOT_SHAPES, "step": f"shape=box, fillcolor={_dot_str(node_color)}"}
    _dot_items(graph.root.items, "    ", out, shapes)
    for a, b, label in graph.edges:
        out.append(f"    {a} -> {b} [label={_dot_str(label)}];" if label else f"    {a} -> {b};")
    out.append("}")
    return "\n".join(out) + "\n"


# --- text ------------------------------------------------------------------------------------


def _text_steps(cadence: Any, prefix: str, out: list[str], depth: int) -> None:
    steps = list(cadence.steps)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        out.append(f"{prefix}{'└── ' if last else '├── '}{_one_line(_text_label(step))}")
        inner = prefix + ("    " if last else "│   ")
        if isinstance(step, SyncStep):
            rows = [t.name for t in step.tasks]
        elif isinstance(step, SplitStep):
            branches = (("if true", step.if_true), ("if false", step.if_false))
            for j, (label, tasks) in enumerate(branches):
                _text_branch(label, tasks, inner, j == len(branches) - 1, out, depth)
            continue
        elif isinstance(step, ChildStep) and depth < _MAX_DEPTH:
            _text_steps(step.cadence, inner, out, depth + 1)
            continue
        else:
            continue
        for j, row in enumerate(rows):
            out.append(f"{inner}{'└── ' if j == len(rows) - 1 else '├── '}{_one_line(row)}")


def _text_branch(
    label: str, tasks: Any, prefix: str, last: bool, out: list[str], depth: int
) -> None:
    """One split branch: ``if true: a -> b`` or, for a parallel branch, its group as a tree."""
    branch = "└── " if last else "├── "
    inners = [_inner_cadence(t) for t in tasks]
    if not any(c is not None and c.steps for c in inners) or depth >= _MAX_DEPTH:
        names = " -> ".join(t.name for t in tasks) or "(nothing)"
        out.append(f"{prefix}{branch}{label}: {_one_line(names)}")
        return
    out.append(f"{prefix}{branch}{label}:")
    inner = prefix + ("    " if last else "│   ")
    for j, (task, cadence) in enumerate(zip(tasks, inners, strict=True)):
        if cadence is not None and cadence.steps:
            _text_steps(cadence, inner, out, depth + 1)
        else:
            last_task = j == len(tasks) - 1
            out.append(f"{inner}{'└── ' if last_task else '├── '}then {_one_line(task.name)}")


def _one_line(text: str) -> str:
    """``text`` on one line: a name holding a line break would cut the tree's lines apart."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _text_label(step: Any) -> str:
    if isinstance(step, SyncStep):
        # The merge's name, not ``merge_name``: for a callable object or a partial that is a
        # repr with a memory address, and the same cadence must give the same tree every run.
        merge = note_name_of(step.merge)
        return f"sync {step.name} ({len(step.tasks)} tasks, merge: {merge})"
    if isinstance(step, SplitStep):
        return f"split {step.name} on {step.condition.name}"
    if isinstance(step, ChildStep):
        return f"child {step.name} -> {step.cadence.name}"
    if isinstance(step, MapStep):
        into = f" -> {step.into}" if step.into else ""
        return f"map {step.name} over {step.items_label}: {step.fn_name} ({_limit(step)}){into}"
    if isinstance(step, WaitStep):
        timeout = (
            f" (timeout {step.timeout:g}s -> {step.on_timeout.name if step.on_timeout else 'fail'})"
            if step.timeout is not None
            else ""
        )
        when = f" if {step.when.name}" if step.when is not None else ""
        return f"wait {step.name} for {_waits_for(step)}{when}{timeout}"
    return f"then {step.name}"


def to_text(cadence: Any) -> str:
    """The plan as an indented tree, for terminals and logs."""
    _graph(cadence)  # same argument check as the other renderers
    out = [_one_line(cadence.name)]
    _text_steps(cadence, "", out, 0)
    return "\n".join(out) + "\n"


# --- rendering -------------------------------------------------------------------------------


_NO_GRAPHVIZ = (
    "rendering to SVG/PNG/PDF needs the Graphviz 'dot' program, which was not found on PATH; "
    "install Graphviz (apt-get install graphviz, brew install graphviz, "
    "https://graphviz.org/download/) or use to_mermaid()/to_dot() instead"
)


def render(
    cadence: Any, *, format: str = "svg", dot: str | None = None, **dot_options: Any
) -> bytes:
    """Render the plan to SVG, PNG or PDF bytes with the Graphviz ``dot`` program.

    Args:
        cadence: The cadence to draw.
        format: ``"svg"``, ``"png"`` or ``"pdf"``.
        dot: Path to the ``dot`` executable; found on ``PATH`` when omitted.
        **dot_options: Passed to :func:`to_dot` (``rankdir``, ``node_color``, ``edge_color``).

    Raises:
        GraphvizNotFoundError: ``dot`` is not installed; the message says how to get it.
    """
    if format not in _RENDERED:
        raise ValueError(
            f"format must be 'svg', 'png' or 'pdf', got {format!r}; for text use to_dot()"
        )
    return _run_dot(cadence, format, dot, dot_options)


def _run_dot(
    cadence: Any,
    format: str,
    dot: str | None,
    dot_options: dict[str, Any],
    output: Path | None = None,
) -> bytes:
    """Run Graphviz on the plan's DOT text: its output, or ``b""`` when it wrote ``output``."""
    exe = dot or shutil.which("dot")
    if exe is None or not Path(exe).exists():
        raise GraphvizNotFoundError(_NO_GRAPHVIZ)
    command = [exe, f"-T{format}"] + (["-o", str(output)] if output is not None else [])
    try:
        proc = subprocess.run(
            command,
            input=to_dot(cadence, **dot_options).encode(),
            capture_output=True,
            timeout=60,
            check=True,
        )
    except FileNotFoundError:  # removed between the lookup and the call
        raise GraphvizNotFoundError(_NO_GRAPHVIZ) from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if exc.stderr else ""
        raise RuntimeError(f"dot failed ({exc.returncode}): {stderr}") from None
    return b"" if output is not None else proc.stdout


_RENDERED = ("svg", "png", "pdf")

_SUFFIXES = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".md": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".txt": "text",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
}


def save_diagram(
    cadence: Any, path: str | Path, *, format: str | None = None, **options: Any
) -> Path:
    """Write a diagram to ``path``; the format follows the suffix unless given.

    Suffixes: ``.mmd``/``.mermaid``/``.md`` Mermaid, ``.dot``/``.gv`` DOT, ``.txt`` text,
    ``.svg``/``.png``/``.pdf`` (rendered with Graphviz). ``options`` go to the renderer
    (``direction``/``theme`` for Mermaid; ``rankdir``/``node_color``/``edge_color`` for DOT).
    """
    target = Path(path)
    wanted = format or target.suffix.lower()
    fmt = (
        _SUFFIXES.get(wanted)
        or _SUFFIXES.get(f".{wanted}")  # "svg" or, as in 0.7.2, ".svg"
        or (wanted if wanted in _TEXT else None)  # "text" (whose suffix is .txt)
    )
    if fmt is None:
        choices = sorted(set(_SUFFIXES.values()))
        raise ValueError(
            f"Unknown format {wanted!r} for {target.name!r}: give a file suffix or format= "
            f"(one of {choices})"
        )
    if fmt in _RENDERED:
        if not target.parent.is_dir():
            raise FileNotFoundError(f"save_diagram: the folder {target.parent} does not exist")
        dot = options.pop("dot", None)
        _run_dot(cadence, fmt, dot, options, output=target)  # Graphviz writes the file
    else:
        target.write_text(_TEXT[fmt](cadence, **options), encoding="utf-8")
    return target


_TEXT: dict[str, Callable[..., str]] = {"mermaid": to_mermaid, "dot": to_dot, "text": to_text}


def _takes_no_arguments(obj: Any) -> bool:
    if not callable(obj) or isinstance(obj, type):
        return False
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


def load_cadence(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the cadence it names.

    The attribute may be a ``Cadence`` or a function of no arguments returning one.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"expected 'module:attribute' (e.g. myapp.cadences:checkout), got {target!r}"
        )
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attr!r}") from None
    if not hasattr(obj, "steps") and _takes_no_arguments(obj):
        obj = obj()
    if not hasattr(obj, "steps") or not hasattr(obj, "run"):
        raise ValueError(f"{target!r} is a {type(obj).__name__}, not a Cadence")
    return obj


def diagram_command(
    target: str, *, format: str = "mermaid", output: str | Path | None = None
) -> str:
    """Entry point for ``cadence diagram TARGET [--format F] [--output PATH]``.

    Args:
        target: ``"module:attribute"`` naming a cadence.
        format: ``mermaid``, ``dot``, ``text``, ``svg`` or ``png``.
        output: File to write; required for ``svg``/``png``, else the text is just returned.

    Returns:
        The diagram text (for ``svg``/``png``: a line saying where the file was written).
    """
    cadence = load_cadence(target)
    if format in _RENDERED:
        if output is None:
            raise ValueError(f"--format {format} writes a file: give --output PATH")
        return f"wrote {save_diagram(cadence, output, format=format)}"
    if format not in _TEXT:
        raise ValueError(f"unknown format {format!r}; use mermaid, dot, text, svg or png")
    text = _TEXT[format](cadence)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    return text


# --- kept for cadence-orchestration 0.7.2 code (deprecated): see docs/migrating.md -----------

_COMPAT = ("DiagramNode", "MeasureShape", "print_cadence", "render_svg")


def __getattr__(name: str) -> Any:
    if name not in _COMPAT:
        raise AttributeError(f"module 'cadence.diagram' has no attribute {name!r}")
    from cadence._compat import diagram as compat

    if name in ("DiagramNode", "MeasureShape"):  # classes: warn on access, there is no call
        from cadence._compat import deprecated

        deprecated(f"cadence.diagram.{name}", "cadence.steps (the plan diagrams are drawn from)")
        return getattr(compat, name)
    from cadence._compat import bound

    return bound(getattr(compat, name), diagram=sys.modules[__name__])
