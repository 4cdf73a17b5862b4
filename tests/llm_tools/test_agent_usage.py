"""AgentResult.usage counts every model call, including answers a chain's check refused."""

from __future__ import annotations

import httpx
import respx

from cadence_llm import (
    AgentEvent,
    AnthropicModel,
    FallbackChain,
    ModelResponse,
    OpenAIModel,
    ScriptedModel,
    Usage,
    agent,
    track_usage,
)
from tests.llm.conftest import anthropic_message, openai_completion

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


def no_bad_answers(response: ModelResponse) -> bool:
    return "bad" not in response.text


@respx.mock
async def test_usage_includes_the_answer_the_check_refused() -> None:
    """OpenAI's refused answer and Anthropic's accepted one both count, as the ledger says."""
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

    refused = respx.post(OPENAI_URL).mock(
        return_value=httpx.Response(200, json=openai_completion("bad answer", usage=(1000, 500, 0)))
    )
    accepted = respx.post(ANTHROPIC_URL).mock(
        return_value=httpx.Response(
            200,
            json=anthropic_message(
                [{"type": "text", "text": "good answer"}],
                usage={"input_tokens": 20, "output_tokens": 4},
            ),
        )
    )
    chain = FallbackChain(
        [
            OpenAIModel("gpt-4o-mini", client=AsyncOpenAI(api_key="sk-test")),
            AnthropicModel("claude-sonnet-5-5", client=AsyncAnthropic(api_key="sk-ant-test")),
        ],
        retry=1,
        check=no_bad_answers,
    )
    events: list[AgentEvent] = []
    with track_usage() as ledger:
        result = await agent(chain, [], on_event=events.append).run(None, prompt="hi")
    assert refused.call_count == 1 and accepted.call_count == 1
    assert result.answer == "good answer"
    assert result.usage == Usage(input_tokens=1020, output_tokens=504) == ledger.usage
    turn = next(e for e in events if e.kind == "turn.completed")
    assert turn.usage == result.usage


async def test_streamed_usage_includes_the_answer_the_check_refused() -> None:
    """A streamed run counts the refused answer too."""
    first = ScriptedModel(
        [ModelResponse(text="bad answer", usage=Usage(input_tokens=100, output_tokens=50))],
        name="first",
    )
    second = ScriptedModel(
        [ModelResponse(text="good answer", usage=Usage(input_tokens=7, output_tokens=3))],
        name="second",
    )
    chain = FallbackChain([first, second], retry=1, check=no_bad_answers)
    events = [e async for e in agent(chain, []).stream(None, prompt="hi")]
    result = events[-1].result
    assert result is not None and result.answer == "good answer"
    assert result.usage == Usage(input_tokens=107, output_tokens=53)


async def test_a_refusal_counts_only_in_the_run_that_made_it() -> None:
    """Two runs in a row: the second, with nothing refused, counts only its own answer."""
    chain = FallbackChain(
        [
            ScriptedModel(["bad one", "fine two"], name="first"),
            ScriptedModel(["good one"], name="second"),
        ],
        retry=1,
        check=no_bad_answers,
    )
    bot = agent(chain, [])
    assert (await bot.run(None, prompt="q")).usage.output_tokens == 4  # "bad one" + "good one"
    assert (await bot.run(None, prompt="q")).usage.output_tokens == 2  # "fine two"
