"""Filling a Flask view's parameters from the request, with 422-style errors.

Flask has no FastAPI-like parameter validation, so ``cadence_route`` does a small, predictable
version of it: URL variables, then a dataclass or pydantic body, then JSON body keys, then the
query string. Text (query values, JSON strings) is converted to ``int``/``float``/``bool``; any
other value must already fit the annotation (``cadence._typecheck``): ``[1, 2]`` or ``true``
for an ``int`` is a 422, never a mangled field. Every problem is collected, so one 422 lists
all bad fields.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

import flask
from flask import request

from cadence._typecheck import Mismatch, check, field_annotations
from cadence.integrations._problem import PROBLEM_MEDIA_TYPE, Problem

__all__ = ["Binder", "Invalid", "Unreadable", "problem_response"]

_JSON = "application/json"
_COERCE: dict[Any, Callable[[str], Any]] = {
    int: int,
    float: float,
    str: str,
    bool: lambda v: {"true": True, "1": True, "false": False, "0": False}[v.lower()],
}


class Invalid(Exception):
    """Internal: request values did not fit the function's parameters."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class Unreadable(Exception):
    """Internal: the body could not be parsed at all (a 400, not a 422)."""


def _not_fitting(value: Any, declared: Any, bare: Any) -> Mismatch | None:
    """Why a non-text value does not fit its parameter's annotation, or ``None`` if it does."""
    if bare is int and type(value) is bool:  # JSON true is not a quantity, though bool is an int
        return Mismatch("", int, value)
    try:
        check(value, declared, "")
    except Mismatch as exc:
        return exc
    return None


def _unwrapped(annotation: Any) -> Any:
    """``X`` for ``Optional[X]`` / ``X | None`` (which convert and build like ``X``), else
    ``annotation``."""
    args = typing.get_args(annotation)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return annotation


def _type_error(loc: list[Any], wrong: Mismatch) -> dict[str, Any]:
    at = f" at {wrong.path}" if wrong.path else ""
    return {
        "loc": loc,
        "msg": f"expected {wrong.expected}, got {wrong.found}{at}",
        "type": "type_error",
    }


def _coerce(name: str, where: str, value: Any, annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    declared = annotation
    annotation = _unwrapped(annotation)
    convert = _COERCE.get(annotation)
    if convert is None or not isinstance(value, str) or annotation is str:
        wrong = _not_fitting(value, declared, annotation)
        if wrong is not None:
            raise Invalid([_type_error([where, name], wrong)])
        return value
    try:
        return convert(value)
    except (ValueError, KeyError):
        raise Invalid(
            [
                {
                    "loc": [where, name],
                    "msg": f"not a valid {annotation.__name__}",
                    "type": "type_error",
                }
            ]
        ) from None


def _body_model(annotation: Any, body: Any) -> Any:
    validate = getattr(annotation, "model_validate", None)
    if validate is not None:  # pydantic model
        from pydantic import ValidationError

        try:
            return validate(body)
        except ValidationError as exc:
            raise Invalid(
                [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors(include_url=False)]
            ) from None
    return _build_dataclass(annotation, body, ["body"])


def _build_dataclass(cls: Any, body: Any, loc: list[Any]) -> Any:
    """A dataclass from a JSON object: every field checked against its annotation (nested
    dataclasses built in turn), unknown and missing fields reported, validators' ``ValueError``
    reported -- all as 422 errors, never a mangled field or a 500."""
    if not isinstance(body, dict):
        raise Invalid([{"loc": loc, "msg": "a JSON object is required", "type": "missing"}])
    annotations = field_annotations(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key not in fields:
            errors.append({"loc": loc, "msg": f"unknown field {key!r}", "type": "extra_forbidden"})
            continue
        declared = annotations.get(key, Any)
        bare = declared if value is None else _unwrapped(declared)
        if isinstance(bare, type) and dataclasses.is_dataclass(bare) and isinstance(value, dict):
            try:
                values[key] = _build_dataclass(bare, value, [*loc, key])
            except Invalid as exc:
                errors.extend(exc.errors)
            continue
        wrong = _not_fitting(value, declared, bare)
        if wrong is not None:
            errors.append(_type_error([*loc, key], wrong))
            continue
        values[key] = value
    for name, f in fields.items():
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if missing and name not in body:
            errors.append({"loc": [*loc, name], "msg": "field required", "type": "missing"})
    if errors:
        raise Invalid(errors)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # __post_init__ rejected the values
        raise Invalid([{"loc": loc, "msg": str(exc), "type": "value_error"}]) from None


class Binder:
    """Fills a function's parameters from URL variables, the JSON body and the query string."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        try:
            sig = inspect.signature(fn, eval_str=True)
        except NameError:
            sig = inspect.signature(fn)
        self.params = [
            p
            for p in sig.parameters.values()
            if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]

    def bind(self, url: dict[str, Any]) -> dict[str, Any]:
        body: Any = None
        if request.mimetype == _JSON or request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                raise Unreadable("the request body is nested too deeply to parse") from None
            if body is None and request.get_data():
                raise Invalid([{"loc": ["body"], "msg": "malformed JSON", "type": "json_invalid"}])
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for p in self.params:
            ann = p.annotation
            try:
                if p.name in url:
                    kwargs[p.name] = url[p.name]
                elif isinstance(ann, type) and (
                    dataclasses.is_dataclass(ann) or hasattr(ann, "model_validate")
                ):
                    kwargs[p.name] = _body_model(ann, body)
                elif isinstance(body, dict) and p.name in body:
                    kwargs[p.name] = _coerce(p.name, "body", body[p.name], ann)
                elif p.name in request.args:
                    kwargs[p.name] = _coerce(p.name, "query", request.args[p.name], ann)
                elif p.default is inspect.Parameter.empty:
                    errors.append(
                        {"loc": ["query", p.name], "msg": "field required", "type": "missing"}
                    )
            except Invalid as exc:
                errors.extend(exc.errors)
        if errors:
            raise Invalid(errors)
        return kwargs


def problem_response(problem: Problem) -> flask.Response:
    """A Flask response carrying a problem document with its headers."""
    return flask.Response(
        problem.body(), problem.status, dict(problem.headers), mimetype=PROBLEM_MEDIA_TYPE
    )
