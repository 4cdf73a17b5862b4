"""JSON schemas for OpenAI's strict structured outputs, made by the ``openai`` SDK where it can.

Strict mode (``"strict": true``) constrains decoding to the schema, but only accepts schemas in
which every object is closed (``additionalProperties: false``) and lists every property as
required. A pydantic model's schema is made strict by the SDK's own
``openai.lib.type_to_response_format_param``; a hand-written schema is sent strict only when it
already follows those rules, since rewriting it would change what it means.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..messages import ResponseFormat

__all__ = ["inline_root_ref", "is_strict_compatible", "openai_json_schema"]


# Where a JSON schema holds subschemas; anything else (a property *named* "items", an enum
# value, a default) is data, not a schema, and must not be judged as one.
_ONE_SCHEMA = (
    "items",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_SCHEMA_LISTS = ("prefixItems", "anyOf", "oneOf", "allOf", "items")  # items: the old tuple form
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _subschemas(schema: Mapping[str, Any]) -> list[object]:
    found: list[object] = []
    for key in _ONE_SCHEMA:
        if isinstance(schema.get(key), Mapping):
            found.append(schema[key])
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, Sequence) and not isinstance(value, str):
            found.extend(value)
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, Mapping):
            found.extend(value.values())
    return found


def is_strict_compatible(schema: object) -> bool:
    """Whether strict mode accepts ``schema`` as it is: closed objects, all properties required.

    Only subschemas are judged (the values of ``properties``, ``items``, ``anyOf`` members,
    ``$defs`` ...), so a property that happens to be named ``properties`` or ``items`` is one
    property like any other.
    """
    if not isinstance(schema, Mapping):
        return True  # a boolean schema, or nothing to judge
    if "$ref" in schema and len(schema) > 1:
        # ``{"$ref": ..., "description": ...}``: strict mode takes a reference only on its own
        # (the openai SDK unravels such references for the same reason).
        return False
    properties = schema.get("properties")
    kinds = schema.get("type")
    is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds)
    if is_object or isinstance(properties, Mapping):
        names = set(properties) if isinstance(properties, Mapping) else set()
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required") or ()) != names:
            return False
    return all(is_strict_compatible(sub) for sub in _subschemas(schema))


def _sdk_strict_schema(fmt: ResponseFormat) -> dict[str, Any] | None:
    if fmt.response_model is None:
        return None
    try:
        lib = importlib.import_module("openai.lib")
    except ImportError:
        return None
    param = lib.type_to_response_format_param(fmt.response_model)
    schema: dict[str, Any] = param["json_schema"]["schema"]
    return schema


def openai_json_schema(fmt: ResponseFormat) -> tuple[dict[str, Any], bool]:
    """The schema to send for ``fmt`` and whether to send it with ``strict: true``.

    ``fmt.strict`` decides when set; otherwise strict is used whenever the schema can take it.
    """
    schema = fmt.schema_ or {"type": "object"}
    if fmt.strict is False:
        return schema, False
    made = _sdk_strict_schema(fmt)
    if made is not None and (fmt.strict or is_strict_compatible(made)):
        return made, True
    # The SDK leaves what strict mode cannot express (a ``dict[str, X]`` field is an object
    # whose additionalProperties is a schema); OpenAI refuses such a schema sent strict, so it
    # goes as the model's own schema, unconstrained, and the answer is validated as usual.
    return schema, bool(fmt.strict) or (made is None and is_strict_compatible(schema))


def inline_root_ref(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a root ``$ref`` into its own definitions replaced by that definition.

    pydantic writes a self-recursive model as ``{"$ref": "#/$defs/Node", "$defs": {...}}``.
    llama.cpp's schema-to-grammar converter cannot resolve a root reference, and
    llama-cpp-python then silently constrains the answer to *any* JSON instead. The same schema
    with the definition at the root (its ``$defs`` kept, for the recursion) converts.
    """
    seen: set[str] = set()
    while True:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or ref in seen:
            return schema
        for key in ("$defs", "definitions"):
            prefix = f"#/{key}/"
            defs = schema.get(key)
            if ref.startswith(prefix) and isinstance(defs, Mapping):
                target = defs.get(ref[len(prefix) :])
                if isinstance(target, Mapping):
                    break
        else:
            return schema
        seen.add(ref)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**rest, **target, key: defs}
