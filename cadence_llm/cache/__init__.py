"""Exact-match response caching, opt-in: the same request to the same model answers from a cache.

Wrap any model (an adapter, a fallback chain) in :class:`CachedModel` with a backend::

    from cadence_llm.cache import CachedModel, SQLiteResponseCache

    model = CachedModel(OpenAIModel("gpt-4o-mini"), SQLiteResponseCache("llm-cache.db"), ttl=3600)

The key is a SHA-256 of the whole normalized request — every message of the transcript, tools,
tool choice, response format, sampling options and ``extra`` — and of the model's identity
(provider, model name and the adapter settings that change answers). A tool-call turn is
therefore only ever returned for the very transcript that produced it. Backends: in memory (the
reference), SQLite (stdlib, one file shared by processes) and Redis (shared by workers); any
object with async ``get`` and ``set`` works, and :func:`check_response_cache` tests it.
"""

from __future__ import annotations

from ..models.base import model_identity
from ._conformance import check_response_cache
from ._memory import InMemoryResponseCache
from ._model import CachedModel, cache_key
from ._protocol import ResponseCache
from ._redis import RedisResponseCache
from ._sqlite import SQLiteResponseCache

__all__ = [
    "CachedModel",
    "InMemoryResponseCache",
    "RedisResponseCache",
    "ResponseCache",
    "SQLiteResponseCache",
    "cache_key",
    "check_response_cache",
    "model_identity",
]
