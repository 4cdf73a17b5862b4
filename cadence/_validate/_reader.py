"""Composition mode, part 2: the program's structure (one chain of builder calls).

:class:`Reader` walks ``Cadence(name, score).method(...)...`` from the root outwards, binds
each call against the grammar table and hands each argument to :class:`ValueReader`.
"""

from __future__ import annotations

import ast

from cadence._validate._arguments import attr_at
from cadence._validate._diagnostics import at
from cadence._validate._grammar import (
    COMPOSITION_METHODS,
    CONSTRUCTOR,
    METHODS,
    OTHER_ATTRIBUTES,
    Method,
    Param,
    bind,
    suggest_method,
)
from cadence._validate._values import Composition, StepSpec, Value, ValueReader

__all__ = ["Reader"]


class Reader(ValueReader):
    """Reads a whole composition into a :class:`Composition` (or diagnostics)."""

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
        self.replaced_handlers(links)
        return Composition(name or "", tuple(steps), target)

    def replaced_handlers(self, links: list[ast.Call]) -> None:
        """CAD110 on each ``.on_error`` a later one replaces (a cadence keeps the last)."""
        handlers = [
            call.func
            for call in reversed(links)
            if isinstance(call.func, ast.Attribute) and call.func.attr == "on_error"
        ]
        for attr in handlers[:-1]:
            self.diags.append(
                attr_at(
                    attr,
                    "CAD110",
                    "a later .on_error() replaces this one (a cadence keeps only its last handler)",
                    "keep one .on_error(handler), as the last call",
                )
            )

    def listed_twice(
        self, method: Method, bound: dict[str, ast.expr], args: dict[str, Value]
    ) -> None:
        """CAD109 on a list argument that names one entry twice (it would run twice)."""
        for param in method.params:
            value = args.get(param.name)
            if not isinstance(value, tuple):
                continue
            names = [ref.name for ref in value]
            twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
            if twice is not None:
                self.diags.append(
                    at(
                        bound[param.name],
                        "CAD109",
                        f".{method.name}() lists {twice} twice in {param.name!r}: it would run twice",
                        f"list {twice} once",
                    )
                )

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
            elif name in METHODS:  # a builder method compositions leave to the host (.wait)
                self.diags.append(
                    attr_at(
                        attr,
                        "CAD501",
                        f".{name}() is not allowed in a composition",
                        "a wait needs a checkpoint store and someone to resume the run; add it "
                        "in the host program, around the cadences a composition builds",
                    )
                )
            elif name in OTHER_ATTRIBUTES and name != "sequence":  # .sequence: CAD101 below
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
                    f"use .{METHODS[guess].summary}"
                    if guess
                    else "methods: "
                    + " ".join(f".{m}" for m in METHODS if m in COMPOSITION_METHODS)
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
        self.listed_twice(method, bound, args)
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
        # The line of the method name itself: in a chain split over lines, call.lineno is the
        # line where the whole chain starts.
        return StepSpec(name, args, attr.end_lineno or call.lineno)

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
