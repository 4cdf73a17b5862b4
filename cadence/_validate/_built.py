"""Checks on built cadences: import the user's own module and inspect its ``Cadence`` objects.

This is the one path of :mod:`cadence.validate` that runs code, on purpose: ``cadence validate
myapp.cadences`` imports the user's module (as their app would) to see what the AST cannot:
what a name really refers to, whether child cadences form a cycle, and whether a checkpointed
score can be encoded.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from cadence._cadence import Cadence
from cadence._callables import call_problem
from cadence._plan import ChildStep, SplitStep, SyncStep, Task, ThenStep
from cadence._validate._diagnostics import Diagnostic
from cadence.exceptions import CadenceError

__all__ = ["check_cadence", "check_module", "import_target"]


def _where(fn: Any) -> tuple[str, int]:
    target = getattr(fn, "fn", fn)  # a Note wraps the user's function
    target = inspect.unwrap(target) if callable(target) else target
    code = getattr(target, "__code__", None)
    if code is None:
        return "", 1
    return code.co_filename, code.co_firstlineno


def _arity_problem(fn: Any, arity: int) -> str | None:
    """Why ``fn`` (a function, or a ``Note`` wrapping one) cannot take ``arity`` positional
    arguments, or None when it can (or its signature cannot be read)."""
    return call_problem(getattr(fn, "fn", fn), arity)


def _diag(code: str, fn: Any, message: str, hint: str, source: str) -> Diagnostic:
    path, line = _where(fn) if fn is not None else ("", 1)
    return Diagnostic(code, "error", line, 0, message, hint, source=path or source)


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.diags: list[Diagnostic] = []
        self.done: set[int] = set()

    def cadence(self, cadence: Cadence[Any], ancestors: tuple[Cadence[Any], ...] = ()) -> None:
        if any(c is cadence for c in ancestors):
            chain = " -> ".join(c.name for c in (*ancestors, cadence))
            self.diags.append(
                Diagnostic(
                    "CAD605",
                    "error",
                    1,
                    0,
                    f"child cadences form a cycle: {chain}",
                    "a cadence cannot (indirectly) contain itself",
                    source=self.source,
                )
            )
            return
        if id(cadence) in self.done:
            return
        self.done.add(id(cadence))
        for step in cadence.steps:
            where = f"{cadence.name}.{step.name}"
            if isinstance(step, ThenStep):
                self.task(step.task, 1, where)
            elif isinstance(step, SyncStep):
                for task in step.tasks:
                    self.task(task, 1, where)
            elif isinstance(step, SplitStep):
                for task in (step.condition, *step.if_true, *step.if_false):
                    self.task(task, 1, where)
            elif isinstance(step, ChildStep):
                self.task(step.merge, 2, where)
                self.cadence(step.cadence, (*ancestors, cadence))
        handler = cadence.plan().error_handler
        problem = None if handler is None else _arity_problem(handler, 2)
        if problem is not None:
            label = getattr(handler, "__name__", "the handler")
            self.diags.append(
                _diag(
                    "CAD603",
                    handler,
                    f"cadence {cadence.name}: .on_error handler {label} cannot be called as "
                    f"handler(score, error): {problem}",
                    f"define it as def {label}(score, error): ...",
                    self.source,
                )
            )
        if cadence.checkpoint_store is not None:
            self.encodable(cadence)

    def task(self, task: Task, arity: int, where: str) -> None:
        problem = _arity_problem(task.fn, arity)
        if problem is not None:
            usage = "fn(score)" if arity == 1 else "merge(parent, child_score)"
            self.diags.append(
                _diag(
                    "CAD603",
                    task.fn,
                    f"step {where}: {task.name} cannot be called as {usage}: {problem}",
                    f"define it as def {usage.replace('fn', task.name)}: ...",
                    self.source,
                )
            )

    def encodable(self, cadence: Cadence[Any]) -> None:
        from cadence.checkpoint.codec import ScoreCodec

        try:
            ScoreCodec().encode_score(cadence.score)
        except CadenceError as exc:
            self.diags.append(
                Diagnostic(
                    "CAD604",
                    "error",
                    1,
                    0,
                    f"cadence {cadence.name!r} is checkpointed but its score cannot be encoded: {exc.message}",
                    "use JSON-friendly fields (str, int, float, lists, dicts, dataclasses) "
                    "or register the type with the checkpoint codec",
                    source=self.source,
                )
            )


def check_cadence(cadence: Cadence[Any], *, source: str = "") -> list[Diagnostic]:
    """Check one built cadence (and its child cadences)."""
    checker = _Checker(source or cadence.name)
    checker.cadence(cadence)
    return checker.diags


def import_target(target: str) -> Any:
    """Import ``module`` or ``module:attr`` from the current directory (the user's own code)."""
    module_name, _, attr = target.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    module = importlib.import_module(module_name)
    if not attr:
        return module
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_module(target: str) -> list[Diagnostic]:
    """Import ``target`` (``module`` or ``module:attr``) and check every ``Cadence`` it holds."""
    try:
        obj = import_target(target)
    except Exception as exc:  # the user's module failing to import is a finding, not a crash
        line = getattr(exc, "lineno", None) or 1
        return [
            Diagnostic(
                "CAD601",
                "error",
                line,
                0,
                f"cannot import {target}: {type(exc).__name__}: {exc}",
                "run `python -c 'import " + target.partition(":")[0] + "'` to see the full error",
                source=target,
            )
        ]
    found = (
        [obj]
        if isinstance(obj, Cadence)
        else [v for v in vars(obj).values() if isinstance(v, Cadence)]
        if hasattr(obj, "__dict__")
        else []
    )
    if not found:
        return [
            Diagnostic(
                "CAD602",
                "warning",
                1,
                0,
                f"no Cadence objects found in {target}",
                "define one at module level, e.g. checkout = Cadence(...)",
                source=target,
            )
        ]
    diags: list[Diagnostic] = []
    for cadence in found:
        diags += check_cadence(cadence, source=target)
    return diags
