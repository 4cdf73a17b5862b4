"""recipes.rag: parallel retrieval over the docs, fusion, a fallback chain, cited answers."""

from __future__ import annotations

from cadence.timeline import RunRecorder
from cadence_llm import FunctionModel, ScriptedModel
from recipes import rag
from recipes._retrieval import Chunk, HashEmbedder, KeywordIndex, VectorIndex, load_corpus, terms


async def test_answer_cites_the_files_it_read(fake_model: FunctionModel) -> None:
    """The answer ends with the files behind the [n] markers the model wrote."""
    result = await rag.build(fake_model, embedder=HashEmbedder()).run()
    assert result.answer.startswith("Run it again")
    assert result.sources and all(s.endswith(".md") for s in result.sources)
    assert result.answer.endswith("Sources: " + ", ".join(result.sources))
    assert result.sources[0] == result.used[0].split(" § ")[0]


async def test_both_retrievers_run_as_one_sync_group(fake_model: FunctionModel) -> None:
    """keyword_search and vector_search are tasks of the "retrieve" group; both hit lists merge."""
    recorder = RunRecorder()
    result = await rag.build(fake_model, embedder=HashEmbedder()).with_hooks(recorder).run()
    tasks = {e.note_name for e in recorder.events if getattr(e, "group", None) == "retrieve"}
    assert tasks == {"keyword_search", "vector_search"}
    assert {h["by"] for h in result.hits} == {"fts5", "vector"}


async def test_question_reaches_the_model_with_numbered_sources() -> None:
    """The prompt carries the question and three numbered sections."""
    model = ScriptedModel(["See [2]."])
    await rag.build(model, embedder=HashEmbedder()).run(
        rag.RagScore(question="What is a Retry policy?")
    )
    prompt = model.requests[0].messages[-1].content
    assert "Question: What is a Retry policy?" in prompt
    assert "[1] " in prompt and "[3] " in prompt
    assert model.requests[0].max_tokens == 120


async def test_uncited_answer_lists_every_file_read() -> None:
    """Without [n] markers the answer names all files it was given."""
    result = await rag.build(ScriptedModel(["Use checkpoints."]), embedder=HashEmbedder()).run()
    assert result.sources == list(dict.fromkeys(u.split(" § ")[0] for u in result.used))


async def test_empty_answer_falls_back_to_the_second_model() -> None:
    """The chain refuses an empty answer and asks the fallback model."""
    first, second = (
        ScriptedModel(["  "], name="first"),
        ScriptedModel(["Rerun [1]."], name="second"),
    )
    result = await rag.build(first, fallback=second, embedder=HashEmbedder()).run()
    assert second.calls == 1
    assert result.answer.startswith("Rerun [1].")


def test_corpus_is_the_projects_docs_split_at_headings() -> None:
    """Sections come from README.md and docs/*.md, each with its heading."""
    chunks = load_corpus()
    paths = {c.path for c in chunks}
    assert "README.md" in paths and any(p.startswith("docs/") for p in paths)
    assert all(c.text and c.heading for c in chunks)


def test_keyword_index_ranks_matching_sections_first() -> None:
    """FTS5 finds the section that contains the query's words."""
    chunks = [
        Chunk(0, "a.md", "Retry", "Retry policies with exponential backoff."),
        Chunk(1, "b.md", "Cats", "Cats sleep most of the day, in the sun."),
    ]
    assert KeywordIndex(chunks).search("how does backoff work?")[:1] == [0]
    assert terms("How does the .sync step work?") == ["sync", "step", "work"]


def test_vector_index_caches_vectors_between_instances(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second index over the same chunks reads every vector from the cache."""
    chunks = [Chunk(0, "a.md", "A", "alpha text " * 5), Chunk(1, "b.md", "B", "beta words " * 5)]
    first = VectorIndex(chunks, HashEmbedder(), cache=tmp_path / "v.sqlite")
    assert first.search("alpha")[0][0] == 0
    second = VectorIndex(chunks, HashEmbedder(), cache=tmp_path / "v.sqlite")
    second.vectors()
    assert (first.computed, second.computed) == (2, 0)
