"""``CachedModel``: any model, answering repeated requests from a :class:`ResponseCache`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic_core import PydanticSerializationError

from ..messages import (
    ModelRequest,
    ModelResponse,
    StreamDone,
    StreamEvent,
    Usage,
)
from ..models.base import Model, as_request, model_identity, response_deltas
from ._protocol import ResponseCache

__all__ = ["CachedModel", "cache_key"]

logger = logging.getLogger("cadence_llm.cache")

_KEY_VERSION = 1


def cache_key(model: Model, request: ModelRequest | str) -> str:
    """The SHA-256 of the model's identity and the whole normalized request.

    A built ``llama_cpp.LlamaGrammar`` in ``extra`` keys by its GBNF source (as the text it was
    built from does), so requests with different grammars never share an answer.

    Raises:
        TypeError: a value in ``extra`` has no JSON form, so the request cannot be keyed
            (:class:`CachedModel` then calls the model without the cache).
    """
    req = as_request(request)
    try:
        keyed = req.model_copy(update={"extra": _keyable(req.extra)}) if req.extra else req
        dumped = keyed.model_dump(mode="json")
    except PydanticSerializationError as exc:
        raise TypeError(
            f"the request cannot be cached: its extra holds a value with no JSON form ({exc}); "
            "pass it as JSON data (text, numbers, lists, dicts)"
        ) from None
    payload = {"v": _KEY_VERSION, "model": model_identity(model), "request": dumped}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _keyable(value: Any) -> Any:
    """``value`` with every built grammar replaced by its GBNF source text."""
    if isinstance(value, dict):
        return {k: _keyable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_keyable(v) for v in value]
    source = getattr(value, "_grammar", None)  # llama_cpp.LlamaGrammar keeps its source here
    if isinstance(source, str) and type(value).__name__ == "LlamaGrammar":
        return source
    return value


class _Flight:
    """A miss being answered: identical requests arriving meanwhile wait for its answer."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.answer: ModelResponse | None = None  # set when the answer is one the cache keeps


def _cacheable(response: ModelResponse) -> bool:
    """Finished answers: stopped, asking for tools, or cut at max_tokens (deterministic)."""
    return response.finish_reason in ("stop", "tool_calls", "length")


