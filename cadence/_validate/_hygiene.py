"""Module mode: Python hygiene around cadences.

Mutable dataclass defaults (dataclasses reject them, and a shared default leaks between
scores) and blocking calls inside ``async def`` (they stall every note running concurrently).
"""

from __future__ import annotations

import ast

from cadence._validate._diagnostics import Diagnostic, at
from cadence._validate._scope import ModuleInfo, dotted

__all__ = ["check_hygiene"]

_BLOCKING_EXACT = frozenset(
    {
        "time.sleep",
        "urllib.request.urlopen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "os.system",
        "socket.create_connection",
        "input",
    }
)
_BLOCKING_MODULES = (
    "requests.",
    "httpx.get",
    "httpx.post",
    "httpx.put",
    "httpx.delete",
    "httpx.request",
)
_MUTABLE_CALLS = frozenset({"list", "dict", "set"})


class _HygieneChecker:
    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.diags: list[Diagnostic] = []

    def run(self) -> list[Diagnostic]:
        self._blocking()
        for classes in self.info.classes.values():
            for cls in classes:
                self._dataclass(cls)
        return self.diags

    # -- dataclasses ------------------------------------------------------------------------

    def _dataclass(self, cls: ast.ClassDef) -> None:
        if not any(
            (dotted(d.func if isinstance(d, ast.Call) else d) or "").rpartition(".")[2]
            == "dataclass"
            for d in cls.decorator_list
        ):
            return
        for stmt in cls.body:
            if (
                not isinstance(stmt, ast.AnnAssign)
                or stmt.value is None
                or not isinstance(stmt.target, ast.Name)
                or _not_a_field(stmt.annotation)
            ):
                continue
            value = stmt.value
            if isinstance(value, ast.Call) and dotted(value.func) in ("field", "dataclasses.field"):
                inner = next((kw.value for kw in value.keywords if kw.arg == "default"), None)
                if inner is None:
                    continue
                value = inner
            if _is_mutable(value):
                kind = _mutable_kind(value)
                self.diags.append(
                    at(
                        stmt.value,
                        "CAD401",
                        f"dataclass field {stmt.target.id!r} has a mutable default ({kind}); "
                        "dataclasses reject it and instances would share it",
                        f"{stmt.target.id}: ... = field(default_factory={kind})",
                    )
                )

    # -- async ------------------------------------------------------------------------------

    def _blocking(self) -> None:
        for node in self.info.calls:
            fn = self.info.func_of.get(id(node))
            if not isinstance(fn, ast.AsyncFunctionDef):
                continue  # module level, or a sync def / lambda (possibly inside an async def)
            origin = self.info.resolve(node.func)
            if (
                origin
                and self._is_library(node.func)
                and (origin in _BLOCKING_EXACT or origin.startswith(_BLOCKING_MODULES))
            ):
                fix = (
                    "await asyncio.sleep(...)"
                    if origin == "time.sleep"
                    else "await asyncio.to_thread(input, ...), or read input before the run"
                    if origin == "input"
                    else "use an async client (httpx.AsyncClient) or await asyncio.to_thread(...)"
                )
                self.diags.append(
                    at(
                        node,
                        "CAD403",
                        f"{origin}() blocks the event loop inside async def {fn.name}",
                        fix,
                    )
                )

    def _is_library(self, func: ast.expr) -> bool:
        """Whether the call's root name is an import (or the builtin ``input``), not a local
        variable such as ``requests = []``."""
        path = dotted(func)
        head = (path or "").partition(".")[0]
        if head in self.info.imports:
            return True
        return path == "input" and "input" not in self.info.bound


def _not_a_field(annotation: ast.expr) -> bool:
    """``ClassVar[...]`` and ``InitVar[...]`` (also quoted): not fields, any default is fine."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        text = annotation.value.strip()
        return text.partition("[")[0].rpartition(".")[2] in ("ClassVar", "InitVar")
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return (dotted(target) or "").rpartition(".")[2] in ("ClassVar", "InitVar")


def _is_mutable(value: ast.expr) -> bool:
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in _MUTABLE_CALLS
    )


def _mutable_kind(value: ast.expr) -> str:
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id
    return "list"


def check_hygiene(info: ModuleInfo) -> list[Diagnostic]:
    """Check dataclass defaults and blocking calls in async functions."""
    return _HygieneChecker(info).run()
