"""The ``Model`` protocol and the base class every adapter builds on.

A model is anything with ``name``, ``system``, ``async complete(request)`` and
``stream(request)``: adapters, fakes and fallback chains alike. :class:`ModelAdapter` does what
all adapters share, so each provider module only translates: it normalizes every failure into
:mod:`cadence_llm.errors` (also those raised after a stream's first chunk), detects streams that
end without the model's finish signal, records usage, and opens a GenAI span.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol, Self, runtime_checkable

from cadence.budget import Hold, Spend

from .. import _otel
from .._budgeting import report_charge, reserve_request, settle_quietly, settle_request
from ..errors import TruncatedStreamError, normalize_error
from ..messages import (
    FinishReason,
    ModelRequest,
    ModelResponse,
    StreamDone,
    StreamEvent,
    TextDelta,
    Thinking,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ..usage import record_call

__all__ = [
    "Delta",
    "Model",
    "ModelAdapter",
    "ResponseBuilder",
    "as_request",
    "client_base_url",
    "model_identity",
    "response_deltas",
]

Delta = TextDelta | ToolCallDelta | ThinkingDelta
logger = logging.getLogger("cadence_llm.budget")
# Reports of cut-short streams handed to the event loop, kept here until they finish (the loop
# holds only weak references to its tasks).
_REPORTS: set[asyncio.Task[None]] = set()


def response_deltas(response: ModelResponse) -> list[Delta]:
    """A whole answer as the deltas a stream of it sends: its thinking, text and tool calls."""
    events: list[Delta] = [
        ThinkingDelta(index=n, text=t.text, signature=t.signature, redacted=t.redacted, id=t.id)
        for n, t in enumerate(response.thinking)
    ]
    if response.text:
        events.append(TextDelta(text=response.text))
    events.extend(
        ToolCallDelta(index=n, id=c.id, name=c.name, arguments=c.arguments)
        for n, c in enumerate(response.tool_calls)
    )
    return events


"""What an adapter's ``_stream`` yields: pieces of text, of tool calls and of reasoning."""


@runtime_checkable
class Model(Protocol):
    """What cadence needs from a model: one call, or one streamed call."""

    @property
    def name(self) -> str:
        """The model's name, as used in errors, attempts and spans."""
        ...

    @property
    def system(self) -> str:
        """The provider (``"openai"``, ``"anthropic"``, ``"local"``, ``"chain"``...)."""
        ...

    async def complete(self, request: ModelRequest | str) -> ModelResponse:
        """Answer ``request``; raise a :class:`~cadence_llm.errors.ModelError` on failure."""
        ...

    def stream(self, request: ModelRequest | str) -> AsyncIterator[StreamEvent]:
        """Answer ``request`` as events; the last one is :class:`StreamDone`."""
        ...


def as_request(request: ModelRequest | str) -> ModelRequest:
    """Accept a bare prompt where a request is expected."""
    if isinstance(request, str):
        return ModelRequest.of(request)
    return request


def model_identity(model: Model) -> dict[str, Any]:
    """What, besides the request, decides a model's answer: provider, name and settings.

    Uses the model's ``cache_identity()`` when it has one (the adapters and chains do),
    otherwise its ``system`` and ``name``. Response caches key on it.
    """
    identity = getattr(model, "cache_identity", None)
    if callable(identity):
        found: dict[str, Any] = identity()
        return found
    return {"system": model.system, "name": model.name}


def client_base_url(client: Any) -> str | None:
    """The API root an SDK client sends to (``None`` for a duck-typed client without one).

    Part of an adapter's cache identity: one model name behind two endpoints (a provider, a
    proxy, a compatible server) is two models.
    """
    url = getattr(client, "base_url", None)
    return None if url is None else str(url).rstrip("/")


class ResponseBuilder:
    """Assemble a :class:`ModelResponse` from stream deltas (and know how far a stream got)."""

    def __init__(self, *, model: str, system: str) -> None:
        self.model = model
        self.system = system
        self.provider_id: str | None = None
        self.finish_reason: FinishReason | None = None
        self.usage = Usage()
        self._text: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        self._thinking: dict[int, dict[str, str]] = {}  # index -> text/signature/redacted/id
        self.chunks = 0

    def add(self, event: Delta) -> None:
        """Fold one delta into the answer."""
        self.chunks += 1
        if isinstance(event, TextDelta):
            self._text.append(event.text)
            return
        if isinstance(event, ThinkingDelta):
            block = self._thinking.setdefault(event.index, {"text": ""})
            block["text"] += event.text
            for key in ("signature", "redacted", "id"):
                value = getattr(event, key)
                if value is not None:
                    block[key] = block.get(key, "") + value if key == "signature" else value
            return
        slot = self._calls.setdefault(event.index, ["", "", ""])
        if event.id:
            slot[0] = event.id
        if event.name:
            slot[1] = event.name
        slot[2] += event.arguments

    def response(self) -> ModelResponse:
        """The answer so far (the partial answer, if the stream has not finished)."""
        calls = tuple(
            ToolCall(id=i or f"call_{n}", name=nm, arguments=args or "{}")
            for n, (i, nm, args) in sorted(self._calls.items())
        )
        thinking = tuple(
            Thinking(provider=self.system, **block) for _, block in sorted(self._thinking.items())
        )
        return ModelResponse(
            text="".join(self._text),
            tool_calls=calls,
            thinking=thinking,
            finish_reason=self.finish_reason or "unknown",
            usage=self.usage,
            model=self.model,
            provider_id=self.provider_id,
            system=self.system,
        )


