"""Retrieval pieces for ``recipes.rag``: the docs corpus, an FTS5 index and embedding vectors.

Kept apart from the pipeline so the recipe itself reads as a cadence. Everything here is stdlib
except :class:`LlamaEmbedder`, which needs ``llama-cpp-python`` (extra ``local``).

Embeddings: llama.cpp can embed with any GGUF, chat models included (mean-pooled hidden states,
``Llama(embedding=True, pooling_type=MEAN)``). A chat model is not trained for retrieval, so the
similarity is a rough semantic signal -- which is why the recipe pairs it with FTS5 keyword
search and fuses the two rankings. The default embedding model is SmolLM2-135M (the fastest
local GGUF: the whole docs corpus embeds in seconds and is cached); ``CADENCE_EMBED_MODEL``
picks another GGUF, e.g. a real embedding model. When no GGUF can embed, the documented
alternative is :class:`HashEmbedder`: hashed word and character-trigram counts, no model at all.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import math
import os
import re
import sqlite3
import sys
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parents[1]
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or the to what when "  # noqa: SIM905
    "where which who why with you your this that my me".split()
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One section of one file: the unit that is retrieved and cited."""

    id: int
    path: str
    heading: str
    text: str

    @property
    def label(self) -> str:
        """``docs/core.md § Sync``: how answers cite the chunk."""
        return f"{self.path} § {self.heading}"


def load_corpus(root: Path = ROOT) -> list[Chunk]:
    """Split ``README.md`` and ``docs/*.md`` into sections at headings (levels 1 to 3).

    ``docs/recipes.md`` is left out: it holds transcripts of earlier answers, and an answer
    should come from the documentation, not from a previous answer.
    """
    docs = [p for p in sorted((root / "docs").glob("*.md")) if p.name != "recipes.md"]
    files = [root / "README.md", *docs]
    chunks: list[Chunk] = []
    for path in files:
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        heading, fenced = rel, False
        lines: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            fenced ^= line.startswith("```")
            match = None if fenced else _HEADING.match(line)
            if match:
                _flush(chunks, rel, heading, lines)
                heading, lines = match.group(2).strip(), []
            else:
                lines.append(line)
        _flush(chunks, rel, heading, lines)
    return chunks


def _flush(chunks: list[Chunk], path: str, heading: str, lines: list[str]) -> None:
    text = "\n".join(lines).strip()
    if len(text) >= 40:
        chunks.append(Chunk(len(chunks), path, heading, text))


def terms(text: str) -> list[str]:
    """The query's content words, lower-cased, without stop words."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        word = word.strip(".-")
        if len(word) > 1 and word not in _STOP and word not in seen:
            seen.append(word)
    return seen


class KeywordIndex:
    """SQLite FTS5 over the chunks (stdlib ``sqlite3``), ranked by BM25."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        # Built in one thread, queried from the note's worker thread: the lock serializes use.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE VIRTUAL TABLE docs USING fts5(heading, body, tokenize=porter)")
        self._db.executemany(
            "INSERT INTO docs(rowid, heading, body) VALUES (?, ?, ?)",
            [(c.id, c.heading, c.text) for c in chunks],
        )

    def search(self, query: str, *, k: int = 4) -> list[int]:
        """Chunk ids best matching any of the query's words, best first."""
        words = terms(query)
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.0, 1.0) LIMIT ?",
                (match, k),
            ).fetchall()
        return [int(r[0]) for r in rows]


class Embedder(Protocol):
    """Turns texts into vectors; ``name`` keys the vector cache."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        ...


class HashEmbedder:
    """The model-free alternative: hashed word and character-trigram counts (2,048 buckets).

    Deterministic and instant; similar wording gives similar vectors, synonyms do not.
    """

    name = "hash-2048"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalized bag-of-features vector per text."""
        out = []
        for text in texts:
            vec = [0.0] * 2048
            low = text.lower()
            features = terms(low) + [low[i : i + 3] for i in range(max(len(low) - 2, 0))]
            for feature in features:
                vec[zlib.crc32(feature.encode()) % 2048] += 1.0
            out.append(_normalized(vec))
        return out


