"""The Messages API's request rules that cadence has broken before, checked like the API does.

A respx side effect built from :func:`messages_api` answers 400 ``invalid_request_error`` (with
a message in the API's style) when a request breaks one of these rules, and otherwise replies
with the next scripted body. The rules come from Anthropic's documentation of the Messages API:

- a structured-output schema (``output_config.format.schema``) supports no numeric or length
  constraints, and every object needs ``additionalProperties: false``;
- tool-use ids match ``^[a-zA-Z0-9_-]+$``;
- with thinking enabled, an assistant turn that uses tools starts with its thinking block,
  passed back unchanged (same signature);
- every message has non-empty content (except an optional final assistant message), and no
  text block is empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx

_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_UNSUPPORTED = {
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
}


def _bad(message: str) -> httpx.Response:
    return httpx.Response(
        400,
        json={"type": "error", "error": {"type": "invalid_request_error", "message": message}},
    )


def _schema_problem(schema: Any, path: str) -> str | None:
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            found = _schema_problem(item, f"{path}.{i}")
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key in _UNSUPPORTED:
            return f"{path}: For '{schema.get('type')}' type, property '{key}' is not supported"
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return f"{path}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                found = _schema_problem(sub, f"{path}.{key}.{name}")
                if found:
                    return found
        elif key in ("items", "anyOf", "allOf"):
            found = _schema_problem(value, f"{path}.{key}")
            if found:
                return found
    return None


def problem(body: dict[str, Any], signatures: set[str]) -> str | None:
    """What the API would reject in ``body`` (None when it is acceptable)."""
    fmt = (body.get("output_config") or {}).get("format")
    if fmt and fmt.get("type") == "json_schema":
        found = _schema_problem(fmt.get("schema"), "output_config.format.schema")
        if found:
            return found
    thinking = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    messages = body["messages"]
    for i, message in enumerate(messages):
        blocks = message["content"] if isinstance(message["content"], list) else []
        final_assistant = i == len(messages) - 1 and message["role"] == "assistant"
        if not message["content"] and not final_assistant:
            return (
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
        for j, block in enumerate(blocks):
            if block["type"] == "text" and not block.get("text"):
                return f"messages.{i}.content.{j}.text: text content blocks must be non-empty"
        for j, block in enumerate(blocks):
            ident = block.get("id") if block["type"] == "tool_use" else block.get("tool_use_id")
            if ident is not None and not _ID.match(ident):
                field = "id" if block["type"] == "tool_use" else "tool_use_id"
                return (
                    f"messages.{i}.content.{j}.{block['type']}.{field}: String should match "
                    f"pattern '^[a-zA-Z0-9_-]+$'"
                )
        if thinking and message["role"] == "assistant":
            uses_tools = any(b["type"] == "tool_use" for b in blocks)
            first = blocks[0] if blocks else {}
            if uses_tools and first.get("type") not in ("thinking", "redacted_thinking"):
                return (
                    f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, "
                    f"but found `{first.get('type')}`. When `thinking` is enabled, a final "
                    "`assistant` message must start with a thinking block"
                )
            for j, block in enumerate(blocks):
                if block["type"] == "thinking" and block.get("signature") not in signatures:
                    return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    return None


def messages_api(
    replies: list[dict[str, Any] | httpx.Response],
    *,
    signatures: set[str] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect: validate each request by the rules above, then reply in order.

    Args:
        replies: Response bodies (or whole responses) for the accepted requests, in order.
        signatures: Thinking signatures the API handed out (a replayed block must carry one).
    """
    queue: Iterator[dict[str, Any] | httpx.Response] = iter(replies)
    known = signatures if signatures is not None else set()

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        found = problem(body, known)
        if found is not None:
            return _bad(found)
        reply = next(queue)
        return reply if isinstance(reply, httpx.Response) else httpx.Response(200, json=reply)

    return handle
