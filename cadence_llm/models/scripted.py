"""Models for tests: ``ScriptedModel`` replays answers, ``FunctionModel`` computes them.

Both are real models (they go through the same base as the provider adapters: error
normalization, usage ledgers, spans), so code under test cannot tell them from a provider. They
ship in the package so users' test suites need no network and no mocking library.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ..messages import (
    AssistantMessage,
    ModelRequest,
    ModelResponse,
    SystemMessage,
    TextDelta,
    ToolCallDelta,
    ToolMessage,
    Usage,
    UserMessage,
)
from .base import ModelAdapter, ResponseBuilder

__all__ = ["FailMidStream", "FunctionModel", "ScriptedModel"]


@dataclass(frozen=True, slots=True)
class FailMidStream:
    """A scripted answer that streams ``text`` and then fails with ``error``.

    ``complete()`` raises ``error`` straight away (a plain call has no partial answer).
    """

    text: str
    error: BaseException


Script: TypeAlias = ModelResponse | str | BaseException | FailMidStream


def _words(text: str) -> int:
    return len(text.split())


def _prompt_words(request: ModelRequest) -> int:
    total = 0
    for m in request.messages:
        if isinstance(m, SystemMessage | UserMessage | AssistantMessage | ToolMessage):
            total += _words(m.content)
    return total


def _chunks(text: str) -> list[str]:
    """Split text into word-sized chunks that join back to the original."""
    out: list[str] = []
    for word in text.split(" "):
        out.append(word if not out else " " + word)
    return [c for c in out if c]


class _Fake(ModelAdapter):
    """Shared plumbing: fill in usage (words as tokens) and stream responses word by word."""

    system = "test"

    def _finish(self, request: ModelRequest, response: ModelResponse | str) -> ModelResponse:
        if isinstance(response, str):
            response = ModelResponse(text=response)
        updates: dict[str, Any] = {}
        if not response.model:
            updates["model"] = self.model
        if not response.system:
            updates["system"] = self.system
        if response.usage == Usage():
            updates["usage"] = Usage(
                input_tokens=_prompt_words(request), output_tokens=_words(response.text)
            )
        if not response.tool_calls and response.finish_reason == "tool_calls":
            updates["finish_reason"] = "stop"
        return response.model_copy(update=updates) if updates else response

    async def _stream_response(
        self, response: ModelResponse, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        for piece in _chunks(response.text):
            yield TextDelta(text=piece)
            await asyncio.sleep(0)
        for n, call in enumerate(response.tool_calls):
            yield ToolCallDelta(index=n, id=call.id, name=call.name, arguments=call.arguments)
        builder.usage = response.usage
        builder.provider_id = response.provider_id
        builder.finish_reason = response.finish_reason


class ScriptedModel(_Fake):
    """Answers each call with the next scripted item, and records every request.

    Items: a ``str`` or :class:`ModelResponse` is returned; an exception is raised (ModelErrors as
    they are, so tests can script rate limits and overloads); a :class:`FailMidStream` streams
    text and then fails. Usage, when not scripted, counts words as tokens.

    Args:
        script: The answers, in order.
        name: The model name reported in responses, errors and chain attempts.
        repeat: Start the script again when it runs out instead of failing.
    """

    def __init__(
        self, script: Sequence[Script], *, name: str = "scripted", repeat: bool = False
    ) -> None:
        super().__init__(name)
        if not script:
            raise ValueError("ScriptedModel needs at least one scripted answer")
        self.script = list(script)
        self.repeat = repeat
        self.requests: list[ModelRequest] = []

    @property
    def calls(self) -> int:
        """How many calls the model received."""
        return len(self.requests)

    def _next(self, request: ModelRequest) -> Script:
        n = len(self.requests)
        self.requests.append(request)
        if n >= len(self.script):
            if not self.repeat:
                raise AssertionError(
                    f"ScriptedModel {self.model!r} got call {n + 1} but has only "
                    f"{len(self.script)} scripted answers; add answers or pass repeat=True"
                )
            n %= len(self.script)
        return self.script[n]

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        item = self._next(request)
        if isinstance(item, FailMidStream):
            raise item.error
        if isinstance(item, BaseException):
            raise item
        return self._finish(request, item)

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        item = self._next(request)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, FailMidStream):
            for piece in _chunks(item.text):
                yield TextDelta(text=piece)
                await asyncio.sleep(0)
            raise item.error
        async for event in self._stream_response(self._finish(request, item), builder):
            yield event


FunctionResult: TypeAlias = ModelResponse | str
ModelFunction: TypeAlias = Callable[[ModelRequest], FunctionResult | Awaitable[FunctionResult]]
StreamFunction: TypeAlias = Callable[[ModelRequest], AsyncIterator[str | TextDelta | ToolCallDelta]]


class FunctionModel(_Fake):
    """A model whose answers come from your function (sync or async).

    Args:
        function: ``function(request) -> str | ModelResponse``; may raise model errors.
        stream_function: Optional ``async`` generator of text pieces or deltas for
            ``stream()``; without it the function's answer is streamed word by word.
        name: The model name reported in responses, errors and chain attempts.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        stream_function: StreamFunction | None = None,
        name: str = "function",
    ) -> None:
        super().__init__(name)
        if not callable(function):
            raise TypeError(f"FunctionModel needs a callable, got {function!r}")
        self.function = function
        self.stream_function = stream_function

    async def _call(self, request: ModelRequest) -> ModelResponse:
        result = self.function(request)
        if inspect.isawaitable(result):
            result = await result
        return self._finish(request, result)

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        return await self._call(request)

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        if self.stream_function is None:
            async for event in self._stream_response(await self._call(request), builder):
                yield event
            return
        async for piece in self.stream_function(request):
            yield TextDelta(text=piece) if isinstance(piece, str) else piece
        partial = builder.response()
        builder.usage = Usage(
            input_tokens=_prompt_words(request), output_tokens=_words(partial.text)
        )
        builder.finish_reason = "tool_calls" if partial.tool_calls else "stop"
