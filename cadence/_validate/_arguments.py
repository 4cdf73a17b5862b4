"""Module mode: checks on the arguments of one builder call.

Step names (present, literal, unique), required arguments, and what each argument refers to:
defined, the right kind (a note, not a cadence), callable with what the runner passes.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass, field

from cadence._validate._diagnostics import Diagnostic, at, nearest, show
from cadence._validate._grammar import (
    MAP_POLICIES,
    MERGE_STRATEGIES,
    WAIT_CONDITIONS,
    Method,
    Param,
)
from cadence._validate._scope import FuncNode, ModuleInfo, dotted

__all__ = ["ArgumentChecks", "Arms", "Chain", "attr_at", "exclusive", "signature_problem"]

_KNOWN_DECORATORS = frozenset({"note", "retry", "timeout", "fallback", "circuit_breaker"})
_ROLE = {1: "called with the score", 2: "called with two arguments"}


#: Where a statement sits among ``if``/``match`` arms: ``(id(branching statement), arm)``.
Arms = tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Chain:
    #: Step names added so far, each with the arms of every statement that added it.
    names: dict[str, list[Arms]] = field(default_factory=dict)


def exclusive(a: Arms, b: Arms) -> bool:
    """Whether two statements can never both run: different arms of one ``if``/``match``."""
    first = dict(a)
    return any(first.get(branch, arm) != arm for branch, arm in b)


def _negated(node: ast.expr) -> ast.expr:
    """``-5`` as the constant -5 (Python parses it as a unary minus applied to 5)."""
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return ast.copy_location(ast.Constant(-node.operand.value), node)
    return node


def attr_at(node: ast.Attribute, code: str, message: str, hint: str = "") -> Diagnostic:
    """A diagnostic pointing at the attribute name of ``x.attr`` rather than at ``x``."""
    diag = at(node, code, message, hint)
    line = node.end_lineno or diag.line
    col = (node.end_col_offset or 0) - len(node.attr) + 1
    return Diagnostic(
        diag.code, diag.severity, line, max(col, 1), message, hint, line, col + len(node.attr)
    )


def signature_problem(fn: FuncNode, arity: int) -> str | None:
    """Why ``fn`` cannot be called with ``arity`` positional arguments, or None if it can."""
    a = fn.args
    pos = [*a.posonlyargs, *a.args]
    if (
        isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        and fn.decorator_list
        and any(
            isinstance(d, (ast.Name, ast.Attribute, ast.Call))
            and _decorator_name(d) in {"staticmethod"}
            for d in fn.decorator_list
        )
    ):
        return None
    required = len(pos) - len(a.defaults)
    missing_kw = [k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is None]
    if required > arity:
        return f"it requires {required} positional arguments"
    if len(pos) < arity and a.vararg is None:
        return f"it takes {len(pos)} positional argument{'s' if len(pos) != 1 else ''}"
    if missing_kw:
        return f"it requires the keyword-only argument {missing_kw[0]!r}"
    return None


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    path = dotted(target)
    return path.rpartition(".")[2] if path else None


class ArgumentChecks:
    """Argument checks shared by the chain checker (which supplies the state below)."""

    info: ModuleInfo
    registry: Collection[str]
    diags: list[Diagnostic]
    arms: Arms = ()  # of the statement being checked

    def _var(self, node: ast.AST, name: str) -> Chain | None:
        raise NotImplementedError

    def _step_name(
        self, chain: Chain, method: Method, call: ast.Call, bound: dict[str, ast.expr]
    ) -> bool:
        node = bound.get("name")
        m = method.name
        if node is None:
            if call.args or call.keywords:
                self.diags.append(
                    at(
                        call,
                        "CAD102",
                        f".{m}() is missing its step name",
                        f'.{m}("step_name", ...)',
                    )
                )
            return bool(call.args or call.keywords)
        second = method.params[1]
        literal = isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp))
        if not literal and second.name not in bound:
            label = dotted(node)
            step = label.rpartition(".")[2] if label else "step_name"
            shown = label or ("[...]" if isinstance(node, (ast.List, ast.Tuple)) else "...")
            self.diags.append(
                at(
                    node,
                    "CAD102",
                    f".{m}() needs a step name before the {second.name}",
                    f'.{m}("{step}", {shown})',
                )
            )
            return False
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, str) or not node.value.strip():
                self.diags.append(
                    at(
                        node,
                        "CAD102",
                        f"the step name must be a non-empty string, got {show(node.value)}",
                        f'.{m}("fetch_items", ...)',
                    )
                )
            elif any(not exclusive(self.arms, a) for a in chain.names.get(node.value, ())):
                self.diags.append(
                    at(
                        node,
                        "CAD107",
                        f"a step named {show(node.value)} already exists in this cadence",
                        f'give each step a unique name, e.g. "{node.value}_2"',
                    )
                )
            else:
                chain.names.setdefault(node.value, []).append(self.arms)
        return True

    def _missing(
        self, method: Method, param: Param, call: ast.Call, bound: dict[str, ast.expr]
    ) -> None:
        m = method.name
        if m == "sync" and param.name == "tasks":
            self.diags.append(
                self._at_call(
                    call,
                    "CAD104",
                    ".sync() needs a non-empty list of notes",
                    '.sync("step", [note_a, note_b])',
                )
            )
        elif m == "split" and param.name == "condition":
            self.diags.append(
                self._at_call(
                    call,
                    "CAD105",
                    ".split() needs a condition",
                    '.split("step", condition=is_premium, if_true=[...], if_false=[...])',
                )
            )
        elif m == "child" and param.name == "merge":
            self.diags.append(
                self._at_call(
                    call,
                    "CAD106",
                    ".child() needs a merge function (parent, child_score)",
                    '.child("step", sub_cadence, merge_results)',
                )
            )
        elif m == "split" and param.name == "if_true" and "condition" not in bound:
            return
        else:
            self.diags.append(
                self._at_call(call, "CAD103", f".{m}() is missing {param.name!r}", method.summary)
            )

    def _at_call(self, call: ast.Call, code: str, message: str, hint: str) -> Diagnostic:
        if isinstance(call.func, ast.Attribute):
            return attr_at(call.func, code, message, hint)
        return at(call, code, message, hint)

    def _argument(self, method: Method, param: Param, value: ast.expr) -> None:
        shape = param.shape
        if shape == "bool":
            if isinstance(value, ast.Constant) and not isinstance(value.value, bool):
                self.diags.append(
                    at(
                        value,
                        "CAD103",
                        f"{param.name} must be True or False, got {show(value.value)}",
                        f"{param.name}=True",
                    )
                )
        elif shape == "strategy":
            if isinstance(value, ast.Constant) and value.value not in MERGE_STRATEGIES:
                self.diags.append(
                    at(
                        value,
                        "CAD103",
                        f"unknown merge strategy {show(value.value)}",
                        "use MergeStrategy." + " / MergeStrategy.".join(MERGE_STRATEGIES),
                    )
                )
        elif shape == "notes":
            if isinstance(value, (ast.List, ast.Tuple)):
                if not value.elts:
                    self.diags.append(
                        at(
                            value,
                            "CAD104",
                            ".sync() got an empty list of notes",
                            '.sync("step", [note_a, note_b])',
                        )
                    )
                for elt in value.elts:
                    self._ref(elt, param)
            elif isinstance(value, ast.Lambda) or (
                isinstance(value, ast.Name) and self.info.def_for(value.id, value)
            ):
                self.diags.append(
                    at(
                        value,
                        "CAD104",
                        ".sync() expects a list of notes, got a single function",
                        "wrap it in a list: [fn], or use .then() for a single note",
                    )
                )
        elif shape == "branch" and isinstance(value, (ast.List, ast.Tuple)):
            for elt in value.elts:
                self._ref(elt, param)
        elif shape == "cadence":
            self._cadence_ref(value)
        elif shape in ("note", "branch", "condition", "merge", "handler", "factory"):
            self._ref(value, param)
        elif shape == "items":
            if isinstance(value, ast.Constant):
                if not (isinstance(value.value, str) and value.value.isidentifier()):
                    self._wrong(value, param, "a score field name or a function score -> list")
            else:
                self._ref(value, param)
        elif isinstance(literal := _negated(value), ast.Constant) and literal.value is not None:
            self._literal(param, literal)
        elif shape == "wait_condition":
            self._wait_condition(value, param)

    def _wrong(self, node: ast.expr, param: Param, expected: str, fix: str = "") -> None:
        got = repr(node.value) if isinstance(node, ast.Constant) else "that"
        self.diags.append(
            at(node, "CAD103", f"{param.name} must be {expected}, got {got}", fix or expected)
        )

    def _literal(self, param: Param, value: ast.Constant) -> None:
        """Check a literal given for a field, count, policy, seconds or wait condition."""
        v, shape = value.value, param.shape
        count = v if isinstance(v, int) and not isinstance(v, bool) else None
        seconds = v if isinstance(v, int | float) and not isinstance(v, bool) else None
        if shape == "field" and not (isinstance(v, str) and v.isidentifier()):
            self._wrong(value, param, "a score field name as a string", f'{param.name}="results"')
        elif shape == "count" and not (count is not None and count >= 1):
            self._wrong(value, param, "a whole number >= 1", f"{param.name}=8")
        elif shape == "policy" and v not in MAP_POLICIES:
            self._wrong(value, param, " or ".join(repr(p) for p in MAP_POLICIES))
        elif shape == "seconds" and not (seconds is not None and seconds >= 0):
            self._wrong(value, param, "a number of seconds >= 0", f"{param.name}=3600")
        elif shape == "wait_condition":
            self._wait_condition(value, param)

    def _wait_condition(self, value: ast.expr, param: Param) -> None:
        func = value.func if isinstance(value, ast.Call) else None
        name = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else None
        )
        if name in WAIT_CONDITIONS or (isinstance(value, ast.Name) and value.id not in ("None",)):
            return  # a condition object, or a variable holding one
        self._wrong(
            value,
            param,
            'Approval(payload=...), Signal("event") or Sleep(seconds)',
            'Approval(payload=lambda s: {"amount": s.amount})',
        )

    def _cadence_ref(self, value: ast.expr) -> None:
        if isinstance(value, ast.Name):
            if not self.info.is_defined(value.id) and value.id not in self.registry:
                self._undefined(value, "cadence")
            elif self.info.def_for(value.id, value) and not self._var(value, value.id):
                self.diags.append(
                    at(
                        value,
                        "CAD204",
                        f".child() expects a Cadence, {value.id!r} is a function",
                        f'use .then("step", {value.id}) for a function',
                    )
                )
        elif isinstance(value, (ast.Constant, ast.Lambda, ast.List)):
            self.diags.append(
                at(
                    value,
                    "CAD204",
                    ".child() expects a Cadence",
                    '.child("step", sub_cadence, merge)',
                )
            )

    def _undefined(self, node: ast.Name, what: str) -> None:
        pool = set(self.info.defs) | set(self.registry)
        guess = nearest(node.id, sorted(pool))
        define = f"{node.id} = Cadence(...)" if what == "cadence" else f"def {node.id}(score): ..."
        hint = (
            f"did you mean {guess!r}?"
            if guess
            else f"define `{define}`, import it, or add it to the registry"
        )
        self.diags.append(
            at(
                node,
                "CAD201",
                f"{what} {node.id!r} is not defined, imported or in the registry",
                hint,
            )
        )

    def _ref(self, value: ast.expr, param: Param) -> None:
        role = "note" if param.arity == 1 else param.shape
        if isinstance(value, ast.Name):
            if not self.info.is_defined(value.id) and value.id not in self.registry:
                self._undefined(value, role)
                return
            if self._var(value, value.id) and param.shape in ("note", "branch", "notes"):
                self.diags.append(
                    at(
                        value,
                        "CAD204",
                        f"{value.id!r} is a Cadence, not a note",
                        f'compose cadences with .child("step", {value.id}, merge)',
                    )
                )
                return
            fn = self.info.def_for(value.id, value)
            if fn is not None and all(
                _decorator_name(d) in _KNOWN_DECORATORS for d in fn.decorator_list
            ):
                self._arity(value, fn, param, value.id)
        elif isinstance(value, ast.Lambda):
            self._arity(value, value, param, "the lambda")
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            fn = self.info.def_for(value.func.id, value.func)
            is_note = fn is not None and (
                isinstance(fn, ast.AsyncFunctionDef)
                or any(_decorator_name(d) == "note" for d in fn.decorator_list)
            )
            if is_note:
                self.diags.append(
                    at(
                        value,
                        "CAD203",
                        f"{value.func.id}(...) calls the note here instead of passing it",
                        f"pass the function itself: {value.func.id}",
                    )
                )
        elif isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp)):
            self._not_a_function(value, "condition" if param.shape == "condition" else role, param)
        elif isinstance(value, ast.Constant):
            label = show(value.value)
            fix = (
                f"pass the function itself: {value.value[:80]}"
                if isinstance(value.value, str) and value.value.isidentifier()
                else "pass a function taking the score"
            )
            self.diags.append(
                at(value, "CAD204", f"expected a {role} (a function), got {label}", fix)
            )

    def _not_a_function(self, value: ast.expr, role: str, param: Param) -> None:
        """A list (or other collection) where one function belongs: ``.then("a", [fetch])``."""
        items = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else []
        if len(items) == 1 and isinstance(items[0], ast.Name):
            fix = f"pass the function itself: {items[0].id}"
        elif param.shape == "note":
            fix = 'run several notes concurrently with .sync("step", [note_a, note_b])'
        else:
            fix = f"pass one {role} function"
        kind = {ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict"}
        got = kind.get(type(value), "a comprehension")
        self.diags.append(at(value, "CAD204", f"expected a {role} (a function), got {got}", fix))

    def _arity(self, node: ast.expr, fn: FuncNode, param: Param, label: str) -> None:
        problem = signature_problem(fn, param.arity)
        if problem is None:
            return
        usage = {
            "merge": "merge(parent, child_score)",
            "handler": "handler(score, error)",
            "factory": "factory(parent_score)",
        }.get(param.shape, "fn(score)")
        name = label if label != "the lambda" else "the lambda"
        self.diags.append(
            at(
                node,
                "CAD202",
                f"{name} cannot be {_ROLE.get(param.arity, 'called')}: {problem}",
                f"define it as def {usage.replace('fn', label if label.isidentifier() else 'fn')}: ...",
            )
        )
