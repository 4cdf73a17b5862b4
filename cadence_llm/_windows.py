"""Does a request fit a model's context window? An estimate good enough to route by.

A fallback chain with declared window sizes sends a request straight past models too small for
it. Counting exactly needs each provider's tokenizer, so the default estimate is the usual rule
of thumb of four characters per token over everything the prompt carries (messages, tool calls,
tool schemas, the response schema), plus the output the request reserves (``max_tokens``).
Pass ``count_tokens=`` to the chain to use a real tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeAlias

from .messages import AssistantMessage, ModelRequest

__all__ = ["TokenCounter", "estimate_tokens"]

TokenCounter: TypeAlias = Callable[[ModelRequest], int]

_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 4  # role markers and separators


def estimate_tokens(request: ModelRequest) -> int:
    """Estimated prompt tokens of ``request`` plus the output tokens it reserves."""
    chars = 0
    for m in request.messages:
        chars += len(m.content)
        if isinstance(m, AssistantMessage):
            chars += sum(len(c.name) + len(c.arguments) for c in m.tool_calls)
            chars += sum(len(t.text) for t in m.thinking)
    for t in request.tools:
        chars += len(t.name) + len(t.description) + len(json.dumps(t.parameters))
    fmt = request.response_format
    if fmt is not None and fmt.schema_ is not None:
        chars += len(json.dumps(fmt.schema_))
    prompt = -(-chars // _CHARS_PER_TOKEN) + _PER_MESSAGE * len(request.messages)
    return prompt + (request.max_tokens or 0)
