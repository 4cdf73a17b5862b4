"""Question answering over cadence's own docs: two retrievers in a ``.sync``, fused, then an
answer from a fallback chain that cites the files it used.

What it shows:

- ``.sync("retrieve", [keyword_search, vector_search])``: SQLite FTS5 (BM25 over ``README.md``
  and ``docs/*.md``, stdlib only) and embedding similarity (vectors computed by a local GGUF
  through llama.cpp, cached between runs) run at the same time, each on an isolated view of the
  score. Both append to ``score.hits``; the merge after the group concatenates the two lists.
- ``fuse``: reciprocal-rank fusion of the two rankings picks the three sections to read.
- ``answer``: an ``llm_note`` whose model is a ``FallbackChain`` (the chosen model, then
  SmolLM2); the chain refuses an empty answer, so a model that says nothing is replaced.
- ``cite``: the answer keeps the ``[n]`` markers the model wrote and ends with the files behind
  them (all files read, when the model cited none).

Run: ``python -m recipes.rag "How do I resume a crashed run?"`` (``CADENCE_MODEL`` picks the
model; see ``recipes/_models.py``; ``CADENCE_EMBED_MODEL`` the embedding GGUF).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence import Cadence, Score
from cadence_llm import FallbackChain, Model, ModelResponse, llm_note
from recipes._models import command_words, load_model, model_spec, run, say
from recipes._retrieval import (
    Chunk,
    Embedder,
    HashEmbedder,
    KeywordIndex,
    LlamaEmbedder,
    VectorIndex,
    cache_path,
    load_corpus,
)

QUESTION = "What does .sync do with the score?"
SYSTEM = (
    "Answer the question using only the numbered sources. Cite the sources you use like [1]. "
    "Answer in at most three sentences."
)
PROMPT = "Sources:\n{context}\n\nQuestion: {question}"


@dataclass
class RagScore(Score):
    """One question on its way to a cited answer."""

    question: str = QUESTION
    hits: list[dict[str, Any]] = field(default_factory=list)
    context: str = ""
    used: list[str] = field(default_factory=list)
    answer: str = ""
    sources: list[str] = field(default_factory=list)


def _non_empty(response: ModelResponse) -> bool | str:
    return bool(response.text.strip()) or "the answer was empty"


def default_embedder() -> Embedder:
    """llama.cpp embeddings from a local GGUF, or the hashed-features alternative without one."""
    try:
        return LlamaEmbedder()
    except Exception as exc:  # no llama-cpp-python, or no weights: say so and carry on
        say(f"(no local embedding model: {exc}; using hashed word/trigram vectors instead)")
        return HashEmbedder()


def build(
    model: Model | None = None,
    *,
    fallback: Model | None = None,
    embedder: Embedder | None = None,
    chunks: Sequence[Chunk] | None = None,
    question: str = QUESTION,
    max_tokens: int = 120,
) -> Cadence[RagScore]:
    """The RAG cadence.

    Args:
        model: The answering model (default: the recipes' model, see ``recipes._models``).
        fallback: The chain's second model (default: SmolLM2 when ``model`` is the default
            local model; none when ``model`` is given).
        embedder: Vectors for the similarity retriever (default :func:`default_embedder`).
        chunks: The corpus (default: the project's README and docs).
        question: The question the template score carries.
        max_tokens: Cap on the answer's length.
    """
    if model is None:
        model = load_model()
        if fallback is None and model_spec() != "smollm2":
            fallback = load_model("smollm2")
    corpus = list(chunks) if chunks is not None else load_corpus()
    by_id = {c.id: c for c in corpus}
    keywords = KeywordIndex(corpus)
    vectors = VectorIndex(
        corpus,
        embedder or default_embedder(),
        cache=None if embedder is not None else cache_path(),
    )
    chain = FallbackChain(
        [m for m in (model, fallback) if m is not None], retry=1, check=_non_empty
    )

    def keyword_search(score: RagScore) -> None:
        """BM25 over the sections' text (SQLite FTS5)."""
        for rank, cid in enumerate(keywords.search(score.question)):
            score.hits.append({"by": "fts5", "chunk": cid, "rank": rank})

    def vector_search(score: RagScore) -> None:
        """Cosine similarity between the question's and the sections' embeddings."""
        for rank, (cid, sim) in enumerate(vectors.search(score.question)):
            score.hits.append({"by": "vector", "chunk": cid, "rank": rank, "sim": round(sim, 3)})

    def fuse(score: RagScore) -> None:
        """Reciprocal-rank fusion: sections found high by either retriever come first."""
        points: dict[int, float] = {}
        for hit in score.hits:
            points[hit["chunk"]] = points.get(hit["chunk"], 0.0) + 1.0 / (60 + hit["rank"])
        best = sorted(points, key=lambda cid: points[cid], reverse=True)[:3]
        score.used = [by_id[cid].label for cid in best]
        score.context = "\n\n".join(
            f"[{n}] {by_id[cid].label}\n{by_id[cid].text[:500]}" for n, cid in enumerate(best, 1)
        )

    def cite(score: RagScore) -> None:
        """Keep the model's ``[n]`` citations and name the files behind them."""
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", score.answer)}
        labels = [lab for n, lab in enumerate(score.used, 1) if n in cited] or score.used
        score.sources = list(dict.fromkeys(lab.split(" § ")[0] for lab in labels))
        score.answer = f"{score.answer.strip()}\nSources: {', '.join(score.sources)}"

    return (
        Cadence("rag", RagScore(question=question))
        .sync("retrieve", [keyword_search, vector_search])
        .then("fuse", fuse)
        .then(
            "answer",
            llm_note(
                chain,
                system=SYSTEM,
                prompt=PROMPT,
                into="answer",
                options={"max_tokens": max_tokens, "temperature": 0.0},
            ),
        )
        .then("cite", cite)
    )


async def main(question: str = QUESTION, *, model: Model | None = None, **options: Any) -> RagScore:
    """Answer ``question`` and print the retrieval, the answer and the timing."""
    cadence = build(model, question=question, **options)
    started = time.perf_counter()
    result = await cadence.run(RagScore(question=question))
    say(f"Q: {question}")
    fts = [h for h in result.hits if h["by"] == "fts5"]
    vec = [h for h in result.hits if h["by"] == "vector"]
    say(f"  retrieved {len(fts)} sections by FTS5 and {len(vec)} by embedding similarity")
    for label in result.used:
        say(f"  reading {label}")
    say("A: " + result.answer.replace("\n", "\n   "))
    say(f"  ({time.perf_counter() - started:.1f}s)")
    return result


if __name__ == "__main__":
    run(main(" ".join(command_words(__doc__)) or QUESTION))
