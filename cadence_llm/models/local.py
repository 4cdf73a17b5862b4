"""``LocalModel``: a GGUF model run in-process by ``llama-cpp-python``.

No server, no network: useful for tests, offline work and cheap constrained tasks. Decoding can
be constrained by a GBNF grammar (``ModelRequest.extra["grammar"]`` or the model's default) or by
a JSON schema (``ResponseFormat``), so the output always parses. llama.cpp is not thread-safe
and blocks while generating, so calls run one at a time in a worker thread and never block the
event loop; a call waiting for its turn holds no thread, and a cancelled one stops generating
at its next token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import tempfile
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from typing import Any

from .._optional import require
from ..errors import BadRequestError, ContextWindowExceededError
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
_STDERR = threading.Lock()  # one capture of file descriptor 2 at a time


@contextlib.contextmanager
def _scratch_fd() -> Iterator[int]:
    """A file descriptor to catch output in: an anonymous in-memory file where the system has
    one (Linux: no file is opened, so nothing touches the filesystem), else a temporary file."""
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None:
        fd = memfd("cadence-llama-stderr")
        try:
            yield fd
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryFile() as tmp:
        yield tmp.fileno()


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def _stderr_text() -> Iterator[list[str]]:
    """Catch what C code writes to stderr meanwhile (llama.cpp prints grammar errors there),
    then write it out again, so nothing another thread printed is lost."""
    caught: list[str] = []
    with _STDERR, _scratch_fd() as scratch:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (a detached process): nothing to read
            yield caught
            return
        try:
            os.dup2(scratch, 2)
            yield caught
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            data = _read_all(scratch)
            if data:
                os.write(2, data)
            caught.append(data.decode(errors="replace"))


@functools.lru_cache(maxsize=256)
def _grammar_problem(text: str, root: str = "root") -> str | None:
    """Why llama.cpp refuses a GBNF grammar, or None when it parses.

    llama-cpp-python 0.3 hands a grammar to llama.cpp unchecked, and llama.cpp's sampler for
    one that does not parse is a null pointer: the first token sampled with it kills the whole
    process (SIGSEGV). Parsing needs no model, so it is done here first.
    """
    llama_cpp = require("llama_cpp", "local")
    with _stderr_text() as caught:
        sampler = llama_cpp.llama_sampler_init_grammar(None, text.encode(), root.encode())
    if sampler:
        llama_cpp.llama_sampler_free(sampler)
        return None
    said = re.search(r"error parsing grammar: (.*)", "".join(caught))
    if said:
        reason = said.group(1).strip()
    elif not re.search(rf"(?m)^\s*{re.escape(root)}\s*::=", text):
        reason = f"it has no {root!r} rule, where decoding starts ({root} ::= ...)"
    else:
        reason = 'llama.cpp refused it (it supports no left recursion, as in a ::= a "x")'
    first = text.strip().splitlines()[0][:80] if text.strip() else ""
    return f"the GBNF grammar {first!r}... does not parse: {reason}"


def _schema_problem(schema: object) -> str | None:
    """Why the grammar llama-cpp-python makes of a JSON schema would crash llama.cpp, or None.

    Its converter turns a schema that admits no value (``"enum": []``, ``"anyOf": []``) into a
    rule with no body, which llama.cpp cannot parse (and so crashes on, as above).
    """
    text = json.dumps(schema, sort_keys=True)
    return _schema_text_problem(text)


@functools.lru_cache(maxsize=256)
def _schema_text_problem(text: str) -> str | None:
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        grammar = LlamaGrammar.from_json_schema(text, verbose=False)
    except Exception:
        return None  # llama-cpp-python then falls back to any JSON, which parses
    problem = _grammar_problem(grammar._grammar)
    if problem is None:
        return None
    return (
        "the JSON schema becomes a grammar llama.cpp cannot use (a schema that admits no value, "
        f"such as an empty enum or anyOf?): {problem}"
    )


def _grammar_source(grammar: Any) -> tuple[str, str] | None:
    """(GBNF text, root rule) of a grammar given as text or as a built ``LlamaGrammar``."""
    if isinstance(grammar, str):
        return grammar, "root"
    text = getattr(grammar, "_grammar", None)
    return (text, str(getattr(grammar, "_root", "root"))) if isinstance(text, str) else None


class _Counts:
    """What the guarded ``generate`` saw: the prompt's length in tokens."""

    prompt_tokens = 0


