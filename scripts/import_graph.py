"""The import graph of cadence and cadence_llm, and the circles in it.

Every ``import`` in the packages' source is an edge, labelled by how it runs:

* ``top``  — at module level: runs when the module is imported;
* ``lazy`` — inside a function: runs when the function is first called;
* ``type`` — under ``if TYPE_CHECKING:``: never runs, only type checkers read it.

A circle of ``top`` and ``lazy`` edges is a real knot (the two modules cannot be understood, or
loaded, one without the other); a circle that needs a ``type`` edge is only a pair of
annotations. ``from pkg import sub`` is an edge to ``pkg.sub`` only; the implicit import of a
parent package is not an edge.

Run: ``python scripts/import_graph.py`` prints every circle with its edges and exits 1 when a
real one exists (``--all`` also prints the type-only circles).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cadence", "cadence_llm")
RUNTIME = frozenset({"top", "lazy"})

Graph = dict[str, dict[str, set[str]]]
"""module -> imported module -> the kinds of edge (top, lazy, type)."""


def modules(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of the packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str]]:
    """``(imported module, kind)`` for each import statement of one module."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: list[tuple[str, str]] = []

    def absolute(module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        base = package[: len(package) - (level - 1)]
        return ".".join([*base, *([module] if module else [])])

    def visit(node: ast.AST, kind: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for item in child.body:
                    visit_one(item, "type", in_function)
                for item in child.orelse:
                    visit_one(item, kind, in_function)
            else:
                visit_one(child, kind, in_function)

    def visit_one(node: ast.AST, kind: str, in_function: bool) -> None:
        edge = "lazy" if in_function and kind != "type" else kind
        if isinstance(node, ast.Import):
            out.extend((alias.name, edge) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = absolute(node.module, node.level)
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            out.extend((sub, edge) for sub in subs)
            if len(subs) < len(node.names):
                out.append((module, edge))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit(node, kind, True)
        else:
            visit(node, kind, in_function)

    visit(ast.parse(path.read_text(encoding="utf-8")), "top", False)
    resolved: list[tuple[str, str]] = []
    for target, kind in out:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.append((target, kind))
    return resolved


def graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    """The import graph of the packages' own modules."""
    known = modules(root, packages)
    result: Graph = {name: {} for name in known}
    for name, path in known.items():
        for target, kind in _imports(name, path, known):
            result[name].setdefault(target, set()).add(kind)
    return result


def circles(g: Graph, kinds: frozenset[str] = RUNTIME) -> list[list[str]]:
    """The strongly connected groups of modules (size > 1) over edges of the given kinds."""
    edges = {n: sorted(t for t, k in targets.items() if k & kinds) for n, targets in g.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return sorted(found)


def describe(g: Graph, group: list[str]) -> list[str]:
    """The edges inside one circle, as ``a -> b (kinds)`` lines."""
    return [
        f"  {a} -> {b} ({', '.join(sorted(g[a][b]))})"
        for a in group
        for b in sorted(g[a])
        if b in group
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also print type-only circles")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to read")
    args = parser.parse_args(argv)
    g = graph(args.root)
    real = circles(g)
    print(f"{len(g)} modules, {sum(len(t) for t in g.values())} import edges")
    print(f"circles at run time (top + lazy imports): {len(real)}")
    for group in real:
        print("\n".join(describe(g, group)))
    if args.all:
        typed = [c for c in circles(g, RUNTIME | {"type"}) if c not in real]
        print(f"circles that need a TYPE_CHECKING import: {len(typed)}")
        for group in typed:
            print("\n".join(describe(g, group)))
    return 1 if real else 0


if __name__ == "__main__":
    raise SystemExit(main())
