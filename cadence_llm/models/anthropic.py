"""``AnthropicModel``: the official ``anthropic`` SDK's ``AsyncAnthropic``, Messages API.

Translation only: system messages become the ``system`` parameter, tool calls become
``tool_use`` blocks and tool results ``tool_result`` blocks in a user turn, thinking blocks are
passed back unchanged, ``cache=True`` marks become ``cache_control`` breakpoints, and the
answer's blocks and usage come back in cadence's shape. The SDK's own retries are switched off.

Two rules of the Messages API are enforced here because other providers do not have them: a
structured-output schema goes through the SDK's own ``transform_schema`` (the API refuses
``minimum``, ``maxLength`` and open objects), and tool-call ids from other providers are mapped
onto ``^[a-zA-Z0-9_-]+$``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal, TypeAlias

from .._optional import check_async_client, require
from ..errors import (
    BadRequestError,
    MalformedResponseError,
    TruncatedStreamError,
    error_from_status,
)
from ..messages import (
    AssistantMessage,
    FinishReason,
    ModelRequest,
    ModelResponse,
    SystemMessage,
    TextDelta,
    Thinking,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolMessage,
    Usage,
    UserMessage,
)
from ._chat_format import read_raw, sdk_whole_answer
from .base import Delta, ModelAdapter, ResponseBuilder, client_base_url

__all__ = ["AnthropicModel"]

ThinkingOption: TypeAlias = int | Literal["adaptive"] | Mapping[str, Any] | None
CacheOption: TypeAlias = bool | Literal["5m", "1h"]

_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]+$")

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
        inp, cached, written = prev.input_tokens, prev.cached_tokens, prev.cache_write_tokens
    else:
        inp = int(fresh or 0) + int(read or 0) + int(created or 0)
        cached, written = int(read or 0), int(created or 0)
    return Usage(
        input_tokens=inp,
        output_tokens=prev.output_tokens if out is None else int(out),
        cached_tokens=cached,
        cache_write_tokens=written,
    )


def _tool_id(raw: str) -> str:
    """An id the Messages API accepts: valid ids unchanged, others mapped the same way every
    time (so a tool_use and its tool_result still match) with a hash against collisions."""
    if _VALID_ID.match(raw):
        return raw
    clean = re.sub(r"[^a-zA-Z0-9_-]", "_", raw)
    return f"{clean}_{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def _thinking_blocks(thinking: tuple[Thinking, ...]) -> list[dict[str, Any]]:
    """Claude's own thinking blocks, exactly as received; other providers' are not sent."""
    blocks: list[dict[str, Any]] = []
    for t in thinking:
        if t.provider not in ("anthropic", ""):
            continue
        if t.redacted is not None:
            blocks.append({"type": "redacted_thinking", "data": t.redacted})
        elif t.signature:
            blocks.append({"type": "thinking", "thinking": t.text, "signature": t.signature})
    return blocks


def _thinking_config(thinking: ThinkingOption) -> dict[str, Any] | None:
    if thinking is None:
        return None
    if isinstance(thinking, bool) or not isinstance(thinking, int | str | Mapping):
        raise TypeError(
            f"AnthropicModel(thinking=...) takes a token budget, 'adaptive' or a dict, "
            f"got {thinking!r}"
        )
    if isinstance(thinking, int):
        if thinking < 1024:
            raise ValueError(f"a thinking budget must be >= 1024 tokens, got {thinking}")
        return {"type": "enabled", "budget_tokens": thinking}
    if isinstance(thinking, str):
        if thinking != "adaptive":
            raise ValueError(f"thinking must be a budget or 'adaptive', got {thinking!r}")
        return {"type": "adaptive"}
    return dict(thinking)


def _cache_control(cache: CacheOption) -> dict[str, Any]:
    control: dict[str, Any] = {"type": "ephemeral"}
    if isinstance(cache, str):
        control["ttl"] = cache
    return control


def _json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema the Messages API accepts, by the SDK's own transform: unsupported keywords
    move into descriptions (as hints the model may follow), every object is closed."""
    anthropic = require("anthropic", "anthropic")
    transform = getattr(anthropic, "transform_schema", None)
    if transform is None:
        raise ImportError(
            "structured output on Anthropic needs the SDK's transform_schema: "
            "pip install -U 'anthropic>=0.76'"
        )
    result: dict[str, Any] = transform(schema)
    return result


_JSON_INSTRUCTION = "Reply with a single JSON object and nothing else."


def _with_instruction(
    system: str | list[dict[str, Any]] | None, text: str
) -> str | list[dict[str, Any]]:
    """``system`` with ``text`` appended: as a paragraph of a string, as a block of a list
    (after any cache breakpoint, so the cached prefix stays the same)."""
    if system is None:
        return text
    if isinstance(system, str):
        return f"{system}\n\n{text}" if system else text
    return [*system, {"type": "text", "text": text}]


def _arguments(text: str) -> Any:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    # Anthropic wants an object (another provider's call may carry invalid JSON, an array, a
    # double-encoded string or null); keep the model's text visible rather than dropping it.
    return {"_raw": text}


