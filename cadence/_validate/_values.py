"""Composition mode, part 1: the data an accepted composition becomes, and argument values.

:class:`ValueReader` checks one argument at a time against the shape the grammar table asks
for (a string literal, a registry name, a list of names, a boolean) and reports anything else
— calls, attributes, lambdas, dunders — as forbidden, without evaluating it.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cadence._cadence import Cadence
from cadence._validate._diagnostics import Diagnostic, at, nearest, show
from cadence._validate._grammar import MERGE_STRATEGIES, Param

__all__ = ["FILENAME", "Composition", "Limits", "Ref", "StepSpec", "Value", "ValueReader"]

#: The file name given to ``ast.parse`` for compositions (audit hooks can recognise it).
FILENAME = "<cadence-composition>"

_DANGEROUS = frozenset(
    {
        "exec",
        "eval",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "help",
        "memoryview",
        "type",
        "object",
        "super",
    }
)


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Expr):
        return _describe(node.value)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "an import"
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        return f"a call of {name}()" if name else "a call"
    if isinstance(node, ast.Attribute):
        return f"attribute access .{node.attr}"
    if isinstance(node, ast.Lambda):
        return "a lambda"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "a definition"
    if isinstance(node, ast.Subscript):
        return "subscripting"
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, (ast.BinOp, ast.BoolOp, ast.UnaryOp, ast.Compare)):
        return "an operator expression"
    if isinstance(node, ast.Constant):
        return f"the literal {show(node.value)}"[:80]
    return f"this construct ({type(node).__name__})"


def _dunder(node: ast.AST) -> str | None:
    """The first dunder identifier anywhere under ``node`` (names, attributes, keywords)."""
    for sub in ast.walk(node):
        text = (
            sub.id
            if isinstance(sub, ast.Name)
            else sub.attr
            if isinstance(sub, ast.Attribute)
            else sub.arg
            if isinstance(sub, ast.keyword)
            else None
        )
        if text and text.startswith("__"):
            return text
    return None


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on untrusted input, so hostile text costs little to reject."""

    max_chars: int = 20_000
    max_steps: int = 200
    max_list: int = 64
    max_depth: int = 2 * 200 + 16  # a chain of max_steps calls nests two levels per call
    max_name_chars: int = 200


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a registry entry, with where it was written."""

    name: str
    line: int
    column: int


Value = str | bool | Ref | tuple[Ref, ...] | None


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One accepted builder call: the method and its arguments as plain data."""

    method: str
    args: dict[str, Value]
    line: int


@dataclass(frozen=True, slots=True)
class Composition:
    """An accepted composition: the cadence name, its steps, and the assigned name if any."""

    name: str
    steps: tuple[StepSpec, ...]
    target: str | None = None


