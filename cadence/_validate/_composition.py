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
from dataclasses import dataclass
from typing import Any

from cadence._cadence import Cadence
from cadence._validate._chains import attr_at
from cadence._validate._diagnostics import Diagnostic, at, nearest, syntax_diagnostic
from cadence._validate._grammar import (
    COMPOSITION_METHODS,
    CONSTRUCTOR,
    MERGE_STRATEGIES,
    METHODS,
    OTHER_ATTRIBUTES,
    Method,
    Param,
    bind,
    suggest_method,
)
from cadence._validate._scope import max_depth

__all__ = ["FILENAME", "Composition", "Limits", "Ref", "StepSpec", "parse_composition"]

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
        return f"the literal {node.value!r}"[:80]
    return f"a {type(node).__name__} node"


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


class _Reader:
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

    # -- program ----------------------------------------------------------------------------

    def program(self, tree: ast.Module) -> Composition | None:
        if not tree.body:
            self.diags.append(
                at(
                    None,
                    "CAD503",
                    "the composition is empty",
                    'Cadence("name", score).then("step", note)',
                )
            )
            return None
        for extra in tree.body[1:]:
            self.forbid(extra, "nothing after the cadence expression")
        stmt = tree.body[0]
        target = None
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            target = stmt.targets[0].id
            if target.startswith("__"):
                self.forbid(stmt.targets[0], "a plain name")
                return None
            expr = stmt.value
        elif isinstance(stmt, ast.Expr):
            expr = stmt.value
        else:
            self.forbid(stmt, "one cadence expression")
            return None
        comp = self.chain(expr, target)
        return comp if comp is not None and not any(d.is_error for d in self.diags) else None

    def chain(self, expr: ast.expr, target: str | None) -> Composition | None:
        links: list[ast.Call] = []
        node: ast.expr = expr
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            links.append(node)
            node = node.func.value
            if len(links) > self.limits.max_steps:
                self.diags.append(
                    at(
                        expr,
                        "CAD002",
                        f"more than {self.limits.max_steps} steps in one composition",
                        "split the work into child cadences from the registry",
                    )
                )
                return None
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Cadence"
        ):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and not node.func.id.startswith("__")
            ):
                guess = "Cadence"
                self.diags.append(
                    at(
                        node,
                        "CAD503",
                        f"a composition starts with Cadence(name, {self.score_name}), not {node.func.id}()",
                        f'{guess}("pipeline", {self.score_name}).then("step", note)',
                    )
                )
            else:
                self.forbid(node, f'Cadence("name", {self.score_name})')
            return None
        name = self.constructor(node)
        steps: list[StepSpec] = []
        seen: set[str] = set()
        for call in reversed(links):
            spec = self.method(call, seen)
            if spec is not None:
                steps.append(spec)
        return Composition(name or "", tuple(steps), target)

    def constructor(self, call: ast.Call) -> str | None:
        bound = self.bound(call, CONSTRUCTOR, "Cadence()")
        if bound is None:
            return None
        name_node, score = bound.get("name"), bound.get("score")
        name = None
        if name_node is None:
            self.diags.append(
                at(
                    call,
                    "CAD108",
                    "Cadence() needs a name",
                    f'Cadence("pipeline", {self.score_name})',
                )
            )
        else:
            name = self.string(name_node, "CAD108", "the cadence name")
        if score is None:
            self.diags.append(
                at(
                    call,
                    "CAD103",
                    "Cadence() needs the score",
                    f'Cadence("pipeline", {self.score_name})',
                )
            )
        elif not (isinstance(score, ast.Name) and score.id == self.score_name):
            if isinstance(score, ast.Name) and not score.id.startswith("__"):
                self.diags.append(
                    at(
                        score,
                        "CAD103",
                        f"the score must be written as {self.score_name!r}, got {score.id!r}",
                        f'Cadence("pipeline", {self.score_name})',
                    )
                )
            else:
                self.forbid(score, f"the name {self.score_name!r}")
        return name

    def bound(self, call: ast.Call, method: Method, where: str) -> dict[str, ast.expr] | None:
        bound, diags, complete = bind(call, method, where=where)
        if not complete:
            self.diags.append(
                at(
                    call,
                    "CAD501",
                    "argument unpacking (* or **) is not allowed in a composition",
                    method.summary,
                )
            )
            return None
        self.diags += diags
        return bound

    def method(self, call: ast.Call, seen: set[str]) -> StepSpec | None:
        attr = call.func
        assert isinstance(attr, ast.Attribute)
        name = attr.attr
        if name not in COMPOSITION_METHODS:
            if name.startswith("__"):
                self.forbid(attr, "a builder method")
            elif name in OTHER_ATTRIBUTES:
                self.diags.append(
                    at(
                        attr,
                        "CAD501",
                        f".{name}() is not allowed in a composition",
                        "the host program attaches hooks, reporters and checkpoints, and runs the cadence",
                    )
                )
            else:
                guess = suggest_method(name, COMPOSITION_METHODS)
                hint = (
                    f"use .{guess}(): {METHODS[guess].summary}"
                    if guess
                    else "methods: .then .sync .split .child .on_error"
                )
                self.diags.append(attr_at(attr, "CAD101", f"Cadence has no method .{name}()", hint))
            return None
        method = METHODS[name]
        bound = self.bound(call, method, f".{name}()")
        if bound is None:
            return None
        args: dict[str, Value] = {}
        first = bound.get("name")
        if (
            method.params[0].shape == "name"
            and first is not None
            and not isinstance(first, ast.Constant)
            and method.params[1].name not in bound
        ):
            label = first.id if isinstance(first, ast.Name) else "..."
            self.diags.append(
                at(
                    first,
                    "CAD102",
                    f".{name}() needs a step name before the {method.params[1].name}",
                    f'.{name}("{label}", {label})',
                )
            )
            return None
        for param in method.params:
            node = bound.get(param.name)
            if node is None:
                if param.required:
                    self.missing(method, param, call)
                continue
            args[param.name] = self.value(param, node)
        step = args.get("name")
        if isinstance(step, str) and name != "on_error":
            if step in seen:
                self.diags.append(
                    at(
                        bound["name"],
                        "CAD107",
                        f"a step named {step!r} already exists in this cadence",
                        f'give each step a unique name, e.g. "{step}_2"',
                    )
                )
            seen.add(step)
        return StepSpec(name, args, call.lineno)

    def missing(self, method: Method, param: Param, call: ast.Call) -> None:
        m = method.name
        code, hint = {
            ("then", "name"): ("CAD102", '.then("step_name", note)'),
            ("sync", "name"): ("CAD102", '.sync("step_name", [note_a, note_b])'),
            ("split", "name"): ("CAD102", '.split("step_name", condition, if_true, if_false)'),
            ("child", "name"): ("CAD102", '.child("step_name", sub_cadence, merge)'),
            ("sync", "tasks"): ("CAD104", '.sync("step", [note_a, note_b])'),
            ("split", "condition"): (
                "CAD105",
                '.split("step", condition=is_x, if_true=[...], if_false=[...])',
            ),
            ("child", "merge"): ("CAD106", '.child("step", sub_cadence, merge_results)'),
        }.get((m, param.name), ("CAD103", method.summary))
        where: ast.AST = call.func if isinstance(call.func, ast.Attribute) else call
        diag = (
            attr_at(where, code, f".{m}() is missing {param.name!r}", hint)
            if isinstance(where, ast.Attribute)
            else at(call, code, f".{m}() is missing {param.name!r}", hint)
        )
        self.diags.append(diag)

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
                        f"unknown merge strategy {node.value!r}",
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
                        f"expected {expected}, got the string {node.value!r}",
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
    limits = limits or Limits()
    reader = _Reader(registry, score_name, limits)
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
