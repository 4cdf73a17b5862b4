"""Module mode: check every ``Cadence(...)`` builder chain in a file.

Finds chains (``Cadence(...).then(...)`` and later ``c.then(...)`` on a variable holding one),
binds each call's arguments against the grammar table, and checks what each argument refers
to: defined, the right kind, callable with the arguments the runner will pass.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

from cadence._validate._arguments import ArgumentChecks, Arms, Chain, attr_at
from cadence._validate._diagnostics import Diagnostic, at, show
from cadence._validate._grammar import (
    CONSTRUCTOR,
    METHODS,
    OTHER_ATTRIBUTES,
    TERMINAL,
    Method,
    bind,
    suggest_method,
)
from cadence._validate._scope import ModuleInfo

__all__ = ["check_chains"]


class _ChainChecker(ArgumentChecks):
    def __init__(self, info: ModuleInfo, registry: Collection[str]) -> None:
        self.info = info
        self.registry = registry
        self.diags: list[Diagnostic] = []
        self.vars: dict[tuple[int, str], Chain] = {}
        self.ctor_names = {"Cadence"} | {
            local for local, origin in info.imports.items() if origin.endswith(".Cadence")
        }
        self.statement_arms = _statement_arms(info.tree)

    # -- finding chains ---------------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        seen: set[int] = set()
        calls = sorted(
            self.info.calls,
            key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)),
        )
        for call in calls:
            if id(call) in seen:
                continue
            links: list[tuple[ast.Attribute, ast.Call]] = []
            node: ast.expr = call
            while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                links.append((node.func, node))
                seen.add(id(node))
                node = node.func.value
            links.reverse()
            chain = self._root(node, call)
            if chain is None:
                continue
            if isinstance(node, ast.Call):
                seen.add(id(node))
            statement = self.info.parents.get(id(call))
            self.arms = self.statement_arms.get(id(statement), ())
            self._links(chain, links)
            self._remember(call, chain)
        return self.diags

    def _scope(self, node: ast.AST) -> int:
        func = self.info.func_of.get(id(node))
        return 0 if func is None else id(func)

    def _var(self, node: ast.AST, name: str) -> Chain | None:
        found = self.vars.get((self._scope(node), name))
        if found is None and not self.info.binds_locally(name, node):
            found = self.vars.get((0, name))  # a module-level cadence the function uses
        return found

    def _root(self, node: ast.expr, top: ast.Call) -> Chain | None:
        if isinstance(node, ast.Call) and self._is_ctor(node):
            self._constructor(node)
            return Chain()
        if isinstance(node, ast.Name):
            return self._var(node, node.id)
        return None

    def _is_ctor(self, call: ast.Call) -> bool:
        f = call.func
        return (isinstance(f, ast.Name) and f.id in self.ctor_names) or (
            isinstance(f, ast.Attribute) and f.attr == "Cadence"
        )

    def _remember(self, top: ast.Call, chain: Chain) -> None:
        parent = self.info.parents.get(id(top))
        target = None
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign):
            target = parent.target
        if isinstance(target, ast.Name):
            self.vars[(self._scope(parent), target.id)] = chain  # type: ignore[arg-type]

    # -- checking ---------------------------------------------------------------------------

    def _constructor(self, call: ast.Call) -> None:
        bound, diags, complete = bind(call, CONSTRUCTOR, where="Cadence()")
        self.diags += diags
        name = bound.get("name")
        if name is None and complete:
            self.diags.append(
                at(call, "CAD108", "Cadence() needs a name", 'Cadence("checkout", score)')
            )
        elif isinstance(name, ast.Constant) and not (
            isinstance(name.value, str) and name.value.strip()
        ):
            self.diags.append(
                at(
                    name,
                    "CAD108",
                    f"the cadence name must be a non-empty string, got {show(name.value)}",
                    'Cadence("checkout", score)',
                )
            )
        if "score" not in bound and complete:
            self.diags.append(
                at(
                    call,
                    "CAD103",
                    "Cadence() needs the score it runs on",
                    'Cadence("checkout", OrderScore())',
                )
            )

    def _links(self, chain: Chain, links: list[tuple[ast.Attribute, ast.Call]]) -> None:
        for attr, call in links:
            method = attr.attr
            if method in METHODS:
                self._method(chain, METHODS[method], call)
            elif method in OTHER_ATTRIBUTES:
                if method in ("run", "run_sync"):
                    self._run_call(method, call)
                if method in TERMINAL:
                    return
            else:
                allowed = set(METHODS) | OTHER_ATTRIBUTES
                guess = suggest_method(method, allowed)
                hint = (
                    f"use .{METHODS[guess].summary}"
                    if guess in METHODS
                    else f"use .{guess}()"
                    if guess
                    else "the builder methods are " + ", ".join(f".{m}()" for m in METHODS)
                )
                self.diags.append(
                    attr_at(attr, "CAD101", f"Cadence has no method .{method}()", hint)
                )
                self._loose_refs(call)

    def _loose_refs(self, call: ast.Call) -> None:
        """Arguments of an unknown method: still report names that are not defined."""
        values = [*call.args, *(kw.value for kw in call.keywords)]
        for value in values:
            items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            for item in items:
                if (
                    isinstance(item, ast.Name)
                    and not self.info.is_defined(item.id)
                    and item.id not in self.registry
                ):
                    self._undefined(item, "note")

    def _run_call(self, method: str, call: ast.Call) -> None:
        parent = self.info.parents.get(id(call))
        func = self.info.func_of.get(id(call))
        in_async = isinstance(func, ast.AsyncFunctionDef)
        if method == "run_sync":
            if in_async:
                self.diags.append(
                    at(
                        call,
                        "CAD403",
                        ".run_sync() inside an async function blocks the event loop",
                        "write `await cadence.run()` instead",
                    )
                )
            return
        if isinstance(parent, ast.Expr) or self._never_awaited(parent, call):
            hint = (
                "write `await cadence.run()`"
                if in_async
                else (
                    "write `cadence.run_sync()` (or `asyncio.run(cadence.run())`) outside async code"
                )
            )
            self.diags.append(
                at(
                    call,
                    "CAD402",
                    ".run() returns a coroutine that is never awaited; the cadence does not run",
                    hint,
                )
            )

    def _never_awaited(self, parent: ast.AST | None, call: ast.Call) -> bool:
        """``result = c.run()`` whose ``result`` is never awaited or handed on in its scope.

        An assigned coroutine may be awaited later (``await coro``), gathered, returned or
        passed to ``asyncio.run``; if the name is only read as a score (``result.total``) or
        not at all, the run never happens.
        """
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign) and parent.value is call:
            target = parent.target
        else:
            return False
        if not isinstance(target, ast.Name):
            return False
        scope: ast.AST = self.info.func_of.get(id(call)) or self.info.tree
        for node in ast.walk(scope):
            if not (
                isinstance(node, ast.Name)
                and node.id == target.id
                and isinstance(node.ctx, ast.Load)
            ):
                continue
            use = self.info.parents.get(id(node))
            if not isinstance(use, (ast.Attribute, ast.Subscript, ast.Compare, ast.FormattedValue)):
                return False  # awaited, passed on, returned, collected or aliased
        return True

    def _method(self, chain: Chain, method: Method, call: ast.Call) -> None:
        where = f".{method.name}()"
        bound, diags, complete = bind(call, method, where=where)
        self.diags += diags
        if method.params[0].shape == "name" and not self._step_name(chain, method, call, bound):
            return
        for param in method.params:
            value = bound.get(param.name)
            if value is None:
                if param.required and complete:
                    self._missing(method, param, call, bound)
                continue
            self._argument(method, param, value)


def _statement_arms(tree: ast.Module) -> dict[int, Arms]:
    """The ``if``/``match`` arms each statement sits in (iteratively, for deep files).

    Two ``c.then("charge", ...)`` in the ``if`` and the ``else`` of one test never both run,
    so they are not duplicate step names. ``except`` handlers exclude each other, not the
    ``try`` body (which may have run up to the failure).
    """
    out: dict[int, Arms] = {}
    stack: list[tuple[list[ast.stmt], Arms]] = [(tree.body, ())]
    while stack:
        body, arms = stack.pop()
        for stmt in body:
            out[id(stmt)] = arms
            if isinstance(stmt, ast.If):
                stack.append((stmt.body, (*arms, (id(stmt), 0))))
                stack.append((stmt.orelse, (*arms, (id(stmt), 1))))
            elif isinstance(stmt, ast.Match):
                for i, case in enumerate(stmt.cases):
                    stack.append((case.body, (*arms, (id(stmt), i))))
            else:
                for handler_index, handler in enumerate(getattr(stmt, "handlers", ())):
                    stack.append((handler.body, (*arms, (id(stmt), handler_index + 1))))
                for name in ("body", "orelse", "finalbody"):
                    inner = getattr(stmt, name, None)
                    if isinstance(inner, list):
                        stack.append((inner, arms))
    return out


def check_chains(info: ModuleInfo, registry: Collection[str]) -> list[Diagnostic]:
    """Check every cadence builder chain of the module."""
    return _ChainChecker(info, registry).run()
