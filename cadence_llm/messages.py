"""Messages, requests, responses and stream events shared by every model adapter.

One vocabulary for every provider: a conversation is a list of :class:`Message` objects, a
call is a :class:`ModelRequest`, an answer is a :class:`ModelResponse`, and a streamed answer is
a sequence of :data:`StreamEvent` records ending in :class:`StreamDone`. Adapters translate to and
from each API shape, so code written against these types runs on any model.

Tool definitions (JSON-schema functions), tool-call parts and tool results are part of the
vocabulary from the start, so tool calling and structured output build on it without changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AssistantMessage",
    "FinishReason",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "ResponseFormat",
    "StreamDone",
    "StreamEvent",
    "StreamReset",
    "SystemMessage",
    "TextDelta",
    "Thinking",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "ToolMessage",
    "Usage",
    "UserMessage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "unknown"]
"""Why a model stopped; provider reasons are mapped onto these five."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ToolCall(_Frozen):
    """A model's request to run one tool.

    Args:
        id: The provider's call id; a tool result answers it by this id.
        name: The tool's name.
        arguments: The arguments as the model wrote them (a JSON text, possibly invalid).
    """

    id: str
    name: str
    arguments: str = "{}"


class Thinking(_Frozen):
    """A model's reasoning from an earlier turn, kept so it can be passed back unchanged.

    Claude with extended thinking requires the thinking blocks of a tool-using turn to come
    back on the next request, exactly as received; OpenAI's reasoning models likewise take their
    reasoning items back. Adapters send a block only to the provider that produced it.

    Args:
        text: The readable reasoning (may be empty or a summary).
        signature: The provider's opaque proof for the block (Anthropic ``signature``, OpenAI
            ``encrypted_content``).
        redacted: Opaque data of a block the provider redacted (Anthropic
            ``redacted_thinking``).
        provider: The provider that produced it (``"anthropic"``, ``"openai"``).
        id: The provider's id for the block, where it has one.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    provider: str = ""
    id: str | None = None


class SystemMessage(_Frozen):
    """Instructions for the model; providers that take one system prompt get them joined.

    ``cache=True`` marks a prompt-cache breakpoint after this message (Anthropic's
    ``cache_control``); providers that cache automatically ignore it.
    """

    role: Literal["system"] = "system"
    content: str
    cache: bool = False


class UserMessage(_Frozen):
    """A user's turn; ``cache=True`` marks a prompt-cache breakpoint after it."""

    role: Literal["user"] = "user"
    content: str
    cache: bool = False


class AssistantMessage(_Frozen):
    """A model's earlier turn: text, tool calls, or both, and the reasoning that led to them."""

    role: Literal["assistant"] = "assistant"
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: tuple[Thinking, ...] = ()
    cache: bool = False


class ToolMessage(_Frozen):
    """The result of one tool call, sent back to the model.

    Args:
        tool_call_id: The :attr:`ToolCall.id` this answers.
        content: The result as text (JSON for structured results).
        name: The tool's name (some providers want it).
        is_error: True when the tool failed and ``content`` describes the error.
        cache: Mark a prompt-cache breakpoint after this result.
    """

    role: Literal["tool"] = "tool"
    tool_call_id: str
    content: str
    name: str | None = None
    is_error: bool = False
    cache: bool = False


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]
"""Any message of a conversation, discriminated by ``role``."""


