"""``OpenAIResponsesModel``: the official ``openai`` SDK's Responses API (``client.responses``).

The Responses API is the shape new OpenAI features ship on (reasoning items, built-in tools).
Translation only: the conversation becomes ``input`` items (messages, ``function_call`` and
``function_call_output`` items, reasoning items passed back), tools are flat ``function``
tools, a JSON schema goes to ``text.format`` (strict where the schema allows), and the answer's
``output`` items, status and usage come back in cadence's shape. Requests are stateless
(``store=False`` by default): the whole transcript is sent each time, so any model of a chain
can continue it, and reasoning is carried as encrypted content.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from ..errors import BadRequestError, MalformedResponseError, error_from_status
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
from ._chat_format import as_dict, read_raw, sdk_whole_answer
from ._json_schema import is_strict_compatible, openai_json_schema
from .base import Delta, ModelAdapter, ResponseBuilder, client_base_url
from .openai import openai_client

__all__ = ["OpenAIResponsesModel"]

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


def _reasoning_item(t: Thinking, *, store: bool) -> dict[str, Any] | None:
    if t.provider != "openai" or t.id is None:
        return None
    if not store and not t.signature:
        # With store=False the API keeps nothing: an item sent by id alone is answered with
        # 404 "Item with id 'rs_...' not found". Without its encrypted content, drop it.
        return None
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": t.id,
        "summary": [{"type": "summary_text", "text": t.text}] if t.text else [],
    }
    if t.signature:
        item["encrypted_content"] = t.signature
    return item


def _input(request: ModelRequest, *, store: bool = False) -> list[dict[str, Any]]:
    """The conversation as Responses API input items."""
    items: list[dict[str, Any]] = []
    for m in request.messages:
        if isinstance(m, SystemMessage | UserMessage):
            items.append({"role": m.role, "content": m.content})
        elif isinstance(m, AssistantMessage):
            items.extend(item for t in m.thinking if (item := _reasoning_item(t, store=store)))
            if m.content:
                items.append({"role": "assistant", "content": m.content})
            items.extend(
                {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
                for c in m.tool_calls
            )
        elif isinstance(m, ToolMessage):
            items.append(
                {"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content}
            )
    return items


def _usage(raw: object) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, Mapping) else {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        cache_write_tokens=int(details.get("cache_write_tokens") or 0),
    )


def _finish(data: Mapping[str, Any], has_calls: bool, refused: bool) -> FinishReason:
    status = data.get("status")
    if status == "incomplete":
        details = data.get("incomplete_details") or {}
        return _INCOMPLETE.get(str(details.get("reason")), "unknown")
    if refused:
        return "content_filter"
    if status in ("completed", None):
        return "tool_calls" if has_calls else "stop"
    return "unknown"


class OpenAIResponsesModel(ModelAdapter):
    """A model behind OpenAI's Responses API, through the official SDK.

    Args:
        model: The model name (``"gpt-5-mini"``).
        client: An ``openai.AsyncOpenAI`` (or Azure) client; its retries are switched off.
            Built from the settings below when omitted.
        api_key: Used when building a client (defaults to ``OPENAI_API_KEY``).
        base_url: Used when building a client.
        timeout: Seconds per request when building a client.
        reasoning: The ``reasoning`` parameter for reasoning models, e.g.
            ``{"effort": "low", "summary": "auto"}``. Reasoning items come back in
            ``ModelResponse.thinking`` and are passed back on the next turn.
        store: Let OpenAI store responses (``False``: stateless, and reasoning is asked for as
            ``reasoning.encrypted_content`` so it can be passed back).
    """

    system = "openai"

    def __init__(
        self,
        model: str,
        *,
        client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        reasoning: Mapping[str, Any] | None = None,
        store: bool = False,
    ) -> None:
        super().__init__(model)
        self.client = openai_client(
            client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            adapter="OpenAIResponsesModel",
            attrs=("responses",),
        )
        self.reasoning = None if reasoning is None else dict(reasoning)
        self.store = store

    async def aclose(self) -> None:
        """Close the SDK client's connections (also when the client was passed in)."""
        await self.client.close()

    def cache_identity(self) -> dict[str, Any]:
        """The base identity plus the endpoint and the reasoning setting."""
        return {
            **super().cache_identity(),
            "base_url": client_base_url(self.client),
            "reasoning": self.reasoning,
        }

    def _payload(self, request: ModelRequest) -> dict[str, Any]:
        unsupported = [n for n, v in (("stop", request.stop), ("seed", request.seed)) if v]
        if unsupported:
            raise BadRequestError(
                f"the Responses API has no {' or '.join(unsupported)} parameter: drop it from "
                "the request, or use OpenAIModel (chat completions), which has both",
                provider=self.system,
                model=self.model,
            )
        body: dict[str, Any] = {
            "model": self.model,
            "input": _input(request, store=self.store),
            "store": self.store,
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": is_strict_compatible(t.parameters),
                }
                for t in request.tools
            ]
        choice = request.tool_choice
        if choice is not None:
            body["tool_choice"] = (
                choice
                if choice in ("auto", "none", "required")
                else {"type": "function", "name": choice}
            )
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            if fmt.type == "json" or fmt.schema_ is None:
                body["text"] = {"format": {"type": "json_object"}}
            else:
                schema, strict = openai_json_schema(fmt)
                body["text"] = {
                    "format": {
                        "type": "json_schema",
                        "name": fmt.name,
                        "schema": schema,
                        "strict": strict,
                    }
                }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_output_tokens"] = request.max_tokens
        if self.reasoning is not None:
            body["reasoning"] = self.reasoning
            if not self.store:
                body["include"] = ["reasoning.encrypted_content"]
        if request.extra:
            body["extra_body"] = dict(request.extra)
        return body

    def _raise_failure(self, data: Mapping[str, Any]) -> None:
        """A response whose status is ``failed`` carries its error: raise it, classified."""
        if data.get("status") == "failed":
            error = data.get("error") or {"message": "the response failed"}
            raise error_from_status(200, {"error": error}, provider=self.system, model=self.model)

    def _parse(self, data: object) -> ModelResponse:
        try:
            if not isinstance(data, Mapping):
                raise TypeError("the body is not a JSON object")
            self._raise_failure(data)
            text: list[str] = []
            calls: list[ToolCall] = []
            thinking: list[Thinking] = []
            refused = False
            for item in data["output"]:
                kind = item.get("type")
                if kind == "message":
                    for part in item.get("content") or ():
                        if part.get("type") == "output_text":
                            text.append(str(part.get("text") or ""))
                        elif part.get("type") == "refusal":
                            refused = True
                            text.append(str(part.get("refusal") or ""))
                elif kind == "function_call":
                    calls.append(
                        ToolCall(
                            id=str(item["call_id"]),
                            name=str(item["name"]),
                            arguments=str(item.get("arguments") or "{}"),
                        )
                    )
                elif kind == "reasoning":
                    summary = "".join(str(s.get("text") or "") for s in item.get("summary") or ())
                    thinking.append(
                        Thinking(
                            text=summary,
                            signature=item.get("encrypted_content"),
                            id=item.get("id"),
                            provider=self.system,
                        )
                    )
            return ModelResponse(
                text="".join(text),
                tool_calls=tuple(calls),
                thinking=tuple(thinking),
                finish_reason=_finish(data, bool(calls), refused),
                usage=_usage(data.get("usage")),
                model=str(data.get("model") or self.model),
                provider_id=data.get("id"),
                system=self.system,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise MalformedResponseError(
                f"not a Responses API answer ({type(exc).__name__}: {exc}): {str(data)[:200]}",
                provider=self.system,
                model=self.model,
            ) from exc

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        responses = self.client.responses
        raw_api = getattr(responses, "with_raw_response", None)
        if raw_api is None:  # a duck-typed client: take its parsed objects
            return self._parse(as_dict(await responses.create(**self._payload(request))))
        raw = await raw_api.create(**self._payload(request))
        # An error object sent with a 200 ({"error": {...}}, no output) raises the error it names.
        return read_raw(
            raw, answer_key="output", parse=self._parse, model=self.model, system=self.system
        )

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[Delta, None]:
        stream = await self.client.responses.create(**self._payload(request), stream=True)
        calls: dict[int, int] = {}  # output index -> tool call index
        reasoning: dict[int, int] = {}  # output index -> thinking block index
        refused = False
        try:
            # A server that ignores stream=True answers with one JSON body: read it whole.
            whole = await sdk_whole_answer(stream, builder, answer_key="output", parse=self._parse)
            if whole is not None:
                for event in whole:
                    yield event
                return
            async for raw in stream:
                event = as_dict(raw)
                kind = event.get("type")
                if kind == "response.created":
                    created = event.get("response") or {}
                    builder.provider_id = created.get("id")
                    builder.model = str(created.get("model") or builder.model)
                elif kind == "response.output_item.added":
                    item, at = event.get("item") or {}, int(event.get("output_index", 0))
                    if item.get("type") == "function_call":
                        n = calls.setdefault(at, len(calls))
                        yield ToolCallDelta(index=n, id=item.get("call_id"), name=item.get("name"))
                    elif item.get("type") == "reasoning":
                        n = reasoning.setdefault(at, len(reasoning))
                        yield ThinkingDelta(index=n, id=item.get("id"))
                elif kind == "response.output_text.delta":
                    yield TextDelta(text=str(event.get("delta") or ""))
                elif kind == "response.refusal.delta":
                    refused = True
                    yield TextDelta(text=str(event.get("delta") or ""))
                elif kind == "response.function_call_arguments.delta":
                    n = calls.setdefault(int(event.get("output_index", 0)), len(calls))
                    yield ToolCallDelta(index=n, arguments=str(event.get("delta") or ""))
                elif kind == "response.reasoning_summary_text.delta":
                    n = reasoning.setdefault(int(event.get("output_index", 0)), len(reasoning))
                    yield ThinkingDelta(index=n, text=str(event.get("delta") or ""))
                elif kind == "response.output_item.done":
                    item, at = event.get("item") or {}, int(event.get("output_index", 0))
                    if item.get("type") == "reasoning" and item.get("encrypted_content"):
                        n = reasoning.setdefault(at, len(reasoning))
                        yield ThinkingDelta(index=n, signature=str(item["encrypted_content"]))
                elif kind in ("response.completed", "response.incomplete", "response.failed"):
                    final = event.get("response") or {}
                    self._raise_failure(final)
                    builder.usage = _usage(final.get("usage"))
                    builder.finish_reason = _finish(final, bool(calls), refused)
                elif kind == "error":
                    raise error_from_status(
                        200,
                        {"error": {"message": event.get("message"), "code": event.get("code")}},
                        provider=self.system,
                        model=self.model,
                    )
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await close()