class ValueReader:
    """Reads argument values of a composition; collects diagnostics in ``diags``."""

    def __init__(
        self, registry: Collection[str] | Mapping[str, Any] | None, score_name: str, limits: Limits
    ) -> None:
        self.registry = registry
        self.values = registry if isinstance(registry, Mapping) else None
        self.score_name = score_name
        self.limits = limits
        self.diags: list[Diagnostic] = []

    def forbid(self, node: ast.AST, expected: str) -> None:
        dunder = _dunder(node)
        if dunder:
            self.diags.append(
                at(
                    node,
                    "CAD502",
                    f"{dunder} is never allowed in a composition",
                    f"write {expected} using registry names only",
                )
            )
            return
        what = _describe(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _DANGEROUS
        ):
            what += " (a builtin that is never allowed)"
        self.diags.append(
            at(
                node,
                "CAD501",
                f"{what} is not allowed in a composition; expected {expected}",
                "a composition is only Cadence(...) with .then/.sync/.split/.child/.on_error over registry names",
            )
        )

    # -- argument values --------------------------------------------------------------------

    def value(self, param: Param, node: ast.expr) -> Value:
        shape = param.shape
        if shape == "name":
            return self.string(node, "CAD102", "the step name")
        if shape == "bool":
            if isinstance(node, ast.Constant) and isinstance(node.value, bool):
                return node.value
            self.forbid(node, "True or False")
            return None
        if shape == "strategy":
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in MERGE_STRATEGIES:
                    return node.value
                self.diags.append(
                    at(
                        node,
                        "CAD103",
                        f"unknown merge strategy {show(node.value)}",
                        "one of " + ", ".join(repr(s) for s in MERGE_STRATEGIES),
                    )
                )
                return None
            return self.ref(node, "a merge strategy", kind="callable")
        if shape == "notes" or (shape == "branch" and isinstance(node, (ast.List, ast.Tuple))):
            return self.refs(param, node)
        if shape == "cadence":
            return self.ref(node, "a child cadence", kind="cadence")
        return self.ref(node, f"a {shape} (a registry name)", kind="callable")

    def string(self, node: ast.expr, code: str, what: str) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if not text.strip():
                self.diags.append(
                    at(node, code, f"{what} must be a non-empty string", '"fetch_items"')
                )
                return None
            if len(text) > self.limits.max_name_chars or not text.isprintable():
                self.diags.append(
                    at(
                        node,
                        code,
                        f"{what} must be printable and at most {self.limits.max_name_chars} characters",
                        '"fetch_items"',
                    )
                )
                return None
            return text
        if isinstance(node, ast.Name) and not node.id.startswith("__"):
            self.diags.append(
                at(
                    node,
                    code,
                    f"{what} must be a string literal, got the name {node.id!r}",
                    f'"{node.id}"',
                )
            )
            return None
        self.forbid(node, f"{what} as a string literal")
        return None

    def refs(self, param: Param, node: ast.expr) -> tuple[Ref, ...] | None:
        if not isinstance(node, (ast.List, ast.Tuple)):
            if isinstance(node, ast.Name) and param.shape == "notes":
                self.diags.append(
                    at(
                        node,
                        "CAD104",
                        ".sync() expects a list of notes, got a single name",
                        f"[{node.id}]",
                    )
                )
                return None
            self.forbid(node, "a list of registry names")
            return None
        if not node.elts and (param.shape == "notes" or param.name == "if_true"):
            code = "CAD104" if param.shape == "notes" else "CAD103"
            self.diags.append(at(node, code, f"{param.name} is an empty list", "[note_a, note_b]"))
            return None
        if len(node.elts) > self.limits.max_list:
            self.diags.append(
                at(
                    node,
                    "CAD002",
                    f"more than {self.limits.max_list} notes in one list",
                    "use fewer notes",
                )
            )
            return None
        refs = [self.ref(elt, "a registry name", kind="callable") for elt in node.elts]
        clean = [r for r in refs if r is not None]
        return tuple(clean) if len(clean) == len(refs) else None

    def ref(self, node: ast.expr, expected: str, *, kind: str) -> Ref | None:
        if not isinstance(node, ast.Name) or node.id.startswith("__"):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.isidentifier()
            ):
                self.diags.append(
                    at(
                        node,
                        "CAD204",
                        f"expected {expected}, got the string {show(node.value)}",
                        f"write the name without quotes: {node.value}",
                    )
                )
                return None
            self.forbid(node, expected)
            return None
        name = node.id
        if self.registry is not None and name not in self.registry:
            guess = nearest(name, sorted(self.registry))
            hint = (
                f"did you mean {guess!r}?"
                if guess
                else "available: " + ", ".join(sorted(self.registry)[:20])
            )
            self.diags.append(at(node, "CAD201", f"{name!r} is not in the registry", hint))
            return None
        if self.values is not None:
            value = self.values[name]
            is_cadence = isinstance(value, Cadence)
            if kind == "cadence" and not is_cadence:
                self.diags.append(
                    at(
                        node,
                        "CAD204",
                        f"{name!r} is not a Cadence",
                        f'use .then("step", {name}) for a note',
                    )
                )
                return None
            if kind == "callable" and (is_cadence or not callable(value)):
                hint = (
                    f'use .child("step", {name}, merge) for a cadence'
                    if is_cadence
                    else "register a function"
                )
                self.diags.append(
                    at(node, "CAD204", f"{name!r} is not a function taking the score", hint)
                )
                return None
        return Ref(name, node.lineno, node.col_offset + 1)