class ToolDefinition(_Frozen):
    """A function the model may call, described by a JSON schema of its parameters.

    ``cache=True`` marks a prompt-cache breakpoint after this tool (the tool list comes first in
    a prompt, so marking the last tool caches all of them).
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    cache: bool = False


_PydanticClass: TypeAlias = type[BaseModel]  # spelled here: the field ``type`` shadows the builtin


class ResponseFormat(_Frozen):
    """The shape the answer must take.

    ``type="text"`` is free text; ``"json"`` asks for any JSON object; ``"json_schema"`` asks for
    JSON matching ``schema`` (adapters use the provider's strongest mechanism: a JSON-schema
    response format, a grammar, or an instruction).

    Args:
        type: The kind of answer.
        schema: The JSON schema, for ``"json_schema"``.
        name: The schema's name (OpenAI shows it to the model).
        strict: Constrained decoding on OpenAI (``strict: true``). ``None`` lets the adapter
            decide: strict when the schema comes from a pydantic model (the SDK makes it
            strict-compatible) or already satisfies strict mode's rules.
        response_model: The pydantic model the schema came from, if any; adapters hand it to
            the provider SDK's own schema transform. Not part of the request's identity.
    """

    type: Literal["text", "json", "json_schema"] = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    name: str = "response"
    strict: bool | None = None
    response_model: _PydanticClass | None = Field(default=None, exclude=True, repr=False)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


_CHOICE_MODES = ("auto", "none", "required")


class ModelRequest(_Frozen):
    """One call to a model: the conversation plus options.

    Args:
        messages: The conversation so far, oldest first.
        tools: Functions the model may call.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or the name of one of ``tools``
            (anything else is refused when the request is built).
        response_format: The answer's required shape.
        temperature: Sampling temperature.
        max_tokens: Upper bound on generated tokens.
        stop: Sequences that end generation.
        seed: A sampling seed, where the provider honours one.
        extra: Provider-specific body fields, passed through unchanged.
    """

    messages: tuple[Message, ...]
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: str | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_tool_choice(self) -> ModelRequest:
        """A misspelt mode or an absent tool fails here, not as a provider's 400 later."""
        choice = self.tool_choice
        if choice is None or choice in _CHOICE_MODES:
            return self
        names = [t.name for t in self.tools]
        if choice not in names:
            raise ValueError(
                f"tool_choice must be 'auto', 'none', 'required' or the name of one of the "
                f"request's tools {names!r}, got {choice!r}"
            )
        return self

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, **options: Any) -> ModelRequest:
        """Build a request from a user prompt (and an optional system prompt)."""
        messages: list[Message] = []
        if system is not None:
            messages.append(SystemMessage(content=system))
        messages.append(UserMessage(content=prompt))
        return cls(messages=tuple(messages), **options)


class Usage(_Frozen):
    """Tokens a call consumed.

    ``cached_tokens`` is the part of ``input_tokens`` read from the provider's prompt cache and
    ``cache_write_tokens`` the part written to it (Anthropic bills both differently).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )

    def __radd__(self, other: object) -> Usage:
        # ``sum(usages)`` starts from 0.
        if other == 0:
            return self
        return NotImplemented


class ModelResponse(_Frozen):
    """A model's answer.

    Args:
        text: The generated text ("" when the model only called tools).
        tool_calls: Tools the model asked to run, in its order.
        finish_reason: Why generation stopped.
        usage: Tokens consumed.
        model: The model that answered, as the provider named it.
        provider_id: The provider's id for the response, for support tickets and logs.
        system: The provider (``"openai"``, ``"anthropic"``, ...).
        thinking: The model's reasoning blocks, to pass back on the next turn.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: tuple[Thinking, ...] = ()
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    provider_id: str | None = None
    system: str = ""

    def to_message(self) -> AssistantMessage:
        """The response as an assistant turn, to continue the conversation."""
        return AssistantMessage(
            content=self.text, tool_calls=self.tool_calls, thinking=self.thinking
        )


class TextDelta(_Frozen):
    """A piece of generated text."""

    type: Literal["text"] = "text"
    text: str


class ToolCallDelta(_Frozen):
    """A piece of a tool call; ``id`` and ``name`` arrive first, ``arguments`` in pieces."""

    type: Literal["tool_call"] = "tool_call"
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ThinkingDelta(_Frozen):
    """A piece of the model's reasoning block ``index``: text, its signature, or redacted data."""

    type: Literal["thinking"] = "thinking"
    index: int
    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    id: str | None = None


class StreamReset(_Frozen):
    """Discard everything streamed so far: a fallback chain restarts on another model."""

    type: Literal["reset"] = "reset"
    reason: str
    model: str


class StreamDone(_Frozen):
    """The stream finished; ``response`` holds the assembled answer with usage."""

    type: Literal["done"] = "done"
    response: ModelResponse


StreamEvent = Annotated[
    TextDelta | ToolCallDelta | ThinkingDelta | StreamReset | StreamDone,
    Field(discriminator="type"),
]
"""One event of a streamed answer; the last one of a complete stream is :class:`StreamDone`."""
