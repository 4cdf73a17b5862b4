"""Translation to and from the chat-completions wire shape (OpenAI, vLLM, Ollama, llama.cpp).

``OpenAIModel``, ``OpenAICompatModel`` and ``LocalModel`` speak the same JSON shape, so they share
this module: requests become plain dicts, and answers (SDK objects dumped to dicts, raw JSON,
or llama-cpp-python's dicts) are read back by one parser. It also holds what every HTTP adapter
does with a whole JSON body (:func:`read_body`, :func:`whole_answer`, :func:`sdk_whole_answer`):
an error object sent with a 200 raises the error it names, and a streaming request answered
with one JSON body (a server or proxy that ignores ``stream=True``) is read as that answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

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
from ._json_schema import inline_root_ref, openai_json_schema
from .base import Delta, ResponseBuilder, response_deltas

__all__ = [
    "ChunkReader",
    "answer_deltas",
    "as_dict",
    "build_payload",
    "content_text",
    "finish_reason",
    "is_json",
    "parse_completion",
    "raise_error_body",
    "read_body",
    "read_raw",
    "sdk_whole_answer",
    "to_messages",
    "whole_answer",
]

SchemaStyle = Literal["json_schema", "json_object"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def as_dict(obj: Any) -> Any:
    """SDK objects as plain dicts (the SDKs return pydantic models); other values unchanged."""
    dump = getattr(obj, "model_dump", None)
    if not callable(dump):
        return obj
    try:
        # The SDKs build their objects without validation and keep a server's off-spec value (a
        # tool call's arguments as an object, not a string): dump it as it is, without warning.
        return dump(warnings=False)
    except TypeError:  # a duck-typed client's model_dump without pydantic's options
        return dump()


def finish_reason(raw: object) -> FinishReason:
    """Map a chat-completions finish reason onto ours."""
    return _FINISH.get(str(raw), "unknown")


def to_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """The request's conversation as chat-completions messages."""
    out: list[dict[str, Any]] = []
    for m in request.messages:
        if isinstance(m, SystemMessage | UserMessage):
            out.append({"role": m.role, "content": m.content})
        elif isinstance(m, AssistantMessage):
            msg: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                # "" rather than null: llama.cpp's server rejects a null follow-up content.
                msg["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in m.tool_calls
                ]
            out.append(msg)
        elif isinstance(m, ToolMessage):
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
    return out


def build_payload(
    request: ModelRequest,
    model: str,
    *,
    max_tokens_field: str = "max_tokens",
    schema_style: SchemaStyle = "json_schema",
    include_extra: bool = True,
) -> dict[str, Any]:
    """A chat-completions request body.

    Args:
        request: The request.
        model: The model name to send.
        max_tokens_field: ``"max_completion_tokens"`` for OpenAI, ``"max_tokens"`` elsewhere.
        schema_style: ``"json_schema"`` (OpenAI's structured outputs, strict where the schema
            allows, see :mod:`._json_schema`) or ``"json_object"`` with a ``schema`` key
            (llama.cpp's server, which answers 500 to ``json_schema``).
        include_extra: Merge ``request.extra`` into the body (SDK callers pass it as
            ``extra_body`` instead).
    """
    body: dict[str, Any] = {"model": model, "messages": to_messages(request)}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        if request.tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = request.tool_choice
        else:
            body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        if fmt.type == "json" or fmt.schema_ is None:
            body["response_format"] = {"type": "json_object"}
        elif schema_style == "json_object":
            # llama.cpp turns the schema into a grammar, and cannot start from a root $ref.
            body["response_format"] = {
                "type": "json_object",
                "schema": inline_root_ref(fmt.schema_),
            }
        else:
            schema, strict = openai_json_schema(fmt)
            spec: dict[str, Any] = {"name": fmt.name, "schema": schema}
            if strict:
                spec["strict"] = True
            body["response_format"] = {"type": "json_schema", "json_schema": spec}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if include_extra:
        body.update(request.extra)
    return body


def _usage(raw: object) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cached_tokens=int(cached or 0),
    )


