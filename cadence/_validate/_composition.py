"""Composition mode: untrusted text (model output) checked and built without executing it.

The accepted language is one cadence expression (optionally assigned to a name) over names
from a registry::

    Cadence("rag", score).sync("retrieve", [search_docs, search_web]).then("answer", answer)

The text is parsed with :func:`ast.parse` (which only builds a tree) and then read by a
whitelist: every node must be one the grammar table expects at that position, or it is
reported. :func:`parse_composition` produces plain data; :func:`build` turns that data into a
``Cadence`` by looking names up in the registry — no ``exec``, ``eval`` or ``compile`` of the
text, no attribute access on user objects, no calls except the builder's own methods.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import Any

from cadence._validate._diagnostics import Diagnostic, at, syntax_diagnostic
from cadence._validate._reader import Reader
from cadence._validate._scope import max_depth
from cadence._validate._values import FILENAME, Composition, Limits, Ref, StepSpec

__all__ = ["FILENAME", "Composition", "Limits", "Ref", "StepSpec", "parse_composition"]


def _parse(text: str) -> ast.Module:
    """Parse one expression, else one statement, as a module.

    ``eval`` and ``single`` modes are used rather than ``exec`` because for ``exec`` input
    CPython's parser tries to open the "file" named in ``filename`` to quote the line of a
    syntax error; these modes quote from the text itself, so nothing is ever opened.
    """
    try:
        expr = ast.parse(text, filename=FILENAME, mode="eval")
    except SyntaxError:
        single = ast.parse(text, filename=FILENAME, mode="single")
        return ast.Module(body=list(single.body), type_ignores=[])
    stmt = ast.Expr(expr.body)
    ast.copy_location(stmt, expr.body)
    return ast.Module(body=[stmt], type_ignores=[])


def parse_composition(
    text: str,
    registry: Collection[str] | Mapping[str, Any] | None,
    *,
    score_name: str = "score",
    limits: Limits | None = None,
) -> tuple[Composition | None, list[Diagnostic]]:
    """Check ``text`` as a composition; return its plain-data form (None on error) and findings."""
    if isinstance(registry, (str, bytes)) or not (
        registry is None or isinstance(registry, Collection)
    ):
        # ``name in "search,answer"`` would be a substring test: every fragment would pass.
        raise TypeError(
            "registry must be a mapping or a collection of names, got "
            f"{type(registry).__name__} {registry!r:.60}"
        )
    limits = limits or Limits()
    reader = Reader(registry, score_name, limits)
    if len(text) > limits.max_chars:
        return None, [
            at(
                None,
                "CAD002",
                f"the composition is longer than {limits.max_chars} characters",
                "keep compositions short; move detail into registry notes",
            )
        ]
    if not text.strip():
        return None, [
            at(
                None,
                "CAD503",
                "the composition is empty",
                'Cadence("name", score).then("step", note)',
            )
        ]
    try:
        tree = _parse(text)
    except SyntaxError as exc:
        diag = syntax_diagnostic(exc)
        if "multiple statements" in exc.msg:
            diag = Diagnostic(
                "CAD503",
                "error",
                diag.line,
                diag.column,
                "a composition is exactly one cadence expression",
                "remove everything but the Cadence(...) expression",
            )
        return None, [diag]
    except (ValueError, RecursionError, MemoryError) as exc:
        code = "CAD001" if isinstance(exc, ValueError) else "CAD002"
        return None, [
            at(
                None,
                code,
                f"the composition cannot be parsed: {type(exc).__name__}",
                "write one cadence expression",
            )
        ]
    if max_depth(tree, limits.max_depth) > limits.max_depth:
        return None, [
            at(
                None,
                "CAD002",
                f"the composition nests deeper than {limits.max_depth} levels",
                "write a flat chain of builder calls",
            )
        ]
    return reader.program(tree), reader.diags
