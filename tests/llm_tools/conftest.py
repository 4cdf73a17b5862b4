"""Shared helpers for the tool-calling, agent, structured-output and note-factory tests."""

from __future__ import annotations

import json
from typing import Any

from cadence_llm import ModelResponse, ToolCall


def calls(*items: tuple[str, str, dict[str, Any] | str]) -> ModelResponse:
    """A scripted assistant turn asking for tools: ``(id, name, arguments)`` triples."""
    return ModelResponse(
        tool_calls=tuple(
            ToolCall(id=i, name=n, arguments=a if isinstance(a, str) else json.dumps(a))
            for i, n, a in items
        ),
        finish_reason="tool_calls",
    )