class ModelAdapter(abc.ABC):
    """Base of the provider adapters: subclasses implement ``_complete`` and ``_stream``.

    ``_stream`` yields text and tool-call deltas, updating the :class:`ResponseBuilder` it is
    given (finish reason, usage, ids); it must set ``builder.finish_reason`` only when the
    provider signalled the end, so a stream that just stops is reported as truncated.

    Args:
        model: The provider's model name.
    """

    system: str = "unknown"

    def __init__(self, model: str) -> None:
        if not model:
            raise ValueError(f"{type(self).__name__} needs a model name, e.g. model='...'")
        self.model = model

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    def cache_identity(self) -> dict[str, Any]:
        """The adapter, provider and model name; subclasses add settings that change answers."""
        return {"adapter": type(self).__name__, "system": self.system, "model": self.model}

    async def aclose(self) -> None:
        """Release connections or memory the adapter holds (nothing by default)."""
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @abc.abstractmethod
    async def _complete(self, request: ModelRequest) -> ModelResponse:
        """Call the provider once and translate its answer."""

    @abc.abstractmethod
    def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[Delta, None]:
        """Call the provider in streaming mode and translate each chunk."""

    def _normalize(
        self, exc: BaseException, span: object, partial: ModelResponse | None = None
    ) -> BaseException:
        """The error to raise for ``exc`` (a ModelError, or ``exc`` itself when it is a bug)."""
        err = normalize_error(exc, provider=self.system, model=self.model, partial=partial)
        _otel.end_span(span, None, err or exc)
        return exc if err is None else err

    async def complete(self, request: ModelRequest | str) -> ModelResponse:
        """Answer ``request``; every provider failure surfaces as a ``ModelError``."""
        req = as_request(request)
        holds = reserve_request(self.model, req)  # a run's budget refuses it before it is sent
        span = _otel.start_span(self.system, self.model, req, stream=False)
        started = time.perf_counter()
        try:
            with _otel.use_span(span):
                response = await self._complete(req)
        except asyncio.CancelledError:
            _otel.end_span(span, None, None)
            await settle_request(holds, self.model, None)
            raise
        except Exception as exc:
            await settle_request(holds, self.model, None)
            err = self._normalize(exc, span)
            if err is exc:
                raise
            raise err from exc
        _otel.end_span(span, response, None)
        record_call(response, time.perf_counter() - started, self.model)
        await settle_request(holds, self.model, response)
        return response

    async def stream(self, request: ModelRequest | str) -> AsyncIterator[StreamEvent]:
        """Answer ``request`` as events ending in :class:`StreamDone`.

        A failure after the first chunk is normalized like any other and carries the partial
        answer in ``.partial``; a stream that ends without the provider's finish signal raises
        :class:`~cadence_llm.errors.TruncatedStreamError`.
        """
        req = as_request(request)
        holds = reserve_request(self.model, req)
        builder = ResponseBuilder(model=self.model, system=self.system)
        span = _otel.start_span(self.system, self.model, req, stream=True)
        started = time.perf_counter()
        try:
            async with contextlib.aclosing(self._stream(req, builder)) as events:
                async for event in events:
                    builder.add(event)
                    yield event
        except (asyncio.CancelledError, GeneratorExit):
            _otel.end_span(span, None, None)
            # Settled at once (the totals are right whatever happens next), reported after.
            charge = settle_quietly(
                holds, self.model, builder.response() if builder.chunks else None
            )
            await _report_cut_short(holds, charge, self.model)
            raise
        except Exception as exc:
            await settle_request(holds, self.model, builder.response() if builder.chunks else None)
            err = self._normalize(exc, span, builder.response() if builder.chunks else None)
            if err is exc:
                raise
            raise err from exc
        response = builder.response()
        await settle_request(holds, self.model, response)
        if builder.finish_reason is None:
            err = TruncatedStreamError(
                f"the stream ended after {builder.chunks} chunks without a finish signal",
                provider=self.system,
                model=self.model,
                partial=response,
            )
            _otel.end_span(span, None, err)
            raise err
        _otel.end_span(span, response, None)
        record_call(response, time.perf_counter() - started, self.model)
        yield StreamDone(response=response)


async def _report_cut_short(holds: list[Hold] | None, charge: Spend, model: str) -> None:
    """Report the charge of a stream cut short (already settled) to the run's observers.

    Reached while the stream is cancelled or closed, so it must neither hide why the stream
    stopped nor suspend where nothing drives it. Inside a task (the consumer's, or the one
    asyncio's finaliser closes an abandoned stream in) awaiting works: the charge reaches
    ``on_spend``, ``spend.recorded`` and the timeline there and then, in order, as a completed
    call's does, and a hook that fails is logged instead of raised in place of the cancellation
    or close. Outside a task (a stream closed by hand from a callback) nothing may await: the
    report is handed to the running loop; without one it cannot be made, which is logged.
    """
    if not holds:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        logger.warning(
            "a stream from %r was cut short outside the event loop: its charge (%s) is counted "
            "in the budget but could not be reported to the run's hooks",
            model,
            charge,
        )
        return
    if asyncio.current_task(loop) is None:
        task = loop.create_task(report_charge(holds, charge))
        _REPORTS.add(task)
        task.add_done_callback(_reported)
        return
    try:
        await report_charge(holds, charge)
    except Exception:
        logger.exception("reporting the charge of a stream from %r cut short failed", model)


def _reported(task: asyncio.Task[None]) -> None:
    _REPORTS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("reporting the charge of a stream cut short failed", exc_info=task.exception())