def _messages(
    request: ModelRequest, control: dict[str, Any]
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """The ``system`` parameter and the turns; ``control`` is the cache_control of a mark."""
    system: list[SystemMessage] = []
    out: list[dict[str, Any]] = []

    def push(role: str, blocks: list[dict[str, Any]], cache: bool) -> None:
        # The API refuses empty text blocks and turns without content ("all messages must
        # have non-empty content"); an empty answer (content=[]) must not poison the next call.
        blocks = [b for b in blocks if not (b.get("type") == "text" and not b.get("text"))]
        if not blocks:
            return
        if cache:
            blocks[-1]["cache_control"] = control
        # The API wants alternating turns: merge consecutive ones of the same role.
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in request.messages:
        if isinstance(m, SystemMessage):
            system.append(m)
        elif isinstance(m, UserMessage):
            push("user", [{"type": "text", "text": m.content}], m.cache)
        elif isinstance(m, AssistantMessage):
            # Thinking first: a tool-using turn must start with its thinking block.
            blocks = _thinking_blocks(m.thinking)
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": _tool_id(c.id),
                    "name": c.name,
                    "input": _arguments(c.arguments),
                }
                for c in m.tool_calls
            )
            push("assistant", blocks, m.cache)
        elif isinstance(m, ToolMessage):
            result = {
                "type": "tool_result",
                "tool_use_id": _tool_id(m.tool_call_id),
                "content": m.content,
                "is_error": m.is_error,
            }
            push("user", [result], m.cache)
    if not system:
        return None, out
    if not any(m.cache for m in system):
        return "\n\n".join(m.content for m in system), out
    blocks = []
    for m in system:
        block: dict[str, Any] = {"type": "text", "text": m.content}
        if m.cache:
            block["cache_control"] = control
        blocks.append(block)
    return blocks, out


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
        thinking: Extended thinking for every request: a token budget (``>= 1024``, below
            ``max_tokens``), ``"adaptive"``, or the API's ``thinking`` dict. Thinking blocks come
            back in ``ModelResponse.thinking`` and are passed back on the next turn.
        prompt_cache: ``True`` (or a TTL, ``"5m"`` / ``"1h"``) asks the API to cache the prompt
            up to its last cacheable block on every request. Messages and tools marked
            ``cache=True`` are breakpoints whether or not this is set; they use this TTL.
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
        thinking: ThinkingOption = None,
        prompt_cache: CacheOption = False,
    ) -> None:
        super().__init__(model)
        if prompt_cache not in (True, False, "5m", "1h"):
            raise ValueError(
                f"prompt_cache must be True, False, '5m' or '1h', got {prompt_cache!r}"
            )
        self.thinking = _thinking_config(thinking)
        if client is None:
            anthropic = require("anthropic", "anthropic")
            client = anthropic.AsyncAnthropic(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
            )
        else:
            check_async_client(
                client, adapter="AnthropicModel", sdk="anthropic", attrs=("messages",)
            )
            if getattr(client, "max_retries", 0) != 0:
                client = client.with_options(max_retries=0)
        self.client = client
        self.default_max_tokens = default_max_tokens
        self.prompt_cache: CacheOption = prompt_cache

    async def aclose(self) -> None:
        """Close the SDK client's connections (also when the client was passed in)."""
        await self.client.close()

    def cache_identity(self) -> dict[str, Any]:
        """The base identity plus the endpoint, the thinking setting and the default output
        limit."""
        return {
            **super().cache_identity(),
            "base_url": client_base_url(self.client),
            "thinking": self.thinking,
            "default_max_tokens": self.default_max_tokens,
        }

    def _payload(self, request: ModelRequest) -> dict[str, Any]:
        control = _cache_control(self.prompt_cache)
        system, messages = _messages(request, control)
        max_tokens = request.max_tokens or self.default_max_tokens
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens}
        if system is not None:
            body["system"] = system
        if self.prompt_cache:
            body["cache_control"] = control
        if self.thinking is not None:
            budget = self.thinking.get("budget_tokens")
            if isinstance(budget, int) and budget >= max_tokens:
                raise BadRequestError(
                    f"max_tokens={max_tokens} must be above the thinking budget of {budget} "
                    "tokens: raise max_tokens in the request (or default_max_tokens)",
                    provider=self.system,
                    model=self.model,
                )
            body["thinking"] = self.thinking
        if request.tools:
            tools: list[dict[str, Any]] = []
            for t in request.tools:
                spec: dict[str, Any] = {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.parameters,
                }
                if t.cache:
                    spec["cache_control"] = control
                tools.append(spec)
            body["tools"] = tools
        choice = request.tool_choice
        if choice is not None:
            kinds = {"auto": "auto", "none": "none", "required": "any"}
            body["tool_choice"] = (
                {"type": kinds[choice]} if choice in kinds else {"type": "tool", "name": choice}
            )
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            if fmt.type == "json_schema" and fmt.schema_:
                schema = _json_schema(fmt.schema_)
                body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
            else:
                # "Any JSON object" has no schema the Messages API can enforce: the transform
                # closes {"type": "object"} into a schema that admits only {}. Ask instead.
                body["system"] = _with_instruction(body.get("system"), _JSON_INSTRUCTION)
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
            thinking: list[Thinking] = []
            for block in content:
                kind = _get(block, "type")
                if kind == "text":
                    text.append(str(_get(block, "text", "")))
                elif kind == "tool_use":
                    calls.append(
                        ToolCall(
                            id=str(_get(block, "id")),
                            name=str(_get(block, "name")),
                            # As a stream would carry them (non-ASCII unescaped), so complete()
                            # and stream() give the same arguments for the same answer.
                            arguments=json.dumps(_get(block, "input") or {}, ensure_ascii=False),
                        )
                    )
                elif kind == "thinking":
                    thinking.append(
                        Thinking(
                            text=str(_get(block, "thinking", "")),
                            signature=_get(block, "signature"),
                            provider=self.system,
                        )
                    )
                elif kind == "redacted_thinking":
                    thinking.append(
                        Thinking(redacted=str(_get(block, "data", "")), provider=self.system)
                    )
            return ModelResponse(
                text="".join(text),
                tool_calls=tuple(calls),
                thinking=tuple(thinking),
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
        payload = self._payload(request)
        raw_api = getattr(messages, "with_raw_response", None)
        try:
            if raw_api is None:  # a duck-typed client: read its objects
                return self._parse(await messages.create(**payload))
            # The raw JSON body: no SDK objects built, and a non-JSON body is reported verbatim.
            raw = await raw_api.create(**payload)
        except ValueError as exc:
            # The SDK refuses, before sending anything, a non-streaming call it expects to run
            # past ten minutes (a large max_tokens). Streaming is its remedy: stream, assemble.
            if "Streaming is required" not in str(exc):
                raise
            return await self._complete_streamed(request)
        # An error object sent with a 200 ({"type": "error", "error": {...}}) raises the error
        # it names.
        return read_raw(
            raw, answer_key="content", parse=self._parse, model=self.model, system=self.system
        )

    async def _complete_streamed(self, request: ModelRequest) -> ModelResponse:
        builder = ResponseBuilder(model=self.model, system=self.system)
        async with contextlib.aclosing(self._stream(request, builder)) as events:
            async for event in events:
                builder.add(event)
        if builder.finish_reason is None:
            raise TruncatedStreamError(
                f"the stream ended after {builder.chunks} chunks without a finish signal",
                provider=self.system,
                model=self.model,
                partial=builder.response(),
            )
        return builder.response()

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[Delta, None]:
        stream = await self.client.messages.create(**self._payload(request), stream=True)
        tool_index: dict[int, int] = {}  # content block index -> tool call index
        thinking_index: dict[int, int] = {}  # content block index -> thinking block index
        stop: FinishReason = "unknown"
        try:
            # A server that ignores stream=True answers with one JSON body: read it whole.
            whole = await sdk_whole_answer(stream, builder, answer_key="content", parse=self._parse)
            if whole is not None:
                for event in whole:
                    yield event
                return
            async for event in stream:
                kind = _get(event, "type")
                if kind == "message_start":
                    msg = _get(event, "message")
                    builder.provider_id = _get(msg, "id")
                    builder.model = str(_get(msg, "model") or builder.model)
                    builder.usage = _usage(_get(msg, "usage"))
                elif kind == "content_block_start":
                    block = _get(event, "content_block")
                    btype = _get(block, "type")
                    if btype == "tool_use":
                        n = tool_index.setdefault(_get(event, "index"), len(tool_index))
                        yield ToolCallDelta(index=n, id=_get(block, "id"), name=_get(block, "name"))
                    elif btype in ("thinking", "redacted_thinking"):
                        n = thinking_index.setdefault(_get(event, "index"), len(thinking_index))
                        yield ThinkingDelta(
                            index=n,
                            text=str(_get(block, "thinking") or ""),
                            signature=_get(block, "signature") or None,
                            redacted=_get(block, "data") if btype == "redacted_thinking" else None,
                        )
                elif kind == "content_block_delta":
                    delta = _get(event, "delta")
                    dtype = _get(delta, "type")
                    if dtype == "text_delta":
                        yield TextDelta(text=str(_get(delta, "text", "")))
                    elif dtype == "input_json_delta":
                        n = tool_index.setdefault(_get(event, "index"), len(tool_index))
                        yield ToolCallDelta(index=n, arguments=str(_get(delta, "partial_json", "")))
                    elif dtype in ("thinking_delta", "signature_delta"):
                        n = thinking_index.setdefault(_get(event, "index"), len(thinking_index))
                        if dtype == "thinking_delta":
                            yield ThinkingDelta(index=n, text=str(_get(delta, "thinking", "")))
                        else:
                            yield ThinkingDelta(index=n, signature=str(_get(delta, "signature")))
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