class CachedModel:
    """``model`` behind an exact-match cache; itself a model (usable in chains and agents).

    A hit returns the stored answer with zero usage (no tokens were spent) and makes no call;
    a stream replays it as events. A miss calls the model and stores what ``cache_if``
    accepts. A failing cache backend is logged and treated as a miss: it never fails a call.

    Identical ``complete()`` calls made while one of them is calling the model wait for it
    and share its answer as a hit, so a burst of one request costs one call, not one each. If
    that call fails, or gives an answer ``cache_if`` refuses, each waiting call makes its own
    (errors are never shared). This is per process and per event loop; streams always call.

    Args:
        model: The model to cache.
        cache: The backend (:class:`InMemoryResponseCache`, :class:`SQLiteResponseCache`,
            :class:`RedisResponseCache` or your own).
        ttl: Seconds an answer stays valid (None: until the backend evicts it).
        cache_if: Which answers to store (default: finish reason stop, tool_calls or length).
    """

    def __init__(
        self,
        model: Model,
        cache: ResponseCache,
        *,
        ttl: float | None = None,
        cache_if: Callable[[ModelResponse], bool] = _cacheable,
    ) -> None:
        if not isinstance(model, Model):
            raise TypeError(
                f"{model!r} is not a model: it needs name, system, complete(), stream()"
            )
        if not isinstance(cache, ResponseCache):
            raise TypeError(f"{cache!r} is not a response cache: it needs async get() and set()")
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int | float):
                raise TypeError(f"ttl must be a number of seconds or None, got {ttl!r}")
            if not math.isfinite(ttl) or ttl <= 0:
                raise ValueError(f"ttl must be a finite number of seconds > 0 or None, got {ttl!r}")
        self.model = model
        self.cache = cache
        self.ttl = ttl
        self.cache_if = cache_if
        self.hits = 0
        self.misses = 0
        # Misses being answered, by event loop and key (an asyncio.Event serves one loop).
        self._flights: dict[tuple[asyncio.AbstractEventLoop, str], _Flight] = {}

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.model.name

    @property
    def system(self) -> str:
        """The wrapped model's provider."""
        return self.model.system

    def __repr__(self) -> str:
        return f"CachedModel({self.model!r}, {self.cache!r})"

    def cache_identity(self) -> dict[str, Any]:
        """The wrapped model's identity (a cache of a cache keys like the model itself)."""
        return model_identity(self.model)

    async def _lookup(self, key: str) -> ModelResponse | None:
        try:
            text = await self.cache.get(key)
        except Exception:
            logger.warning(
                "response cache %r failed on get; calling the model", self.cache, exc_info=True
            )
            return None
        if text is None:
            self.misses += 1
            return None
        try:
            response = ModelResponse.model_validate_json(text)
        except ValueError:
            logger.warning("response cache %r holds an unreadable entry; ignoring it", self.cache)
            self.misses += 1
            return None
        self.hits += 1
        return response.model_copy(update={"usage": Usage()})

    async def _store(self, key: str, response: ModelResponse) -> bool:
        """Store ``response`` if ``cache_if`` accepts it; return whether it did."""
        if not self.cache_if(response):
            return False
        try:
            await self.cache.set(key, response.model_dump_json(), self.ttl)
        except Exception:
            logger.warning(
                "response cache %r failed on set; answer not cached", self.cache, exc_info=True
            )
        return True

    def _key(self, request: ModelRequest) -> str | None:
        """The request's key, or None (logged) when it cannot be keyed: then it is not cached."""
        try:
            return cache_key(self.model, request)
        except TypeError as exc:
            logger.warning("%s; calling %r without %r", exc, self.model, self.cache)
            return None

    async def complete(self, request: ModelRequest | str) -> ModelResponse:
        """The cached answer to ``request``, or the model's (then cached)."""
        req = as_request(request)
        key = self._key(req)
        if key is None:
            return await self.model.complete(req)
        slot = (asyncio.get_running_loop(), key)
        leading = self._flights.get(slot)
        if leading is not None:
            await leading.done.wait()
            if leading.answer is not None:
                self.hits += 1
                return leading.answer
            return await self._answer(key, req, None)  # it failed: call for ourselves
        # Registered before the lookup: a backend read suspends, and identical calls arriving
        # during it must find this one rather than all missing together.
        flight = self._flights[slot] = _Flight()
        try:
            return await self._answer(key, req, flight)
        finally:
            flight.done.set()
            if self._flights.get(slot) is flight:
                del self._flights[slot]

    async def _answer(self, key: str, req: ModelRequest, flight: _Flight | None) -> ModelResponse:
        """The cached answer or the model's (stored), shared with ``flight``'s waiters."""
        hit = await self._lookup(key)
        if hit is not None:
            if flight is not None:
                flight.answer = hit
            return hit
        response = await self.model.complete(req)
        if await self._store(key, response) and flight is not None:
            flight.answer = response.model_copy(update={"usage": Usage()})
        return response

    async def stream(self, request: ModelRequest | str) -> AsyncIterator[StreamEvent]:
        """Replay a cached answer as events, or stream the model's and cache it when done."""
        req = as_request(request)
        key = self._key(req)
        hit = None if key is None else await self._lookup(key)
        if hit is not None:
            for event in _replay(hit):
                yield event
            return
        events = self.model.stream(req)
        try:
            async for event in events:
                if key is not None and isinstance(event, StreamDone):
                    await self._store(key, event.response)
                yield event
        finally:
            # A consumer that stops early ends the model's stream (its connection, its budget
            # reservation) now, not whenever the garbage collector finalizes it.
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()


def _replay(response: ModelResponse) -> list[StreamEvent]:
    """A cached answer as the events a stream would have sent."""
    return [*response_deltas(response), StreamDone(response=response)]