def content_text(raw: object) -> tuple[str, str]:
    """(text, refusal) of a message's ``content``: a string, or a list of parts.

    Some servers (Mistral's reasoning models, gateways in front of Claude or Gemini) send the
    content as parts, ``[{"type": "text", "text": ...}, {"type": "thinking", ...}]``: the text
    parts are joined, refusal parts are the refusal, and other parts (reasoning) are skipped.
    """
    if raw is None:
        return "", ""
    if isinstance(raw, str):
        return raw, ""
    if not isinstance(raw, list):
        return str(raw), ""
    text: list[str] = []
    refusal: list[str] = []
    for part in raw:
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind in ("text", "output_text", None) and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif kind == "refusal" and isinstance(part.get("refusal"), str):
                refusal.append(part["refusal"])
    return "".join(text), "".join(refusal)


def _arguments_text(raw: object, empty: str) -> str:
    """A call's arguments as JSON text; some servers send them as an object, not a string."""
    if isinstance(raw, Mapping | list):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw or empty)


def parse_completion(data: object, *, model: str, system: str) -> ModelResponse:
    """Read a chat-completions answer; raise MalformedResponseError if it is not one."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError("the body is not a JSON object")
        choice = data["choices"][0]
        message = choice["message"]
        calls = tuple(
            ToolCall(
                id=str(c.get("id") or f"call_{n}"),
                name=str(c["function"]["name"]),
                arguments=_arguments_text(c["function"].get("arguments"), "{}"),
            )
            for n, c in enumerate(message.get("tool_calls") or ())
        )
        text, refused = content_text(message.get("content"))
        refusal = message.get("refusal") or refused
        return ModelResponse(
            # A refusal (structured outputs) comes instead of content: keep its text and say so.
            text=text or str(refusal or ""),
            tool_calls=calls,
            finish_reason="content_filter"
            if refusal
            else finish_reason(choice.get("finish_reason")),
            usage=_usage(data.get("usage")),
            model=str(data.get("model") or model),
            provider_id=data.get("id"),
            system=system,
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponseError(
            f"not a chat completion ({type(exc).__name__}: {exc}): {str(data)[:200]}",
            provider=system,
            model=model,
        ) from exc


class ChunkReader:
    """Turn chat-completions stream chunks into deltas, updating a :class:`ResponseBuilder`."""

    def __init__(self, builder: ResponseBuilder) -> None:
        self.builder = builder
        self.refused = False
        self._slots: dict[int, int] = {}  # the server's index -> our call index
        self._ids: list[str | None] = []  # our call index -> its id

    def _slot(self, call: Mapping[str, Any]) -> int:
        """Our index for a tool-call delta. Some servers (Gemini's OpenAI endpoint) send no
        ``index``, or index 0 for every call: a new id then starts a new call."""
        cid = call.get("id") or None
        try:
            raw = None if call.get("index") is None else int(call["index"])
        except (TypeError, ValueError):
            raw = None
        if raw is not None and raw in self._slots:
            slot = self._slots[raw]
            if cid is None or self._ids[slot] in (None, cid):
                if cid is not None:
                    self._ids[slot] = cid
                return slot
        elif raw is None and cid is None and self._ids:
            return len(self._ids) - 1  # a continuation of the last call
        elif raw is None and cid in self._ids:
            return self._ids.index(cid)
        slot = len(self._ids)
        self._ids.append(cid)
        if raw is not None:
            self._slots[raw] = slot
        return slot

    def feed(self, chunk: object) -> Iterator[TextDelta | ToolCallDelta]:
        """Deltas for one chunk (a dict); usage-only and empty chunks yield nothing."""
        if not isinstance(chunk, Mapping):
            raise MalformedResponseError(
                f"not a stream chunk: {str(chunk)[:200]}",
                provider=self.builder.system,
                model=self.builder.model,
            )
        b = self.builder
        if chunk.get("id") and b.provider_id is None:
            b.provider_id = str(chunk["id"])
        if chunk.get("model"):
            b.model = str(chunk["model"])
        if chunk.get("usage"):
            b.usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text, refused = content_text(delta.get("content"))
            if text:
                yield TextDelta(text=text)
            refusal = delta.get("refusal") or refused
            if refusal:
                self.refused = True
                yield TextDelta(text=str(refusal))
            for call in delta.get("tool_calls") or ():
                fn = call.get("function") or {}
                yield ToolCallDelta(
                    index=self._slot(call),
                    id=call.get("id"),
                    name=fn.get("name"),
                    arguments=_arguments_text(fn.get("arguments"), ""),
                )
            if choice.get("finish_reason"):
                b.finish_reason = (
                    "content_filter" if self.refused else finish_reason(choice["finish_reason"])
                )


def sse_data(line: str) -> str | None:
    """The payload of an SSE ``data:`` line, or None for other lines."""
    if line.startswith("data:"):
        return line[5:].strip()
    return None


def loads(text: str, *, model: str, system: str) -> object:
    """Parse JSON, reporting a MalformedResponseError that shows the start of the text."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedResponseError(
            f"invalid JSON from the server: {text[:200]!r}", provider=system, model=model
        ) from exc


