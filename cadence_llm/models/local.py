"""``LocalModel``: a GGUF model run in-process by ``llama-cpp-python``.

No server, no network: useful for tests, offline work and cheap constrained tasks. Decoding can
be constrained by a GBNF grammar (``ModelRequest.extra["grammar"]`` or the model's default) or by
a JSON schema (``ResponseFormat``), so the output always parses. llama.cpp is not thread-safe
and blocks while generating, so calls run one at a time in a worker thread and never block the
event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from .._optional import require
from ..errors import ContextWindowExceededError
from ..messages import ModelRequest, ModelResponse, TextDelta, ToolCallDelta, Usage
from ._chat_format import ChunkReader, build_payload, parse_completion
from .base import ModelAdapter, ResponseBuilder

__all__ = ["LocalModel"]


def _grammar_text(grammar: Any) -> str | None:
    """A grammar as text: GBNF as given, a built ``LlamaGrammar`` by the source it keeps."""
    if grammar is None or isinstance(grammar, str):
        return grammar
    text = getattr(grammar, "_grammar", None)
    return text if isinstance(text, str) else repr(grammar)


_CONTEXT = re.compile(r"exceed context window|context window|n_ctx", re.IGNORECASE)
_DONE = object()


class LocalModel(ModelAdapter):
    """A local GGUF model through ``llama-cpp-python`` (extra ``local``).

    Args:
        model: A known weights name (``"smollm2"``, ``"qwen2.5-coder-0.5b"``) or a GGUF path.
        name: The name reported in responses (defaults to the weights name or file stem).
        n_ctx: Context window in tokens (prompt and answer together; the code-generation
            prompt alone takes about 2,000 tokens of a small model's vocabulary).
        n_threads: CPU threads (defaults to llama.cpp's choice).
        chat_format: llama.cpp chat format; None uses the template stored in the GGUF.
        grammar: A GBNF grammar applied to every call without its own.
        sha256: Refuse a user-supplied file whose hash differs.
        seed: Sampling seed, for repeatable tests.
        llama: An already-built ``llama_cpp.Llama`` to use instead of loading ``model``.
    """

    system = "local"

    def __init__(
        self,
        model: str | os.PathLike[str] = "smollm2",
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        chat_format: str | None = None,
        grammar: str | None = None,
        sha256: str | None = None,
        seed: int = 0,
        llama: Any = None,
    ) -> None:
        label = name or (str(model) if "/" not in str(model) else os.path.basename(str(model)))
        super().__init__(label.removesuffix(".gguf"))
        self._llama_cpp = require("llama_cpp", "local")
        # Imported here so `python -m cadence_llm.models.weights` runs without a double import.
        from .weights import resolve_weights

        self.path = None if llama is not None else resolve_weights(model, sha256=sha256)
        self._source = None if llama is not None else str(model)
        self._sha256 = sha256
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.grammar = grammar
        self.seed = seed
        self._llama = llama
        self._lock = threading.Lock()  # llama.cpp contexts are not thread-safe

    def cache_identity(self) -> dict[str, Any]:
        """The base identity plus the weights and every setting that shapes decoding.

        Known weights are named by their pinned hash, so a persistent cache stays valid on a
        machine that assembles them elsewhere; your own file by its hash when given, otherwise
        by its absolute path (two files with one name are two models).
        """
        return {
            **super().cache_identity(),
            "weights": self._weights_identity(),
            "chat_format": self.chat_format,
            "grammar": _grammar_text(self.grammar),
            "seed": self.seed,
        }

    def _weights_identity(self) -> str | None:
        from .weights import KNOWN_WEIGHTS

        if self._source is not None:
            spec = KNOWN_WEIGHTS.get(self._source)
            if spec is not None:
                return f"sha256:{spec.sha256}"
        if self._sha256:
            return f"sha256:{self._sha256.lower()}"
        path = self.path
        if path is None:  # a Llama passed in: the file it was loaded from, when it says
            path = getattr(self._llama, "model_path", None)
        return None if path is None else os.path.abspath(os.fspath(path))

    async def aclose(self) -> None:
        """Free the model's memory; the next call loads it again."""
        with self._lock:
            if self._llama is not None and self.path is not None:
                self._llama.close()
                self._llama = None

    def _get_llama(self) -> Any:
        if self._llama is None:
            self._llama = self._llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                chat_format=self.chat_format,
                seed=self.seed,
                verbose=False,
            )
        return self._llama

    def _kwargs(self, request: ModelRequest) -> dict[str, Any]:
        body = build_payload(request, self.model, schema_style="json_object", include_extra=False)
        body.pop("model")
        extra = dict(request.extra)
        grammar = extra.pop("grammar", None) or self.grammar
        if grammar is not None:
            body["grammar"] = (
                self._llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
                if isinstance(grammar, str)
                else grammar
            )
        body.setdefault("seed", self.seed)
        body.update(extra)
        return body

    def _translate(self, exc: ValueError) -> Exception:
        if _CONTEXT.search(str(exc)):
            return ContextWindowExceededError(str(exc), provider=self.system, model=self.model)
        return exc

    def _run(self, request: ModelRequest) -> Any:
        with self._lock:
            try:
                return self._get_llama().create_chat_completion(**self._kwargs(request))
            except ValueError as exc:
                raise self._translate(exc) from exc

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        data = await asyncio.to_thread(self._run, request)
        response = parse_completion(data, model=self.model, system=self.system)
        return response.model_copy(update={"model": self.model})

    def _produce(
        self,
        request: ModelRequest,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[Any],
        stop: threading.Event,
    ) -> None:
        """Run the stream in a worker thread, handing chunks to the event loop's queue."""
        try:
            with self._lock:
                chunks: Iterator[Any] = self._get_llama().create_chat_completion(
                    **self._kwargs(request), stream=True
                )
                for chunk in chunks:
                    if stop.is_set():  # the consumer went away: stop generating
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)
        except ValueError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, self._translate(exc))
        except Exception as exc:
            loop.call_soon_threadsafe(queue.put_nowait, exc)

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        worker = loop.run_in_executor(None, self._produce, request, loop, queue, stop)
        reader = ChunkReader(builder)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                for event in reader.feed(item):
                    yield event
            builder.model = self.model
            if builder.usage == Usage():
                # llama-cpp-python's streams carry no usage: count the output tokens ourselves.
                text = builder.response().text.encode()
                tokens = self._get_llama().tokenize(text, add_bos=False, special=True)
                builder.usage = Usage(output_tokens=len(tokens))
        finally:
            stop.set()
            await asyncio.shield(worker)
