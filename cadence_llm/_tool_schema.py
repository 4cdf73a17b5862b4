"""A tool's JSON schema and argument validator, built from its signature by pydantic.

Type hints become a pydantic model (so enums, optionals, nested models, ``Literal``s and
defaults all work as they do in pydantic), the docstring's ``Args:`` section supplies the
parameter descriptions, and the model's JSON schema is what the LLM sees. Validating the
model's arguments with the same pydantic model keeps schema and validation from drifting.
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from cadence.exceptions import CadenceDefinitionError

__all__ = ["arguments_model", "given_schema", "json_schema", "parse_docstring"]

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Yields|Raises|Examples?|Notes?):\s*$"
)
_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary text (before the first section) and the ``Args:`` descriptions."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent = 0
    for line in inspect.cleandoc(doc).splitlines():
        head = _SECTION.match(line)
        if head:
            section, current = head.group(1), None
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in ("Args", "Arguments", "Parameters") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG.match(line)
        if match and (current is None or indent <= arg_indent):
            current, arg_indent = match.group(1).lstrip("*"), indent
            args[current] = match.group(3).strip()
        elif current is not None:
            args[current] = f"{args[current]} {line.strip()}".strip()
    return " ".join(" ".join(summary).split()), args


class _Annotations:
    """Holds annotations for ``typing.get_type_hints`` (which reads ``__annotations__``)."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def _type_hints(fn: Callable[..., Any], signature: inspect.Signature) -> dict[str, Any]:
    """Resolved hints of ``fn``; when some cannot resolve, those of the model-facing
    parameters only: the ``score`` annotation often names a class local to a function."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        wanted = {
            name: p.annotation
            for name, p in signature.parameters.items()
            if name != "score" and p.annotation is not inspect.Parameter.empty
        }
        globalns = getattr(inspect.unwrap(fn), "__globals__", {})
        return typing.get_type_hints(_Annotations(wanted), globalns=globalns, include_extras=True)


def arguments_model(fn: Callable[..., Any], name: str) -> tuple[type[BaseModel], bool, str]:
    """Build the arguments model of ``fn``.

    Returns:
        The pydantic model, whether ``fn`` takes the score (a parameter named ``score``), and
        the description from the docstring.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise CadenceDefinitionError(
            f"tool {name!r}: cannot read the signature of {fn!r}: {exc}"
        ) from exc
    try:
        hints = _type_hints(fn, signature)
    except Exception as exc:
        raise CadenceDefinitionError(
            f"tool {name!r}: cannot resolve its type hints ({type(exc).__name__}: {exc}); define the "
            "types it uses at module level"
        ) from exc
    summary, docs = parse_docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    takes_score = False
    for param in signature.parameters.values():
        if param.name == "score":
            takes_score = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise CadenceDefinitionError(
                f"tool {name!r}: parameter {param.name!r} must be an ordinary named parameter "
                "(no *args, **kwargs or positional-only): the model passes arguments by name"
            )
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        description = docs.get(param.name)
        fields[param.name] = (
            (annotation, Field(default, description=description))
            if description
            else (annotation, default)
        )
    title = "".join(part.capitalize() for part in re.split(r"[_\-]", name)) + "Arguments"
    try:
        model = create_model(title, __config__=ConfigDict(extra="forbid"), **fields)
        model.model_json_schema()
    except Exception as exc:
        raise CadenceDefinitionError(
            f"tool {name!r}: its parameters cannot be described as JSON schema "
            f"({type(exc).__name__}: {exc}); use JSON-like types, enums and pydantic models"
        ) from exc
    return model, takes_score, summary


def given_schema(schema: Any, name: str) -> dict[str, Any]:
    """A schema passed as ``Tool(parameters=...)``: a JSON object schema, copied."""
    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        raise CadenceDefinitionError(
            f"tool {name!r}: parameters must be a JSON schema of an object, such as "
            f'{{"type": "object", "properties": {{...}}}}; got {schema!r}'
        )
    required = schema.get("required", [])
    if not isinstance(required, list | tuple) or not all(isinstance(k, str) for k in required):
        raise CadenceDefinitionError(
            f"tool {name!r}: the schema's 'required' must be a list of names, got {required!r}"
        )
    return {"type": "object", **copy.deepcopy(dict(schema))}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema without pydantic's generated titles (noise for an LLM)."""
    schema = model.model_json_schema()
    _strip_titles(schema)
    return schema


def _strip_titles(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _strip_titles(item)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("title"), str):
        del node["title"]
    for key, value in node.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for sub in value.values():
                _strip_titles(sub)
        else:
            _strip_titles(value)
