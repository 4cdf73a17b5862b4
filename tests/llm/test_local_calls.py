"""LocalModel under load and on bad input: calls take turns without holding threads, a
cancelled call stops generating, the window is its n_ctx, and grammars are checked first."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cadence_llm import (
    ContextWindowExceededError,
    LocalModel,
    ModelRequest,
    StreamDone,
)
from cadence_llm.models.weights import WeightsError, resolve_weights

from .conftest import FakeLlama


class Signal:
    """Set from any thread, awaited on the event loop it was made on."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def set(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        await self._event.wait()


class GatedLlama(FakeLlama):
    """A FakeLlama whose calls wait for ``release``; counts how many ran at once."""

    def __init__(self) -> None:
        super().__init__("ok")
        self.entered = Signal()
        self.release = threading.Event()
        self.inside = 0
        self.most_inside = 0

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.entered.set()
        self.release.wait()
        self.inside -= 1
        return super().create_chat_completion(**kwargs)


@pytest.fixture
async def two_workers():
    """The running loop's default executor with two threads (the test may shut it down, to
    know every thread has ended)."""
    executor = ThreadPoolExecutor(max_workers=2)
    asyncio.get_running_loop().set_default_executor(executor)
    return executor


async def test_calls_waiting_for_their_turn_hold_no_worker_thread(two_workers):
    """Queued calls wait on the event loop: an unrelated to_thread job still runs meanwhile.

    They used to wait in executor threads blocked on the model's lock, so a few calls filled
    the loop's default executor and stalled every other to_thread job (here: for ever).
    """
    llama = GatedLlama()
    model = LocalModel("gated", llama=llama)
    calls = [asyncio.create_task(model.complete("hi")) for _ in range(3)]
    try:
        await llama.entered.wait()
        # Releasing from a worker thread works only if a thread is free for it.
        await asyncio.wait_for(asyncio.to_thread(llama.release.set), timeout=60)
        answers = await asyncio.gather(*calls)
    finally:
        llama.release.set()  # unblock the old code's threads, so the test can end
    assert [a.text for a in answers] == ["ok"] * 3
    assert llama.most_inside == 1 and len(llama.calls) == 3


async def test_a_call_cancelled_while_queued_never_runs(two_workers):
    """Cancelling a call that waits for its turn drops it; it used to run anyway, later."""
    llama = GatedLlama()
    model = LocalModel("gated", llama=llama)
    first = asyncio.create_task(model.complete("first"))
    await llama.entered.wait()
    queued = asyncio.create_task(model.complete("queued"))
    await asyncio.sleep(0.05)  # let it reach its wait (the old code: a thread on the lock)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    llama.release.set()
    await first
    await model.complete("third")
    two_workers.shutdown(wait=True)  # every thread has ended: nothing more can run
    prompts = [call["messages"][-1]["content"] for call in llama.calls]
    assert prompts == ["first", "third"]


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    """SmolLM2 loaded once for the module."""
    return LocalModel("smollm2", n_ctx=512, n_threads=2, seed=3)


async def test_a_cancelled_call_stops_generating_and_the_model_stays_usable(smol):
    """Cancelling complete() ends llama.cpp's generation at its next token; the next call works.

    The worker thread used to generate the whole answer (max_tokens) for nobody, holding the
    model all that time.
    """
    started = Signal()
    sampled: list[int] = []

    def count(input_ids: Any, scores: Any) -> Any:
        sampled.append(1)
        started.set()
        return scores

    endless = ModelRequest.of(
        "Write the letter a.",
        max_tokens=100,
        # No way to end: the answer runs to max_tokens unless the call is stopped.
        extra={"grammar": 'root ::= "a" root', "logits_processor": [count]},
    )
    call = asyncio.create_task(smol.complete(endless))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    after = await smol.complete(ModelRequest.of("Say yes.", max_tokens=2, temperature=0))
    assert after.text and after.finish_reason in ("stop", "length")
    assert len(sampled) < 100


async def test_a_streamed_answer_counts_its_prompt_tokens(smol):
    """A stream's usage has the prompt's tokens, as complete()'s has (it used to say 0)."""
    request = ModelRequest.of("Say hi.", max_tokens=3, temperature=0)
    events = [e async for e in smol.stream(request)]
    assert isinstance(events[-1], StreamDone)
    streamed = events[-1].response.usage
    whole = (await smol.complete(request)).usage
    assert streamed.input_tokens == whole.input_tokens > 0
    assert streamed.output_tokens > 0


async def test_n_ctx_is_the_window_also_when_llama_cpp_rounds_it_up():
    """n_ctx=128 (llama.cpp makes it 256): a longer prompt is ContextWindowExceededError.

    llama-cpp-python checked prompts against 256 but keeps 128 tokens, so such a prompt
    failed with numpy's "could not broadcast input array from shape (...)".
    """
    model = LocalModel("smollm2", n_ctx=128, n_threads=2)
    with pytest.raises(ContextWindowExceededError, match="context window of 128"):
        await model.complete(ModelRequest.of("word " * 150, max_tokens=4))
    ok = await model.complete(ModelRequest.of("Hi", max_tokens=2))
    assert ok.finish_reason in ("stop", "length")


async def test_a_cut_short_gguf_is_a_weights_error_naming_the_file(tmp_path):
    """A truncated download passes the GGUF magic check; loading it names the file and the fix
    (it used to be a bare ValueError, "Failed to load model from file")."""
    whole = resolve_weights("smollm2").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) // 10])
    model = LocalModel(cut, n_ctx=128, n_threads=2)
    with pytest.raises(WeightsError, match="sha256=") as err:
        await model.complete(ModelRequest.of("Hi", max_tokens=2))
    assert str(cut) in str(err.value)


def test_a_default_grammar_that_does_not_parse_is_refused_when_the_model_is_built():
    """LocalModel(grammar=...) is checked at once, saying what llama.cpp found wrong."""
    with pytest.raises(ValueError, match="Undefined rule identifier 'answer'"):
        LocalModel("smollm2", grammar="root ::= answer")


_CRASHERS = r"""
import asyncio
from cadence_llm import BadRequestError, LocalModel, ModelRequest, ResponseFormat

async def main():
    model = LocalModel("smollm2", n_ctx=256, n_threads=2)
    empty_enum = {"type": "object", "properties": {"a": {"enum": []}}, "required": ["a"]}
    for request in (
        ModelRequest.of("Pick", max_tokens=2, extra={"grammar": "root ::= yes"}),
        ModelRequest.of("Pick", max_tokens=2, extra={"grammar": 'rot ::= "a"'}),
        ModelRequest.of(
            "Pick", max_tokens=2, response_format=ResponseFormat(type="json_schema", schema=empty_enum)
        ),
    ):
        try:
            await model.complete(request)
        except BadRequestError as err:
            print("refused:", err.message)
    print("still alive:", (await model.complete(ModelRequest.of("Hi", max_tokens=2))).finish_reason)

asyncio.run(main())
"""


def test_grammars_llama_cpp_cannot_parse_are_bad_requests_not_a_crash():
    """A GBNF grammar (or a JSON schema's grammar) llama.cpp cannot parse is a BadRequestError
    saying why; it used to kill the whole process with SIGSEGV (run in a child to see that)."""
    done = subprocess.run(
        [sys.executable, "-c", _CRASHERS], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].endswith("does not parse: Undefined rule identifier 'yes'")
    assert "has no 'root' rule" in lines[1]
    assert "empty enum" in lines[2] and "does not parse" in lines[2]
    assert lines[3].startswith("still alive: ")
