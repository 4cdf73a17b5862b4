"""One iterative pass over a module's AST that records what the checks need to look things up.

Iterative rather than recursive so a deeply nested (or hostile) file cannot exhaust the Python
stack; every later check reads these tables instead of walking the tree again.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

__all__ = ["FuncNode", "ModuleInfo", "analyse", "dotted", "max_depth"]

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda

_BUILTINS = frozenset(dir(builtins))


@dataclass(slots=True)
class ModuleInfo:
    """Lookup tables for one parsed module."""

    tree: ast.Module
    parents: dict[int, ast.AST] = field(default_factory=dict)
    func_of: dict[int, FuncNode | None] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)
    star_import: bool = False
    imports: dict[str, str] = field(default_factory=dict)
    defs: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)
    calls: list[ast.Call] = field(default_factory=list)
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)
    depth: int = 0
    # Per scope (``id`` of the function, 0 for the module): names it binds other than by a
    # ``def`` (parameters, assignments, imports, classes), and the scope a function (or a
    # lambda) is defined in, so a name is looked up where Python would look it up.
    local_names: dict[int, set[str]] = field(default_factory=dict)
    declared_outer: dict[int, set[str]] = field(default_factory=dict)
    enclosing: dict[int, FuncNode | None] = field(default_factory=dict)

    def is_defined(self, name: str) -> bool:
        """Whether ``name`` is bound anywhere in the module, imported, or a builtin."""
        return self.star_import or name in self.bound or name in _BUILTINS

    def unique_def(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The one function called ``name`` (None when absent, ambiguous, or rebound)."""
        found = self.defs.get(name, [])
        if len(found) != 1 or name in self.imports:
            return None
        return found[0]

    def def_for(self, name: str, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The function ``name`` means where ``node`` uses it, following Python's scopes.

        None when the name is a parameter, an assignment or an import in a scope between
        (a different object, unknown statically), or when that scope defines it twice.
        """
        scope = self.func_of.get(id(node))
        while True:
            key = 0 if scope is None else id(scope)
            if name in self.local_names.get(key, ()) and name not in self.declared_outer.get(
                key, ()
            ):
                return None
            here = [d for d in self.defs.get(name, ()) if self.enclosing.get(id(d)) is scope]
            if here:
                return here[0] if len(here) == 1 else None
            if scope is None:
                return None
            scope = self.enclosing.get(id(scope))

    def binds_locally(self, name: str, node: ast.AST) -> bool:
        """Whether the function around ``node`` binds ``name`` itself (hiding a module name)."""
        scope = self.func_of.get(id(node))
        if scope is None:
            return False
        key = id(scope)
        in_scope = name in self.local_names.get(key, ()) or any(
            self.enclosing.get(id(d)) is scope for d in self.defs.get(name, ())
        )
        return in_scope and name not in self.declared_outer.get(key, ())

    def unique_class(self, name: str) -> ast.ClassDef | None:
        """The one class called ``name``, if exactly one is defined."""
        found = self.classes.get(name, [])
        return found[0] if len(found) == 1 else None

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted origin of a name or attribute chain, following imports.

        ``sleep`` after ``from time import sleep`` gives ``"time.sleep"``; ``t.sleep`` after
        ``import time as t`` gives ``"time.sleep"``; unknown roots keep their own name.
        """
        path = dotted(node)
        if path is None:
            return None
        head, _, rest = path.partition(".")
        origin = self.imports.get(head, head)
        return f"{origin}.{rest}" if rest else origin


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def max_depth(tree: ast.AST, limit: int) -> int:
    """The nesting depth of ``tree``, counting no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        for name in node._fields:
            value = getattr(node, name, None)
            for child in value if type(value) is list else (value,):
                if isinstance(child, ast.AST):
                    stack.append((child, depth + 1))
    return deepest


def _bind(info: ModuleInfo, name: str, func: FuncNode | None) -> None:
    """``name`` is bound (not by a ``def``) in the scope of ``func`` (None: the module)."""
    info.bound.add(name)
    info.local_names.setdefault(0 if func is None else id(func), set()).add(name)


def _bind_args(info: ModuleInfo, node: FuncNode) -> None:
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    for a in every:
        _bind(info, a.arg, node)


def _record(info: ModuleInfo, node: ast.AST, parent: ast.AST | None, func: FuncNode | None) -> None:
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        _bind(info, node.id, func)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        info.bound.add(node.name)
        info.functions.append(node)
        info.enclosing[id(node)] = func
        _bind_args(info, node)
        if isinstance(parent, ast.ClassDef):
            return
        info.defs.setdefault(node.name, []).append(node)
    elif isinstance(node, ast.Lambda):
        info.enclosing[id(node)] = func
        _bind_args(info, node)
    elif isinstance(node, ast.ClassDef):
        _bind(info, node.name, func)
        info.classes.setdefault(node.name, []).append(node)
    elif isinstance(node, ast.Import):
        for alias in node.names:
            local = alias.asname or alias.name.partition(".")[0]
            _bind(info, local, func)
            info.imports[local] = alias.name if alias.asname else local
    elif isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                info.star_import = True
                continue
            local = alias.asname or alias.name
            _bind(info, local, func)
            info.imports[local] = f"{base}.{alias.name}" if base else alias.name
    elif isinstance(node, ast.ExceptHandler) and node.name:
        _bind(info, node.name, func)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        info.bound.update(node.names)
        if func is not None:
            info.declared_outer.setdefault(id(func), set()).update(node.names)
    elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        _bind(info, node.name, func)
    elif isinstance(node, ast.MatchMapping) and node.rest:
        _bind(info, node.rest, func)
    elif isinstance(node, ast.Call):
        info.calls.append(node)


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_QUIET = frozenset(
    {ast.Constant, ast.Load, ast.Store, ast.Attribute, ast.keyword, ast.arg, ast.Expr}
)
_LOCATED = frozenset({ast.Call, ast.Name, ast.Assign, ast.AnnAssign})


def analyse(tree: ast.Module, *, depth_limit: int = 1_000_000) -> ModuleInfo:
    """Walk ``tree`` once (iteratively) and build its :class:`ModuleInfo`.

    Also measures the nesting depth (``info.depth``), stopping early past ``depth_limit``.
    This is the checker's hot path: children are read from ``_fields`` directly, and parents
    and enclosing functions are kept only for the node types later checks look up.
    """
    info = ModuleInfo(tree)
    stack: list[tuple[ast.AST, ast.AST | None, FuncNode | None, int]] = [(tree, None, None, 1)]
    parents, func_of = info.parents, info.func_of
    while stack:
        node, parent, func, depth = stack.pop()
        kind = type(node)
        if depth > info.depth:
            info.depth = depth
            if depth > depth_limit:
                return info
        if kind in _LOCATED:
            func_of[id(node)] = func
            if parent is not None:
                parents[id(node)] = parent
            if kind is ast.Name:
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    _bind(info, node.id, func)  # type: ignore[attr-defined]
            else:
                _record(info, node, parent, func)
        elif kind not in _QUIET:
            _record(info, node, parent, func)
        is_func = kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        outer: set[int] = set()
        if is_func:
            # Decorators and defaults run in the enclosing scope, the body in the function's.
            outer = {id(node.args)} | {id(d) for d in getattr(node, "decorator_list", ())}  # type: ignore[attr-defined]
        child_depth = depth + 1
        for name in node._fields:
            value = getattr(node, name, None)
            items = value if type(value) is list else (value,)
            for child in items:
                if isinstance(child, ast.AST):
                    scope = node if is_func and id(child) not in outer else func
                    stack.append((child, node, scope, child_depth))  # type: ignore[arg-type]
    return info
