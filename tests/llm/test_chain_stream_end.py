"""A consumer that stops reading a chain's stream at StreamDone still leaves the attempt settled."""

from __future__ import annotations

import pytest

from cadence_llm import FallbackChain, ScriptedModel, StreamDone


class RecordingGate:
    """Records what the chain tells it when an attempt ends."""

    def __init__(self) -> None:
        self.exits: list[tuple[str, bool, BaseException | None]] = []

    async def enter(self, model, request):
        return model.name

    async def exit(self, ticket, response, error):
        self.exits.append((ticket, response is not None, error))


@pytest.mark.parametrize("close", [False, True], ids=["left-open", "closed"])
async def test_breaking_at_stream_done_records_the_successful_attempt(close):
    """on_attempt sees the attempt, and the gates get its response, before the consumer leaves."""
    gate, attempts = RecordingGate(), []
    chain = FallbackChain(
        [ScriptedModel(["hello world"], name="m1")], gates=[gate], on_attempt=attempts.append
    )
    stream = chain.stream("hi")
    async for event in stream:
        if isinstance(event, StreamDone):
            break
    assert [(a.model, a.error) for a in attempts] == [("m1", None)]
    assert gate.exits == [("m1", True, None)]
    if close:
        await stream.aclose()
        assert len(attempts) == 1 and len(gate.exits) == 1
