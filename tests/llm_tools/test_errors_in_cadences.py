"""Provider errors raised inside a cadence stay catchable as themselves; bad options fail early."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest
import respx

from cadence import Cadence, NoteError, ParallelNoteError, Score
from cadence.exceptions import CadenceDefinitionError
from cadence_llm import (
    ModelError,
    OpenAIModel,
    RateLimitedError,
    ScriptedModel,
    agent,
    generate,
    llm_note,
    tool,
)

OPENAI_URL = "https://api.openai.com/v1/chat/completions"


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return "x"


@dataclass
class Ask(Score):
    query: str = "hi"
    answer: str = ""
    notes: list[str] = field(default_factory=list)


def throttled() -> ScriptedModel:
    return ScriptedModel([RateLimitedError("slow down", retry_after=7.0)], name="busy")


async def test_except_provider_error_around_run_fires_for_an_agent():
    """An agent's RateLimitedError is caught by `except RateLimitedError` around run()."""
    flow = Cadence("ask", Ask()).then("research", agent(throttled(), [lookup]))
    with pytest.raises(RateLimitedError) as caught:
        await flow.run()
    err = caught.value
    assert isinstance(err, NoteError) and err.note_name == "research"
    assert err.retry_after == 7.0 and err.retryable and err.code == "RATE_LIMITED"
    assert isinstance(err.original_error, RateLimitedError)
    assert "note 'research' failed" in str(err)


async def test_provider_error_stays_catchable_through_a_child_cadence():
    """Wrapped again by a child step, the error is still a RateLimitedError and names the child step."""
    inner = Cadence("inner", Ask()).then("research", agent(throttled(), [lookup]))
    outer = Cadence("outer", Ask()).child("sub", inner, merge=lambda parent, child: None)
    with pytest.raises(RateLimitedError) as caught:
        await outer.run()
    err = caught.value
    assert isinstance(err, NoteError) and err.note_name == "sub"
    assert err.retry_after == 7.0
    assert isinstance(err.original_error, NoteError) and err.original_error.note_name == "research"


async def test_provider_error_in_a_sync_group_is_both_parallel_and_provider_error():
    """In a .sync group the error is a ParallelNoteError and a RateLimitedError at once."""

    async def fine(score: Ask) -> None:
        score.notes.append("ok")

    flow = Cadence("ask", Ask()).sync(
        "both", [fine, llm_note(throttled(), prompt="{query}", into="answer")]
    )
    with pytest.raises(RateLimitedError) as caught:
        await flow.run()
    err = caught.value
    assert isinstance(err, ParallelNoteError) and err.group_name == "both"
    assert err.task_index == 1


@respx.mock
async def test_real_sdk_429_in_an_llm_note_is_caught_as_rate_limited():
    """A 429 from the real OpenAI SDK inside llm_note reaches the caller as RateLimitedError."""
    from openai import AsyncOpenAI

    body = {
        "error": {
            "message": "Rate limit reached",
            "type": "requests",
            "code": "rate_limit_exceeded",
        }
    }
    route = respx.post(OPENAI_URL).respond(429, json=body, headers={"retry-after": "3"})
    model = OpenAIModel("gpt-4o-mini", client=AsyncOpenAI(api_key="sk-test"))
    flow = Cadence("ask", Ask()).then("answer", llm_note(model, prompt="{query}", into="answer"))
    with pytest.raises(RateLimitedError) as caught:
        await flow.run()
    assert route.call_count == 1
    assert caught.value.retry_after == 3.0 and caught.value.status_code == 429


async def test_wrapped_provider_error_survives_pickling():
    """The dual error pickles and unpickles with its class, note name and provider fields."""
    flow = Cadence("ask", Ask()).then("research", agent(throttled(), [lookup]))
    with pytest.raises(RateLimitedError) as caught:
        await flow.run()
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, RateLimitedError) and isinstance(copy, NoteError)
    assert (copy.note_name, copy.retry_after, copy.code) == ("research", 7.0, "RATE_LIMITED")


async def test_other_errors_are_wrapped_as_before():
    """Errors that are not provider errors still arrive as a plain NoteError."""

    def broken(score: Ask) -> None:
        raise ValueError("bad")

    flow = Cadence("ask", Ask()).then("step", broken)
    with pytest.raises(NoteError) as caught:
        await flow.run()
    assert type(caught.value) is NoteError
    assert not isinstance(caught.value, ValueError | ModelError)


def test_agent_option_typo_fails_when_built():
    """A misspelt agent option raises CadenceDefinitionError at agent(), suggesting the field."""
    with pytest.raises(CadenceDefinitionError, match=r"'temprature'.*did you mean 'temperature'"):
        agent(ScriptedModel(["x"]), [lookup], options={"temprature": 0.2})


def test_llm_note_option_typo_and_bad_value_fail_when_built():
    """llm_note refuses an unknown option and an invalid value before any model call."""
    with pytest.raises(CadenceDefinitionError, match="max_token"):
        llm_note(ScriptedModel(["x"]), prompt="{query}", into="answer", options={"max_token": 5})
    with pytest.raises(CadenceDefinitionError, match="max_tokens"):
        llm_note(ScriptedModel(["x"]), prompt="{query}", into="answer", options={"max_tokens": -5})


def test_options_that_the_note_sets_itself_are_refused():
    """options cannot carry messages (or, for an agent, tools): the note builds those itself."""
    with pytest.raises(CadenceDefinitionError, match="messages"):
        llm_note(ScriptedModel(["x"]), prompt="{q}", into="a", options={"messages": ()})
    with pytest.raises(CadenceDefinitionError, match="tools"):
        agent(ScriptedModel(["x"]), [lookup], options={"tools": ()})


async def test_generate_option_typo_fails_before_calling_the_model():
    """generate() names a misspelt option instead of a pydantic traceback, and calls no model."""
    from pydantic import BaseModel

    class Out(BaseModel):
        x: int

    model = ScriptedModel(['{"x": 1}'])
    with pytest.raises(CadenceDefinitionError, match=r"'sede'.*did you mean 'seed'"):
        await generate(model, "x", response_model=Out, options={"sede": 1})
    assert model.calls == 0
