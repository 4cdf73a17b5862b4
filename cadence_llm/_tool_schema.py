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

__all__ = [
    "argument_values",
    "arguments_model",
    "given_schema",
    "json_schema",
    "parse_docstring",
]

_NAMES = (
    r"Args|Arguments|Parameters|Keyword Args|Keyword Arguments|Other Parameters|Attributes|"
    r"Returns|Yields|Raises|Warns|Examples?|Notes?|References|See Also|Todo|Warnings?"
)
_ARG_SECTIONS = ("Args", "Arguments", "Parameters", "Keyword Args", "Keyword Arguments")
_SECTION = re.compile(rf"^\s*({_NAMES}):\s*$")  # Google: "Args:"
_NUMPY_SECTION = re.compile(rf"^\s*({_NAMES})\s*$")  # NumPy: "Parameters", then a rule
_RULE = re.compile(r"^\s*-{3,}\s*$")
_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")  # "name (type): text"
_NUMPY_ARG = re.compile(r"^\s*(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")  # "x, y : int"
_SPHINX = re.compile(r"^\s*:(\w+)(?:\s+([^:]+?))?\s*:\s*(.*)$")  # ":param int x: text"
_SPHINX_PARAM = ("param", "parameter", "arg", "argument", "key", "keyword")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary text (before the first section) and the parameter descriptions.

    Google (``Args:``), NumPy (``Parameters`` over a ``----------`` rule) and Sphinx
    (``:param x: ...``) docstrings are read; without this a NumPy docstring's whole parameter
    table became the tool's description and no parameter was described.
    """
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    style = "google"
    current: list[str] = []
    arg_indent = section_indent = 0
    lines = inspect.cleandoc(doc).splitlines()
    skip = False
    for i, line in enumerate(lines):
        if skip:  # a NumPy section's rule
            skip = False
            continue
        google = _SECTION.match(line)
        numpy = None
        if google is None and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            numpy = _NUMPY_SECTION.match(line)
        head = google or numpy
        if head is not None:
            section, current, skip = head.group(1), [], numpy is not None
            style, section_indent = ("numpy" if numpy else "google"), _indent(line)
            continue
        field = _SPHINX.match(line)
        if field is not None:
            kind, target, text = field.groups()
            section, style, current = ":", "sphinx", []
            if kind in _SPHINX_PARAM and target:
                current = [target.split()[-1].lstrip("*")]
                args[current[0]] = text.strip()
            continue
        if section is None:
            summary.append(line)
            continue
        if not line.strip() or (style != "sphinx" and section not in _ARG_SECTIONS):
            continue
        indent = _indent(line)
        if style == "numpy" and indent <= section_indent:
            match = _NUMPY_ARG.match(line)
            current = [n.strip().lstrip("*") for n in match.group(1).split(",")] if match else []
            args.update(dict.fromkeys(current, ""))
            continue
        if style == "google":
            match = _ARG.match(line)
            if match and (not current or indent <= arg_indent):
                current, arg_indent = [match.group(1).lstrip("*")], indent
                args[current[0]] = match.group(3).strip()
                continue
        for name in current:
            args[name] = f"{args[name]} {line.strip()}".strip()
    return " ".join(" ".join(summary).split()), args


# Closed (the model must not invent arguments); no protected namespaces, since the field names
# are neutral ``arg_<n>`` and the parameters' names are aliases.
_ARGS_CONFIG = ConfigDict(extra="forbid", protected_namespaces=())


def argument_values(parsed: BaseModel) -> dict[str, Any]:
    """The validated arguments as keyword arguments for the function, by parameter name."""
    return {
        info.alias or name: getattr(parsed, name)
        for name, info in type(parsed).model_fields.items()
    }


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
            "types it uses at module level, above the tool (hints are resolved when @tool runs)"
        ) from exc
    summary, docs = parse_docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    takes_score = False
    for index, param in enumerate(signature.parameters.values()):
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
        # The pydantic field gets a neutral name and the parameter's name as its alias: a
        # parameter named ``schema``, ``json`` or ``model_config`` (or ``_private``) would
        # otherwise shadow a BaseModel member, or silently vanish from the schema.
        field = (
            Field(default, alias=param.name, description=docs[param.name])
            if docs.get(param.name)  # only then: an Annotated Field's description stays
            else Field(default, alias=param.name)
        )
        fields[f"arg_{index}"] = (annotation, field)
    title = "".join(part.capitalize() for part in re.split(r"[_\-]", name)) + "Arguments"
    try:
        model = create_model(title, __config__=_ARGS_CONFIG, **fields)
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