@contextlib.contextmanager
def _guarded(llama: Any, stop: threading.Event, counts: _Counts) -> Iterator[None]:
    """Watch one call on ``llama`` token by token: end it at its next token once ``stop`` is
    set, count its prompt, and keep it inside the context window.

    llama-cpp-python offers no way to interrupt a chat completion: it runs ``Llama.generate``
    to the end (its logits processors run inside llama.cpp, where raising does nothing). Its
    completion loop calls ``self.generate``, so an instance attribute wraps it for the call.

    The window: llama.cpp rounds ``n_ctx`` up (to a multiple of 256) and llama-cpp-python
    checks prompts against that, but sizes its token buffer by the ``n_ctx`` asked for, so a
    prompt or answer between the two failed with numpy's "could not broadcast input array".
    """
    original: Callable[..., Iterator[int]] | None = getattr(llama, "generate", None)
    if original is None:  # a stand-in without generate (tests): nothing to watch
        yield
        return
    buffer = getattr(llama, "input_ids", None)
    window = len(buffer) if buffer is not None else None

    def generate(*args: Any, **kwargs: Any) -> Iterator[int]:
        tokens = args[0] if args else kwargs.get("tokens", ())
        counts.prompt_tokens = len(tokens)
        room = None if window is None else window - len(tokens)
        if room is not None and room <= 0:  # llama-cpp-python's own words, for _translate
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {window}")
        inner = original(*args, **kwargs)
        try:
            for made, token in enumerate(inner, 1):
                if stop.is_set():
                    return
                yield token
                if room is not None and made >= room:  # the window is full: "length"
                    return
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()

    had = "generate" in getattr(llama, "__dict__", {})
    llama.generate = generate
    try:
        yield
    finally:
        if had:
            llama.generate = original
        else:
            del llama.generate


