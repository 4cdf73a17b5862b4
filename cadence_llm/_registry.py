"""What a registry offers a model: each entry's role, and the text describing it.

A registry maps names to the callables (and child cadences) a generated composition may use.
Models do much better when the prompt says which names are conditions, which are merge
functions and which are error handlers, and constrained decoding can only allow a condition
where a condition goes if it knows the roles. Roles are read from the objects' signatures
(never by calling them) and can be given explicitly.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from cadence import Cadence

__all__ = ["ROLES", "describe_registry", "describe_score", "infer_role", "roles_of"]

#: Roles in the order the prompt lists them.
ROLES: tuple[str, ...] = ("note", "condition", "merge", "handler", "cadence", "factory")

_ROLE_TITLES = {
    "note": "notes (steps: use with then, sync and split branches)",
    "condition": "conditions (use as the condition of split)",
    "merge": "merge functions (use as the merge of child)",
    "handler": "error handlers (use with on_error)",
    "cadence": "child cadences (use with child)",
    "factory": "child score factories (use as child score=)",
}
_ERROR_NAMES = frozenset({"error", "exc", "err", "exception", "e"})


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or annotation == "bool"


def _is_error(param: inspect.Parameter) -> bool:
    ann = param.annotation
    if isinstance(ann, type) and issubclass(ann, BaseException):
        return True
    if isinstance(ann, str) and ("Exception" in ann or "Error" in ann):
        return True
    return param.name in _ERROR_NAMES


def infer_role(obj: Any) -> str:
    """The role of one registry entry, from its type and signature.

    A ``Cadence`` is a child cadence; a callable returning ``bool`` is a condition; one taking
    two arguments is an error handler when the second is an exception (by annotation or by a
    name like ``error``), else a merge function; anything else is a note.
    """
    if isinstance(obj, Cadence):
        return "cadence"
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "note"
    if _is_bool(sig.return_annotation):
        return "condition"
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) >= 2:
        return "handler" if _is_error(positional[1]) else "merge"
    return "note"


def roles_of(
    registry: Mapping[str, Any], roles: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Registry names grouped by role (explicit ``roles`` win over inference), sorted."""
    out: dict[str, list[str]] = {role: [] for role in ROLES}
    for name, obj in registry.items():
        role = (roles or {}).get(name) or infer_role(obj)
        if role not in out:
            raise ValueError(f"unknown role {role!r} for {name!r}; use one of {', '.join(ROLES)}")
        out[role].append(name)
    return {role: sorted(names) for role, names in out.items()}


def _doc(obj: Any, docs: Mapping[str, str] | None, name: str) -> str:
    if docs and name in docs:
        return docs[name]
    doc = inspect.getdoc(obj) if not isinstance(obj, Cadence) else None
    if isinstance(obj, Cadence):
        doc = f"steps: {', '.join(s.name for s in obj.steps)}" if obj.steps else None
    return (doc or "").strip().split("\n", 1)[0]


def docs_of(registry: Mapping[str, Any], docs: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each registry name's one-line description (``docs`` overrides the docstrings)."""
    return {name: _doc(obj, docs, name) for name, obj in registry.items()}


def describe_registry(
    registry: Mapping[str, Any],
    *,
    roles: Mapping[str, str] | None = None,
    docs: Mapping[str, str] | None = None,
) -> str:
    """The registry as the prompt lists it: names grouped by role, with a one-line doc each."""
    grouped = roles_of(registry, roles)
    lines: list[str] = []
    for role in ROLES:
        if not grouped[role]:
            continue
        lines.append(_ROLE_TITLES[role] + ":")
        for name in grouped[role]:
            doc = _doc(registry[name], docs, name)
            lines.append(f"- {name}: {doc}" if doc else f"- {name}")
    return "\n".join(lines)


def describe_score(score_type: Any) -> str:
    """``OrderScore(order_id: str, total: float)``: the score's fields, for context."""
    if score_type is None:
        return "score"
    if isinstance(score_type, str):
        return score_type
    cls = score_type if isinstance(score_type, type) else type(score_type)
    fields: list[tuple[str, Any]]
    if dataclasses.is_dataclass(cls):
        fields = [(f.name, f.type) for f in dataclasses.fields(cls)]
    elif hasattr(cls, "model_fields"):
        fields = [(n, f.annotation) for n, f in cls.model_fields.items()]
    else:
        fields = list(getattr(cls, "__annotations__", {}).items())

    def type_name(t: Any) -> str:
        return t if isinstance(t, str) else getattr(t, "__name__", None) or str(t)

    inner = ", ".join(f"{n}: {type_name(t)}" for n, t in fields if not n.startswith("_"))
    return f"{cls.__name__}({inner})"
