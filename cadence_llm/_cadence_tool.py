"""``cadence_tool``: a whole cadence as one tool, for a model or an MCP client to call.

The tool's parameters are the score's fields, so the schema comes from the score's type hints
the way ``@tool``'s comes from a signature. Each call builds a fresh score from the arguments
(fields with a ``default_factory`` are left to it unless named in ``inputs``) and runs the
cadence on it, so calls share nothing with each other or with the cadence's own score.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic_core import to_jsonable_python

from cadence import Cadence
from cadence.exceptions import CadenceDefinitionError

from ._tool_schema import json_schema
from .tools import Tool

__all__ = ["cadence_tool"]

_MISSING = inspect.Parameter.empty


def _score_fields(score_type: type) -> list[tuple[str, Any, Any, bool]]:
    """(name, annotation, default, has_factory) of each field a caller may set."""
    hints = typing.get_type_hints(score_type, include_extras=True)
    if dataclasses.is_dataclass(score_type):
        out = []
        for f in dataclasses.fields(score_type):
            if not f.init or f.name.startswith("_"):
                continue
            factory = f.default_factory is not dataclasses.MISSING
            default = _MISSING if f.default is dataclasses.MISSING else f.default
            out.append((f.name, hints.get(f.name, Any), default, factory))
        return out
    if isinstance(score_type, type) and issubclass(score_type, BaseModel):
        return [
            (
                name,
                hints.get(name, Any),
                _MISSING if info.is_required() or info.default_factory else info.default,
                info.default_factory is not None,
            )
            for name, info in score_type.model_fields.items()
        ]
    raise CadenceDefinitionError(
        f"cadence_tool needs a dataclass or pydantic score, got {score_type.__name__}; "
        "write a @tool that builds the score and runs the cadence instead"
    )


def _docstring(score_type: type) -> str:
    """The score class's own docstring (not the one dataclasses generate from the fields)."""
    doc = score_type.__dict__.get("__doc__") or ""
    return "" if doc.startswith(f"{score_type.__name__}(") else inspect.cleandoc(doc)


def cadence_tool(
    cadence: Cadence[Any],
    *,
    name: str | None = None,
    description: str | None = None,
    inputs: Sequence[str] | None = None,
    output: str | Callable[[Any], Any] | None = None,
    **policies: Any,
) -> Tool:
    """Turn ``cadence`` into a :class:`Tool` whose arguments are fields of its score.

    Args:
        cadence: The cadence; its score's type (a dataclass or pydantic model) gives the
            parameters.
        name: The tool's name (default: the cadence's name, with other characters as ``_``).
        description: What the tool does, for the model (default: the score type's docstring).
        inputs: The fields a caller sets (default: every field without a ``default_factory``).
        output: A field name or a function of the final score giving the result (default:
            the whole final score as JSON).
        **policies: ``retry``, ``timeout``, ``fallback``, ``fatal`` as for ``@tool``.
    """
    if not isinstance(cadence, Cadence):
        raise CadenceDefinitionError(f"cadence_tool needs a Cadence, got {cadence!r}")
    score_type = type(cadence.score)
    fields = _score_fields(score_type)
    known = {f[0] for f in fields}
    if inputs is not None:
        unknown = [n for n in inputs if n not in known]
        if unknown:
            raise CadenceDefinitionError(
                f"cadence_tool inputs {unknown!r} are not fields of {score_type.__name__}; "
                f"its fields are: {', '.join(sorted(known))}"
            )
    chosen = (
        set(inputs) if inputs is not None else {n for n, _, _, factory in fields if not factory}
    )
    required_left = [
        n
        for n, _, default, factory in fields
        if n not in chosen and default is _MISSING and not factory
    ]
    if required_left:
        raise CadenceDefinitionError(
            f"cadence_tool: {score_type.__name__} fields {required_left!r} have no default, so "
            "they must be in inputs"
        )
    if isinstance(output, str) and output not in known:
        raise CadenceDefinitionError(
            f"cadence_tool output {output!r} is not a field of {score_type.__name__}"
        )
    parameters = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for n, hint, default, _ in fields
        if n in chosen
    ]

    async def run(**arguments: Any) -> Any:
        final = await cadence.run(score_type(**arguments))
        if output is None:
            return to_jsonable_python(final, fallback=str)
        if isinstance(output, str):
            return getattr(final, output)
        return output(final)

    tool_name = name or "".join(c if c.isalnum() or c in "_-" else "_" for c in cadence.name)
    run.__name__ = tool_name
    run.__doc__ = description or _docstring(score_type) or f"Run the {cadence.name} cadence."
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    made = Tool(run, name=tool_name, description=description, **policies)
    if "score" in chosen:
        # ``@tool`` reads a parameter named ``score`` as "pass me the score"; here it is a
        # field of the cadence's own score, so it stays an argument the model sends.
        spec = {
            p.name: (p.annotation, ... if p.default is _MISSING else p.default) for p in parameters
        }
        title = made.args_model.__name__ if made.args_model is not None else "Arguments"
        made.args_model = create_model(title, __config__=ConfigDict(extra="forbid"), **spec)  # type: ignore[call-overload]
        made.parameters = json_schema(made.args_model)
        made.takes_score = False
    return made
