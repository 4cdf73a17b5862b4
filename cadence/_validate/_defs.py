"""Module mode: ``@note`` options and the standalone resilience decorators.

Option names (with a did-you-mean), value ranges (attempts >= 1, a known backoff, positive
timeouts), and a fallback ``field`` that must exist on the note's score class when that class
is defined in the same file.
"""

from __future__ import annotations

import ast

from cadence._validate._diagnostics import Diagnostic, at, nearest, show
from cadence._validate._scope import ModuleInfo, dotted

__all__ = ["check_definitions"]

NOTE_OPTIONS = ("name", "description", "retry", "timeout", "fallback")
RETRY_OPTIONS = (
    "max_attempts",
    "delay",
    "backoff",
    "max_delay",
    "jitter",
    "on",
    "deadline",
    "on_retry",
)
FALLBACK_OPTIONS = ("default", "field", "handler", "on")
BACKOFFS = ("fixed", "linear", "exponential")
_OPTION_ALIASES = {
    "retries": "retry",
    "max_retries": "retry",
    "attempts": "retry",
    "timeout_seconds": "timeout",
    "seconds": "timeout",
    "default": "fallback",
    "fallback_value": "fallback",
}
_KNOWN_BASES = frozenset({"Score", "ImmutableScore", "BaseModel", "object", "Generic"})