class LocalModel(ModelAdapter):
    """A local GGUF model through ``llama-cpp-python`` (extra ``local``).

    Args:
        model: A known weights name (``"smollm2"``, ``"qwen2.5-coder-0.5b"``) or a GGUF path.
        name: The name reported in responses (defaults to the weights name or file stem).
        n_ctx: Context window in tokens (prompt and answer together; the code-generation
            prompt alone takes about 2,000 tokens of a small model's vocabulary).
        n_threads: CPU threads (defaults to llama.cpp's choice).
        chat_format: llama.cpp chat format; None uses the template stored in the GGUF.
        grammar: A GBNF grammar applied to every call without its own (checked here: one
            llama.cpp cannot parse is a ``ValueError`` saying why).
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

        source = _grammar_source(grammar) if grammar is not None else None
        problem = None if source is None else _grammar_problem(*source)
        if problem:
            raise ValueError(f"LocalModel(grammar=...): {problem}")
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
        # Calls wait for their turn here, on their event loop, not in a thread blocked on the
        # lock: a queue of calls would otherwise fill the loop's default executor, stalling
        # every other to_thread job (sync notes, DNS lookups) until the queue drained.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

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
        turn = await self._turn()  # after the running call, without blocking the loop
        try:
            with self._lock:
                if self._llama is not None and self.path is not None:
                    self._llama.close()
                    self._llama = None
        finally:
            turn.release()

    def _get_llama(self) -> Any:
        if self._llama is None:
            try:
                self._llama = self._llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    chat_format=self.chat_format,
                    seed=self.seed,
                    verbose=False,
                )
            except ValueError as exc:  # "Failed to load model from file: ..."
                from .weights import WeightsError

                raise WeightsError(
                    f"llama.cpp could not load {self.path} ({exc}): the file is cut short or "
                    "damaged, or holds a model this llama.cpp cannot run; check it against its "
                    "published SHA-256 (LocalModel(path, sha256=...)) or get it again"
                ) from exc
        return self._llama

    async def _turn(self) -> asyncio.Lock:
        """Wait, on the running loop, until no other call of this model runs; the caller
        releases the lock returned."""
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        await turn.acquire()
        return turn

    async def _start(self, work: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``work`` in a worker thread when it is this call's turn.

        The turn passes on when the thread ends, not when the caller stops waiting: a
        cancelled call's thread runs on to its next token, and the next call must not start
        beside it.
        """
        turn = await self._turn()
        try:
            worker = asyncio.get_running_loop().run_in_executor(None, work, *args)
        except BaseException:
            turn.release()
            raise

        def done(future: asyncio.Future[Any]) -> None:
            turn.release()
            if not future.cancelled():
                future.exception()  # retrieved: an abandoned call's failure is not logged

        worker.add_done_callback(done)
        return worker

    def _kwargs(self, request: ModelRequest) -> dict[str, Any]:
        """The call's arguments, its grammars checked first (one llama.cpp cannot parse would
        crash the process): a bad one is a ``BadRequestError`` saying why."""
        body = build_payload(request, self.model, schema_style="json_object", include_extra=False)
        body.pop("model")
        extra = dict(request.extra)
        grammar = extra.pop("grammar", None) or self.grammar
        source = None if grammar is None else _grammar_source(grammar)
        problem = None if source is None else _grammar_problem(*source)
        for schema in _schemas({**body, **extra}):
            problem = problem or _schema_problem(schema)
        if problem:
            raise BadRequestError(problem, provider=self.system, model=self.model)
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

    def _run(self, kwargs: dict[str, Any], stop: threading.Event) -> Any:
        with self._lock:
            if stop.is_set():  # cancelled while another event loop's call ran
                return None
            llama = self._get_llama()
            try:
                with _guarded(llama, stop, _Counts()):
                    return llama.create_chat_completion(**kwargs)
            except ValueError as exc:
                raise self._translate(exc) from exc

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        stop = threading.Event()
        worker = await self._start(self._run, self._kwargs(request), stop)
        try:
            data = await asyncio.shield(worker)
        except asyncio.CancelledError:
            stop.set()  # the thread ends at its next token; what it made is dropped
            raise
        response = parse_completion(data, model=self.model, system=self.system)
        return response.model_copy(update={"model": self.model})

    def _produce(
        self,
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[Any],
        stop: threading.Event,
    ) -> None:
        """Run the stream in a worker thread, handing chunks to the event loop's queue."""

        def send(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        try:
            with self._lock:
                if stop.is_set():
                    return
                llama = self._get_llama()
                counts = _Counts()
                text: list[str] = []
                with _guarded(llama, stop, counts):
                    chunks: Iterator[Any] = llama.create_chat_completion(**kwargs, stream=True)
                    try:
                        for chunk in chunks:
                            if stop.is_set():  # the consumer went away: stop generating
                                break
                            text.extend(_content(chunk))
                            send(chunk)
                    finally:
                        # Closed here, under the lock: closing runs llama's own clean-up.
                        close = getattr(chunks, "close", None)
                        if close is not None:
                            close()
                if stop.is_set():
                    return
                # llama-cpp-python's streams carry no usage: count the tokens ourselves.
                output = llama.tokenize("".join(text).encode(), add_bos=False, special=True)
                usage = Usage(input_tokens=counts.prompt_tokens, output_tokens=len(output))
            send((_DONE, usage))
        except ValueError as exc:
            send(self._translate(exc))
        except Exception as exc:
            send(exc)

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[TextDelta | ToolCallDelta, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        worker = await self._start(self._produce, self._kwargs(request), loop, queue, stop)
        reader = ChunkReader(builder)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, tuple) and item[0] is _DONE:
                    if builder.usage == Usage():
                        builder.usage = item[1]
                    break
                if isinstance(item, BaseException):
                    raise item
                for event in reader.feed(item):
                    yield event
            builder.model = self.model
        finally:
            stop.set()
            await asyncio.shield(worker)


def _content(chunk: object) -> Iterator[str]:
    """The text a stream chunk adds."""
    if not isinstance(chunk, Mapping):
        return
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, Mapping) else None
        content = delta.get("content") if isinstance(delta, Mapping) else None
        if isinstance(content, str):
            yield content


def _schemas(body: Mapping[str, Any]) -> Iterator[object]:
    """The JSON schemas llama-cpp-python turns into grammars: the response format's and a
    named tool choice's parameters."""
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_object" and "schema" in fmt:
        yield fmt["schema"]
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        for tool in body.get("tools") or ():
            function = tool.get("function") or {} if isinstance(tool, Mapping) else {}
            if function.get("name") == name and "parameters" in function:
                yield function["parameters"]
