"""Module mode entry point: parse a whole file and run every static check on it."""

from __future__ import annotations

import ast
from collections.abc import Collection

from cadence._validate._chains import check_chains
from cadence._validate._defs import check_definitions
from cadence._validate._diagnostics import Diagnostic, at, syntax_diagnostic
from cadence._validate._hygiene import check_hygiene
from cadence._validate._scope import analyse

__all__ = ["MAX_MODULE_CHARS", "MAX_MODULE_DEPTH", "check_module_source"]

MAX_MODULE_CHARS = 5_000_000
MAX_MODULE_DEPTH = 3_000


def check_module_source(
    text: str, registry: Collection[str], *, filename: str = "<string>"
) -> list[Diagnostic]:
    """Statically check a Python module that defines cadences (never imports or runs it)."""
    if len(text) > MAX_MODULE_CHARS:
        return [
            at(
                None,
                "CAD002",
                f"the file is larger than {MAX_MODULE_CHARS} characters",
                "split it up",
            )
        ]
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        return [syntax_diagnostic(exc)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [
            at(
                None,
                "CAD001",
                f"the file cannot be parsed: {type(exc).__name__}: {exc}",
                "fix the source",
            )
        ]
    info = analyse(tree, depth_limit=MAX_MODULE_DEPTH)
    if info.depth > MAX_MODULE_DEPTH:
        return [
            at(
                None,
                "CAD002",
                f"the code nests deeper than {MAX_MODULE_DEPTH} levels",
                "flatten it",
            )
        ]
    return check_chains(info, registry) + check_definitions(info) + check_hygiene(info)
