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

__all__ = ["is_strict_compatible", "openai_json_schema"]


def is_strict_compatible(schema: object) -> bool:
    """Whether strict mode accepts ``schema`` as it is: closed objects, all properties required."""
    if isinstance(schema, Mapping):
        if schema.get("type") == "object" or "properties" in schema:
            properties = schema.get("properties") or {}
            if schema.get("additionalProperties") is not False:
                return False
            if set(schema.get("required") or ()) != set(properties):
                return False
        return all(is_strict_compatible(value) for value in schema.values())
    if isinstance(schema, Sequence) and not isinstance(schema, str):
        return all(is_strict_compatible(value) for value in schema)
    return True


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
    if made is not None:
        return made, True
    return schema, bool(fmt.strict) or is_strict_compatible(schema)
