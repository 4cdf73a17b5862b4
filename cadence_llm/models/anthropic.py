"""``AnthropicModel``: the official ``anthropic`` SDK's ``AsyncAnthropic``, Messages API.

Translation only: system messages become the ``system`` parameter, tool calls become
``tool_use`` blocks and tool results ``tool_result`` blocks in a user turn, and the answer's
blocks and usage come back in cadence's shape. The SDK's own retries are switched off.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from .._optional import require
from ..errors import MalformedResponseError, error_from_status
from ..messages import (
    AssistantMessage,
    FinishReason,
    ModelRequest,
    ModelResponse,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolMessage,
    Usage,
    UserMessage,
)
from ._chat_format import loads
from .base import ModelAdapter, ResponseBuilder

__all__ = ["AnthropicModel"]

_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Read a field from an SDK object or a dict alike."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _usage(raw: Any, previous: Usage | None = None) -> Usage:
    """Anthropic counts cached input apart from ``input_tokens``; cadence counts it inside."""
    if raw is None:
        return previous or Usage()
    prev = previous or Usage()
    fresh = _get(raw, "input_tokens")
    read = _get(raw, "cache_read_input_tokens")
    created = _get(raw, "cache_creation_input_tokens")
    out = _get(raw, "output_tokens")
    if fresh is None and read is None and created is None:
        inp, cached = prev.input_tokens, prev.cached_tokens
    else:
        inp = int(fresh or 0) + int(read or 0) + int(created or 0)
        cached = int(read or 0)
    return Usage(
        input_tokens=inp,
        output_tokens=prev.output_tokens if out is None else int(out),
        cached_tokens=cached,
    )


def _arguments(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        # Anthropic wants an object; keep the model's text visible rather than dropping it.
        return {"_raw": text}


def _messages(request: ModelRequest) -> tuple[str | None, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def push(role: str, blocks: list[dict[str, Any]]) -> None:
        # The API wants alternating turns: merge consecutive ones of the same role.
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in request.messages:
        if isinstance(m, SystemMessage):
            system.append(m.content)
        elif isinstance(m, UserMessage):
            push("user", [{"type": "text", "text": m.content}])
        elif isinstance(m, AssistantMessage):
            blocks: list[dict[str, Any]] = []
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            blocks.extend(
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments(c.arguments)}
                for c in m.tool_calls
            )
            push("assistant", blocks)
        elif isinstance(m, ToolMessage):
            push(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": m.tool_call_id,
                        "content": m.content,
                        "is_error": m.is_error,
                    }
                ],
            )
    return ("\n\n".join(system) if system else None), out


class AnthropicModel(ModelAdapter):
    """A Claude model through the official SDK's Messages API.

    Args:
        model: The model name (``"claude-sonnet-5-5"``).
        client: An ``anthropic.AsyncAnthropic`` client; its retries are switched off. Built from
            the settings below when omitted.
        api_key: Used when building a client (defaults to ``ANTHROPIC_API_KEY``).
        base_url: Used when building a client.
        timeout: Seconds per request when building a client.
        default_max_tokens: The Messages API requires a limit; used when the request has none.
    """

    system = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        default_max_tokens: int = 1024,
    ) -> None:
        super().__init__(model)
        if client is None:
            anthropic = require("anthropic", "anthropic")
            client = anthropic.AsyncAnthropic(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
            )
        elif getattr(client, "max_retries", 0) != 0:
            client = client.with_options(max_retries=0)
        self.client = client
        self.default_max_tokens = default_max_tokens

    async def aclose(self) -> None:
        """Close the SDK client's connections (also when the client was passed in)."""
        await self.client.close()

    def _payload(self, request: ModelRequest) -> dict[str, Any]:
        system, messages = _messages(request)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens or self.default_max_tokens,
        }
        if system is not None:
            body["system"] = system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        choice = request.tool_choice
        if choice is not None:
            kinds = {"auto": "auto", "none": "none", "required": "any"}
            body["tool_choice"] = (
                {"type": kinds[choice]} if choice in kinds else {"type": "tool", "name": choice}
            )
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            schema = fmt.schema_ or {"type": "object"}
            body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        extra = dict(request.extra)
        if request.temperature is not None:
            # Not a typed parameter of the current SDK; the API reads it from the body.
            extra.setdefault("temperature", request.temperature)
        if extra:
            body["extra_body"] = extra
        return body

    def _parse(self, message: Any) -> ModelResponse:
        try:
            content = _get(message, "content")
            if content is None:
                raise TypeError("no content")
            text: list[str] = []
            calls: list[ToolCall] = []
            for block in content:
                kind = _get(block, "type")
                if kind == "text":
                    text.append(str(_get(block, "text", "")))
                elif kind == "tool_use":
                    calls.append(
                        ToolCall(
                            id=str(_get(block, "id")),
                            name=str(_get(block, "name")),
                            arguments=json.dumps(_get(block, "input") or {}),
                        )
                    )
            return ModelResponse(
                text="".join(text),
                tool_calls=tuple(calls),
                finish_reason=_STOP.get(str(_get(message, "stop_reason")), "unknown"),
                usage=_usage(_get(message, "usage")),
                model=str(_get(message, "model") or self.model),
                provider_id=_get(message, "id"),
                system=self.system,
            )
        except (TypeError, AttributeError) as exc:
            raise MalformedResponseError(
                f"not a Messages API answer: {str(message)[:200]}",
                provider=self.system,
                model=self.model,
            ) from exc

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        messages = self.client.messages
        raw_api = getattr(messages, "with_raw_response", None)
        if raw_api is None:  # a duck-typed client: read its objects
            return self._parse(await messages.create(**self._payload(request)))
        # The raw JSON body: no SDK objects built, and a non-JSON body is reported verbatim.
        raw = await raw_api.create(**self._payload(request))
        return self._parse(loads(raw.http_response.text, model=self.model, system=self.system))

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        stream = await self.client.messages.create(**self._payload(request), stream=True)
        tool_index: dict[int, int] = {}  # content block index -> tool call index
        stop: FinishReason = "unknown"
        try:
            async for event in stream:
                kind = _get(event, "type")
                if kind == "message_start":
                    msg = _get(event, "message")
                    builder.provider_id = _get(msg, "id")
                    builder.model = str(_get(msg, "model") or builder.model)
                    builder.usage = _usage(_get(msg, "usage"))
                elif kind == "content_block_start":
                    block = _get(event, "content_block")
                    if _get(block, "type") == "tool_use":
                        n = tool_index.setdefault(_get(event, "index"), len(tool_index))
                        yield ToolCallDelta(index=n, id=_get(block, "id"), name=_get(block, "name"))
                elif kind == "content_block_delta":
                    delta = _get(event, "delta")
                    dtype = _get(delta, "type")
                    if dtype == "text_delta":
                        yield TextDelta(text=str(_get(delta, "text", "")))
                    elif dtype == "input_json_delta":
                        n = tool_index.setdefault(_get(event, "index"), len(tool_index))
                        yield ToolCallDelta(index=n, arguments=str(_get(delta, "partial_json", "")))
                elif kind == "message_delta":
                    reason = _get(_get(event, "delta"), "stop_reason")
                    stop = _STOP.get(str(reason), "unknown")
                    builder.usage = _usage(_get(event, "usage"), builder.usage)
                elif kind == "message_stop":
                    builder.finish_reason = stop
                elif kind == "error":
                    raise error_from_status(
                        200, {"error": _get(event, "error")}, provider=self.system, model=self.model
                    )
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await close()