def _number(node: ast.expr | None) -> float | int | None:
    """A numeric literal (``5``, ``-1.5``) without evaluating anything; else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return sign * node.value
    return None


def _decorator(info: ModuleInfo, node: ast.expr) -> str | None:
    """Which cadence decorator ``node`` is (``note``, ``retry`` ...), following imports."""
    target = node.func if isinstance(node, ast.Call) else node
    origin = info.resolve(target)
    if origin is None:
        return None
    head, _, last = origin.rpartition(".")
    if last not in ("note", "retry", "timeout", "fallback"):
        return None
    if head and not head.startswith("cadence"):
        return None
    if not head and last in info.imports and not info.imports[last].startswith("cadence"):
        return None
    if not head and last not in info.imports and (last in info.defs or last in info.classes):
        return None  # the module's own decorator of that name, not cadence's
    return last


class _DefChecker:
    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.diags: list[Diagnostic] = []

    def run(self) -> list[Diagnostic]:
        for fn in self.info.functions:
            for dec in fn.decorator_list:
                kind = _decorator(self.info, dec)
                if kind is not None and isinstance(dec, ast.Call):
                    self._decorator_call(fn, kind, dec)
        return self.diags

    # -- @note and friends ------------------------------------------------------------------

    def _decorator_call(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, kind: str, dec: ast.Call
    ) -> None:
        if kind == "note":
            for arg in dec.args:
                self.diags.append(
                    at(
                        arg,
                        "CAD301",
                        "@note options are keyword-only",
                        "write @note(retry=3, timeout=5.0)",
                    )
                )
            for kw in dec.keywords:
                if kw.arg is None:
                    continue
                if kw.arg not in NOTE_OPTIONS:
                    guess = _OPTION_ALIASES.get(kw.arg) or nearest(kw.arg, NOTE_OPTIONS)
                    hint = f"use {guess}=" if guess else "options: " + ", ".join(NOTE_OPTIONS)
                    self.diags.append(
                        at(kw.value, "CAD301", f"@note has no option {kw.arg!r}", hint)
                    )
                elif kw.arg == "retry":
                    self._retry_value(kw.value)
                elif kw.arg == "timeout":
                    self._timeout_value(kw.value)
                elif kw.arg == "fallback":
                    self._fallback_value(fn, kw.value)
                elif kw.arg == "name" and not _nonempty_str(kw.value):
                    self.diags.append(
                        at(
                            kw.value,
                            "CAD301",
                            "@note(name=...) must be a non-empty string",
                            '@note(name="fetch_items")',
                        )
                    )
        elif kind == "retry":
            self._retry_call(dec)
        elif kind == "timeout":
            if dec.args:
                self._timeout_value(dec.args[0])
        elif kind == "fallback":
            self._fallback_call(fn, dec)

    def _retry_value(self, value: ast.expr) -> None:
        if isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self._retry_option(key.value, item, key)
            return
        if isinstance(value, ast.Call) and dotted(value.func) in (
            "retry",
            "Retry",
            "cadence.retry",
        ):
            self._retry_call(value)
            return
        literal = isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.UnaryOp))
        if literal or (isinstance(value, ast.Constant) and value.value is not None):
            self._attempts(value)

    def _retry_call(self, call: ast.Call) -> None:
        if call.args:
            self._attempts(call.args[0])
        for kw in call.keywords:
            if kw.arg is not None:
                self._retry_option(kw.arg, kw.value, kw.value)

    def _attempts(self, value: ast.expr) -> None:
        n = _number(value)
        ok = isinstance(n, int) and n >= 1
        if not ok:
            shown = _show(value)
            self.diags.append(
                at(
                    value,
                    "CAD302",
                    f"retry attempts must be an int >= 1 (total attempts), got {shown}",
                    'write retry=3 or retry={"max_attempts": 3, "backoff": "exponential"}',
                )
            )

    def _retry_option(self, name: str, value: ast.expr, where: ast.expr) -> None:
        if name not in RETRY_OPTIONS:
            guess = nearest(name, RETRY_OPTIONS)
            hint = f"use {guess!r}" if guess else "options: " + ", ".join(RETRY_OPTIONS)
            self.diags.append(at(where, "CAD302", f"retry has no option {name!r}", hint))
        elif name == "max_attempts":
            self._attempts(value)
        elif name == "backoff":
            if isinstance(value, ast.Constant) and value.value not in BACKOFFS:
                guess = nearest(str(value.value), BACKOFFS)
                self.diags.append(
                    at(
                        value,
                        "CAD302",
                        f"retry backoff must be one of {', '.join(BACKOFFS)}, got {show(value.value)}",
                        f'use "backoff": "{guess or "exponential"}"',
                    )
                )
        elif name in ("delay", "max_delay", "deadline"):
            n = _number(value)
            bad = isinstance(value, ast.Constant) and n is None and value.value is not None
            if bad or (n is not None and (n < 0 or (name == "deadline" and n == 0))):
                self.diags.append(
                    at(
                        value,
                        "CAD302",
                        f"retry {name} must be a non-negative number of seconds, got {_show(value)}",
                        f'e.g. "{name}": 0.5',
                    )
                )
        elif (
            name == "jitter"
            and isinstance(value, ast.Constant)
            and not isinstance(value.value, bool)
        ):
            self.diags.append(
                at(
                    value,
                    "CAD302",
                    f"retry jitter must be True or False, got {show(value.value)}",
                    '"jitter": True',
                )
            )

    def _timeout_value(self, value: ast.expr) -> None:
        n = _number(value)
        if isinstance(value, ast.Constant) and value.value is None:
            return
        literal = isinstance(value, (ast.Constant, ast.List, ast.Dict, ast.Tuple)) or n is not None
        if literal and (n is None or n <= 0):
            self.diags.append(
                at(
                    value,
                    "CAD303",
                    f"timeout must be a positive number of seconds, got {_show(value)}",
                    "e.g. timeout=5.0",
                )
            )

    def _fallback_value(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, value: ast.expr) -> None:
        if isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self._fallback_option(fn, key.value, item, key)
        elif isinstance(value, ast.Call) and dotted(value.func) in ("fallback", "Fallback"):
            self._fallback_call(fn, value)
        elif isinstance(value, (ast.Constant, ast.List, ast.Tuple)):
            self.diags.append(
                at(
                    value,
                    "CAD304",
                    "fallback must be a dict (or a fallback() policy), not a bare value",
                    f'write fallback={{"default": {_show(value)}, "field": "..."}}',
                )
            )

    def _fallback_call(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> None:
        for kw in call.keywords:
            if kw.arg is not None:
                self._fallback_option(fn, kw.arg, kw.value, kw.value)

    def _fallback_option(
        self,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        name: str,
        value: ast.expr,
        where: ast.expr,
    ) -> None:
        if name not in FALLBACK_OPTIONS:
            guess = nearest(name, FALLBACK_OPTIONS)
            hint = f"use {guess!r}" if guess else "options: " + ", ".join(FALLBACK_OPTIONS)
            self.diags.append(at(where, "CAD304", f"fallback has no option {name!r}", hint))
        elif name == "field" and isinstance(value, ast.Constant):
            if not (isinstance(value.value, str) and value.value.isidentifier()):
                self.diags.append(
                    at(
                        value,
                        "CAD304",
                        f"fallback field must be an attribute name, got {show(value.value)}",
                        '"field": "results"',
                    )
                )
                return
            fields = self._score_fields(fn)
            if fields is not None and value.value not in fields:
                guess = nearest(value.value, sorted(fields))
                hint = (
                    f"did you mean {guess!r}?" if guess else "fields: " + ", ".join(sorted(fields))
                )
                self.diags.append(
                    at(
                        value,
                        "CAD305",
                        f"fallback field {show(value.value)} is not a field of the score class",
                        hint,
                    )
                )

    def _score_fields(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
        params = [*fn.args.posonlyargs, *fn.args.args]
        if not params or not isinstance(params[0].annotation, ast.Name):
            return None
        fields: set[str] = set()
        todo = [params[0].annotation.id]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            cls = self.info.unique_class(name)
            if cls is None:
                return None
            for base in cls.bases:
                base_name = dotted(base)
                short = base_name.rpartition(".")[2] if base_name else None
                if short in _KNOWN_BASES:
                    continue
                if short is None or self.info.unique_class(short) is None:
                    return None
                todo.append(short)
            fields |= _class_attributes(cls)
        return fields


def _show(node: ast.expr) -> str:
    """Source text for a (small) expression, for messages; never fails on deep input."""
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):
        return "<expression>"
    return text if len(text) <= 60 else text[:57] + "..."


def _nonempty_str(node: ast.expr) -> bool:
    if not isinstance(node, ast.Constant):
        return True  # not a literal: cannot judge
    return isinstance(node.value, str) and bool(node.value.strip())


def _class_attributes(cls: ast.ClassDef) -> set[str]:
    out: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            out.add(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            out.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(stmt.name)
            for node in ast.walk(stmt):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and dotted(node.value) == "self"
                ):
                    out.add(node.attr)
    return out


def check_definitions(info: ModuleInfo) -> list[Diagnostic]:
    """Check ``@note`` options, dataclass defaults and blocking calls in async functions."""
    return _DefChecker(info).run()