def is_json(headers: Any) -> bool:
    """Whether a response's ``content-type`` says JSON (one body, not an event stream)."""
    kind = headers.get("content-type") if headers is not None else None
    return isinstance(kind, str) and "json" in kind.lower()


def raise_error_body(
    data: object,
    status: int,
    headers: Mapping[str, str] | None,
    *,
    answer_key: str,
    model: str,
    system: str,
) -> None:
    """Raise the error ``data`` names when it is an error object instead of an answer.

    Proxies, gateways and some servers send ``{"error": {...}}`` (OpenAI's shape) or
    ``{"type": "error", "error": {...}}`` (Anthropic's) with a 200; classified like an error
    status, it says what went wrong instead of being an unreadable answer. A body that also has
    ``answer_key`` (``"choices"``, ``"output"``, ``"content"``) is an answer.
    """
    if isinstance(data, Mapping) and data.get("error") and answer_key not in data:
        raise error_from_status(status, data, headers, provider=system, model=model)


def read_body(
    text: str,
    *,
    status: int,
    headers: Mapping[str, str] | None,
    answer_key: str,
    parse: Callable[[object], ModelResponse],
    model: str,
    system: str,
) -> ModelResponse:
    """A whole JSON answer read by ``parse``, or the error its body names, raised."""
    data = loads(text, model=model, system=system)
    raise_error_body(data, status, headers, answer_key=answer_key, model=model, system=system)
    return parse(data)


def read_raw(
    raw: Any,
    *,
    answer_key: str,
    parse: Callable[[object], ModelResponse],
    model: str,
    system: str,
) -> ModelResponse:
    """:func:`read_body` of an SDK's ``with_raw_response`` result (its ``http_response``)."""
    http = raw.http_response
    return read_body(
        http.text,
        status=http.status_code,
        headers=http.headers,
        answer_key=answer_key,
        parse=parse,
        model=model,
        system=system,
    )


def answer_deltas(answer: ModelResponse, builder: ResponseBuilder) -> list[Delta]:
    """A whole answer as the deltas a stream of it gives; ``builder`` takes its id, model,
    usage and finish reason, so the stream ends with the same response ``complete()`` gives."""
    builder.provider_id, builder.model = answer.provider_id, answer.model
    builder.usage, builder.finish_reason = answer.usage, answer.finish_reason
    return response_deltas(answer)


def whole_answer(
    text: str,
    status: int,
    headers: Mapping[str, str] | None,
    builder: ResponseBuilder,
    *,
    answer_key: str,
    parse: Callable[[object], ModelResponse],
) -> list[Delta]:
    """The deltas of a whole JSON body answering a streaming request (its error, raised).

    Called before the stream yields anything, so the builder's model and system are still the
    adapter's own, the names its errors carry.
    """
    answer = read_body(
        text,
        status=status,
        headers=headers,
        answer_key=answer_key,
        parse=parse,
        model=builder.model,
        system=builder.system,
    )
    return answer_deltas(answer, builder)


async def sdk_whole_answer(
    stream: Any,
    builder: ResponseBuilder,
    *,
    answer_key: str,
    parse: Callable[[object], ModelResponse],
) -> list[Delta] | None:
    """The deltas of an SDK stream the server answered with one JSON body; None for events.

    The SDKs decode any 2xx body to a ``stream=True`` call as Server-Sent Events, and a JSON
    body holds none: they yield nothing, and the answer (or the error) the server sent would be
    lost behind a truncated stream. The stream's ``response`` says what came.
    """
    response = getattr(stream, "response", None)
    headers = getattr(response, "headers", None)
    if response is None or not is_json(headers):
        return None
    text = (await response.aread()).decode(errors="replace")
    return whole_answer(
        text, response.status_code, headers, builder, answer_key=answer_key, parse=parse
    )