class LlamaEmbedder:
    """Mean-pooled embeddings from a local GGUF through llama.cpp.

    Args:
        model: A known weights name or a GGUF path (default ``$CADENCE_EMBED_MODEL`` or
            ``"smollm2"``).
    """

    def __init__(self, model: str | None = None) -> None:
        from cadence_llm.models.weights import resolve_weights

        spec = model or os.environ.get("CADENCE_EMBED_MODEL", "").strip() or "smollm2"
        self.path = resolve_weights(spec)
        self.name = f"llama:{self.path.name}:{self.path.stat().st_size}"
        self._llama: object | None = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (each truncated to the context), normalized to unit length."""
        import llama_cpp

        with self._lock:
            if self._llama is None:
                with _quiet_native_stderr():
                    self._llama = llama_cpp.Llama(
                        model_path=str(self.path),
                        embedding=True,
                        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                        n_ctx=512,
                        n_batch=512,
                        n_ubatch=512,
                        n_threads=os.cpu_count() or 2,
                        verbose=False,
                    )
            vectors = self._llama.embed(list(texts), normalize=True)  # type: ignore[attr-defined]
        return [list(map(float, v)) for v in vectors]


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while llama.cpp loads: it prints notes there even with
    ``verbose=False`` (e.g. about the pooling type), which would clutter the transcript."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured or replaced stderr
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _normalized(vec: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


def cache_path() -> Path:
    """Where chunk vectors are kept between runs (next to the assembled model weights)."""
    from cadence_llm.models.weights import cache_dir

    return cache_dir() / "rag-vectors.sqlite"


class VectorIndex:
    """Chunk vectors (computed once per chunk text and embedder, cached in SQLite) and search.

    Args:
        chunks: The corpus.
        embedder: Computes the vectors.
        cache: The SQLite cache file; ``None`` keeps vectors in memory only.
    """

    def __init__(
        self, chunks: Sequence[Chunk], embedder: Embedder, *, cache: Path | None = None
    ) -> None:
        self.chunks = list(chunks)
        self.embedder = embedder
        self.cache = cache
        self._vectors: list[list[float]] | None = None
        self._lock = threading.Lock()
        self.computed = 0  # vectors embedded (not read from the cache) by this index

    @staticmethod
    def _text(chunk: Chunk) -> str:
        # The heading and the start of a section say what it is about; the whole text would
        # cost several times more to embed for little gain in a rough semantic signal.
        return f"{chunk.heading}. {chunk.text[:360]}"

    def _load(self) -> list[list[float]]:
        texts = [self._text(c) for c in self.chunks]
        keys = [hashlib.sha256(f"{self.embedder.name}\0{t}".encode()).hexdigest() for t in texts]
        found: dict[str, list[float]] = {}
        db = None
        if self.cache is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.cache)
            db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, data BLOB)")
            for key, blob in db.execute("SELECT key, data FROM vec"):
                if key in keys:
                    found[key] = array.array("f", blob).tolist()
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self.embedder.embed([texts[i] for i in missing])
            self.computed += len(fresh)
            for i, vec in zip(missing, fresh, strict=True):
                found[keys[i]] = vec
            if db is not None:
                db.executemany(
                    "INSERT OR REPLACE INTO vec VALUES (?, ?)",
                    [(keys[i], array.array("f", found[keys[i]]).tobytes()) for i in missing],
                )
                db.commit()
        if db is not None:
            db.close()
        return [found[k] for k in keys]

    def vectors(self) -> list[list[float]]:
        """Every chunk's vector (embedding the ones not cached yet)."""
        with self._lock:
            if self._vectors is None:
                self._vectors = self._load()
            return self._vectors

    def search(self, query: str, *, k: int = 4) -> list[tuple[int, float]]:
        """``(chunk id, cosine similarity)`` of the ``k`` nearest chunks, nearest first."""
        vectors = self.vectors()
        (q,) = self.embedder.embed([query])
        scored = [
            (c.id, sum(a * b for a, b in zip(q, v, strict=False)))
            for c, v in zip(self.chunks, vectors, strict=True)
        ]
        scored.sort(key=lambda item: item[1], reverse=True)
        return scored[:k]
