"""A chain inside a chain: the inner one failing over completely lets the outer one go on."""

from __future__ import annotations

import pytest

from cadence_llm import (
    AllModelsFailedError,
    BadRequestError,
    FallbackChain,
    OverloadedError,
    ScriptedModel,
    ServerError,
    StreamDone,
)


def nested(first: Exception, second: Exception) -> tuple[FallbackChain, ScriptedModel]:
    a = ScriptedModel([first], name="a")
    b = ScriptedModel([second], name="b")
    c = ScriptedModel(["answer from c"], name="c")
    return FallbackChain([FallbackChain([a, b], retry=1), c], retry=1), c


async def test_outer_chain_falls_back_when_the_inner_chain_fails_over_completely():
    """Both inner models failing with fallback-worthy errors moves the outer chain to c."""
    outer, c = nested(OverloadedError("a down"), ServerError("b down"))
    result = await outer.run("hi")
    assert result.model == "c" and result.response.text == "answer from c"
    assert c.calls == 1
    first = result.attempts[0].error
    assert isinstance(first, AllModelsFailedError) and first.should_fallback
    assert [a.model for a in first.attempts] == ["a", "b"]


async def test_outer_stream_falls_back_when_the_inner_chain_fails_over_completely():
    """The same holds for a stream: c streams the answer."""
    outer, c = nested(OverloadedError("a down"), ServerError("b down"))
    events = [e async for e in outer.stream("hi")]
    assert isinstance(events[-1], StreamDone) and events[-1].response.text == "answer from c"
    assert c.calls == 1


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_a_stopping_error_in_the_inner_chain_stops_the_outer_one(stream):
    """A bad request inside the inner chain is raised as itself and c is never called."""
    outer, c = nested(OverloadedError("a down"), BadRequestError("bad field"))
    with pytest.raises(BadRequestError, match="bad field"):
        if stream:
            async for _ in outer.stream("hi"):
                pass
        else:
            await outer.complete("hi")
    assert c.calls == 0


async def test_the_outermost_chain_still_raises_all_models_failed():
    """When every model of every chain fails, the caller gets one AllModelsFailedError."""
    a = ScriptedModel([OverloadedError("a down")], name="a")
    c = ScriptedModel([ServerError("c down")], name="c")
    outer = FallbackChain([FallbackChain([a], retry=1, name="inner"), c], retry=1)
    with pytest.raises(AllModelsFailedError) as info:
        await outer.complete("hi")
    assert [x.model for x in info.value.attempts] == ["inner", "c"]
    assert isinstance(info.value.attempts[0].error, AllModelsFailedError)
