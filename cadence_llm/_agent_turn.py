"""One turn of an agent: ask the model (streamed when the run is), check the answer, run tools.

The turn steps of :class:`~cadence_llm.agent.Agent`'s cadence call :func:`run_turn`; the
definition lives in :mod:`cadence_llm.agent`, what one run needs between turns in
:class:`AgentRun`. Kept apart so each module stays one concept: the definition and its entry
points there, the mechanics of a turn here.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from cadence.exceptions import CadenceError
from cadence.integrations import is_streamed, publish_event

from ._agent_calls import DurableCalls, TurnRecord, calls_key
from ._agent_json import json_mode_request, parse_json_turn, results_message
from ._agent_types import (
    STREAM_RESET,
    TEXT_DELTA,
    TOOL_COMPLETED,
    TOOL_STARTED,
    TURN_COMPLETED,
    TURN_STARTED,
    AgentEvent,
    AgentState,
    TurnLimitError,
)
from ._attempts import rejected_usage
from ._budgeting import charge_recorded
from .messages import (
    AssistantMessage,
    Message,
    ModelRequest,
    ModelResponse,
    StreamDone,
    StreamReset,
    TextDelta,
    ToolCall,
    UserMessage,
)
from .structured import (
    StructuredOutputError,
    describe_errors,
    parse_output,
    reask_message,
    response_format_for,
)
from .tools import ToolOutcome, dedupe_calls

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["MESSAGES", "AgentRun", "emit", "run_turn", "score_codec"]

logger = logging.getLogger("cadence_llm.agent")
MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


class AgentRun:
    """Per-run context the turn steps read (the definition itself is shared by all runs).

    ``sink`` receives every event of a run iterated with :meth:`Agent.stream`; ``relay`` is set
    when the enclosing cadence run is streamed over SSE. Either makes turns stream the model.
    """

    def __init__(
        self,
        agent: Agent,
        score: Any,
        run_id: str | None,
        sink: Callable[[AgentEvent], None] | None,
    ) -> None:
        self.agent = agent
        self.score = score
        self.run_id = run_id
        self.first_step = True
        self.sink = sink
        self.relay = is_streamed()
        self.streamed = sink is not None or self.relay


async def emit(agent: Agent, run: AgentRun, event: AgentEvent) -> None:
    if run.sink is not None:
        run.sink(event)
    if run.relay:
        publish_event(f"agent_{event.kind.replace('.', '_')}", event.to_dict())
    if agent.on_event is None:
        return
    try:
        result = agent.on_event(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("agent %r: on_event listener failed; the run continues", agent.note_name)


def build_request(agent: Agent, messages: list[Message], index: int) -> ModelRequest:
    last = index == agent.max_turns
    final_only = last and agent.force_final_answer
    choice = "none" if final_only else agent.tool_choice
    output = agent.output_type
    if agent.tool_mode == "json":
        answer = None if output is None else output.model_json_schema()
        return json_mode_request(messages, agent.toolbox, choice, agent.options, answer)
    fields: dict[str, Any] = dict(agent.options)
    if output is not None:
        fields.setdefault("response_format", response_format_for(output))
    return ModelRequest(
        messages=tuple(messages),
        tools=agent.toolbox.definitions,
        tool_choice=choice,
        **fields,
    )


async def call_model(
    agent: Agent, run: AgentRun, request: ModelRequest, index: int
) -> ModelResponse:
    """The model's answer for a turn, streamed as ``text.delta`` events when the run is.

    Its usage includes the answers a fallback chain's ``check`` refused on the way: they were
    paid for, so the turn's (and the run's) usage counts them.
    """
    with rejected_usage() as refused:
        response = await ask_model(agent, run, request, index)
    if not refused:
        return response
    usage = response.usage
    for spent in refused:
        usage = usage + spent
    return response.model_copy(update={"usage": usage})


async def ask_model(
    agent: Agent, run: AgentRun, request: ModelRequest, index: int
) -> ModelResponse:
    """One call of the agent's model (streamed when the run is)."""
    if not run.streamed:
        return await agent.model.complete(request)
    response = None
    async for event in agent.model.stream(request):
        if isinstance(event, TextDelta):
            if agent.tool_mode == "native":  # JSON mode's text is the protocol object
                await emit(
                    agent, run, AgentEvent(TEXT_DELTA, agent.note_name, index, text=event.text)
                )
        elif isinstance(event, StreamReset):
            await emit(
                agent, run, AgentEvent(STREAM_RESET, agent.note_name, index, text=event.reason)
            )
        elif isinstance(event, StreamDone):
            response = event.response
    if response is None:
        raise CadenceError(
            f"agent {agent.note_name!r}: the stream of model {agent.model.name!r} ended "
            "without its final StreamDone event",
            code="AGENT_STREAM_INCOMPLETE",
        )
    return response


async def model_answer(
    agent: Agent, run: AgentRun, state: AgentState, messages: list[Message], index: int, first: bool
) -> tuple[ModelResponse, TurnRecord | None]:
    """Call the model for this turn, or reuse the answer recorded before a crash."""
    store = agent.checkpoint
    if store is None or run.run_id is None:
        return await call_model(agent, run, build_request(agent, messages, index), index), None
    key = calls_key(agent.note_name)
    if first:
        record = await TurnRecord.load(store, key, run.run_id, index, len(state.messages))
        if record is not None:
            await charge_recorded(agent.model.name, record.response)
            if run.streamed and record.response.text and agent.tool_mode == "native":
                text = record.response.text
                await emit(agent, run, AgentEvent(TEXT_DELTA, agent.note_name, index, text=text))
            return record.response, record
    response = await call_model(agent, run, build_request(agent, messages, index), index)
    record = TurnRecord(store, key, run.run_id, index, response, len(state.messages))
    await record.save("model")  # before any tool runs: a resumed turn asks the model no more
    return response, record


def earlier_call_ids(messages: Sequence[dict[str, Any]]) -> set[str]:
    """The ids of the tool calls already in the transcript (a new turn must not reuse them:
    approval waits and tool results are keyed by call id)."""
    return {
        str(call.get("id"))
        for message in messages
        if message.get("role") == "assistant"
        for call in message.get("tool_calls") or ()
        if isinstance(call, dict) and call.get("id")
    }


def score_codec(agent: Agent) -> Any:
    from cadence.checkpoint import ScoreCodec

    return getattr(agent.checkpoint, "codec", None) or ScoreCodec()


def check_output(agent: Agent, answer: str, state: AgentState, index: int) -> UserMessage | None:
    """``None`` when ``answer`` validates as ``output_type``, else the re-ask message."""
    if agent.output_type is None:
        return None
    try:
        parse_output(answer, agent.output_type)
        return None
    except ValidationError as exc:
        errors = describe_errors(exc)
    if state.output_retries >= agent.output_retries or index == agent.max_turns:
        why = (
            f"max_turns={agent.max_turns} reached"
            if state.output_retries < agent.output_retries
            else f"output_retries={agent.output_retries} used up"
        )
        raise StructuredOutputError(
            f"agent {agent.note_name!r} gave no valid {agent.output_type.__name__} ({why}); "
            f"last errors: {errors}; last answer: {answer[:300]!r}",
            raw=answer,
            errors=errors,
            attempts=state.output_retries + 1,
        )
    state.output_retries += 1
    return reask_message(errors, agent._output_schema or "")


async def run_turn(agent: Agent, run: AgentRun, state: AgentState, index: int) -> bool | None:
    codec = None
    if agent.checkpoint is not None and run.score is not None:
        codec = score_codec(agent)
        if run.first_step and state.score_state is not None:
            codec.restore(run.score, state.score_state)  # resumed: the tools' earlier changes
    first, run.first_step = run.first_step, False
    if state.answer is not None:
        # Resumed after the final turn completed: the turns after it must not run.
        return True
    await emit(agent, run, AgentEvent(TURN_STARTED, agent.note_name, index))
    messages = MESSAGES.validate_python(state.messages)
    response, record = await model_answer(agent, run, state, messages, index, first)
    state.turns = index
    state.input_tokens += response.usage.input_tokens
    state.output_tokens += response.usage.output_tokens
    state.cached_tokens += response.usage.cached_tokens
    state.cache_write_tokens += response.usage.cache_write_tokens
    problem = None
    if agent.tool_mode == "json":
        answer, calls, problem = parse_json_turn(response.text, prefix=f"call_{index}")
        assistant = AssistantMessage(content=response.text)
    else:
        calls = dedupe_calls(
            response.tool_calls, prefix=f"call_{index}", taken=earlier_call_ids(state.messages)
        )
        answer = response.text
        assistant = AssistantMessage(
            content=response.text, tool_calls=calls, thinking=response.thinking
        )
    done = not calls and problem is None
    if not done and index == agent.max_turns:
        asked = f"the model asked for tools ({', '.join(c.name for c in calls)})"
        if not calls:
            wanted = f"the model's reply {problem}"
        elif agent.force_final_answer:
            # The last turn already offered no tools: the model (or provider) ignored that.
            wanted = (
                f"{asked} although the last turn asked for an answer without tools "
                "(force_final_answer=True, tool_choice='none'); raise max_turns, or say in the "
                "prompt when to stop calling tools"
            )
        else:
            wanted = (
                f"{asked}; raise max_turns, or pass force_final_answer=True to make the last "
                "turn answer without tools"
            )
        raise TurnLimitError(
            f"agent {agent.note_name!r} reached max_turns={agent.max_turns} without a final "
            f"answer: {wanted}",
            max_turns=agent.max_turns,
            messages=[*messages, assistant],
            usage=state.usage,
        )
    reask = check_output(agent, answer, state, index) if done else None
    new: list[Message] = [assistant]
    if calls:
        outcomes = await run_tools(agent, run, calls, index, record, codec)
        state.tool_calls += len(outcomes)
        new.extend(
            results_message(outcomes)
            if agent.tool_mode == "json"
            else [o.message for o in outcomes]
        )
    elif problem is not None:
        new.append(
            UserMessage(content=f"Your reply {problem}. Reply again with the JSON object only.")
        )
    elif reask is not None:
        new.append(reask)
    else:
        state.answer = answer
    state.messages = [*state.messages, *(m.model_dump(mode="json") for m in new)]
    if codec is not None:
        state.score_state = codec.encode_score(run.score)
    await emit(
        agent,
        run,
        AgentEvent(
            TURN_COMPLETED, agent.note_name, index, usage=response.usage, tool_calls=len(calls)
        ),
    )
    return True if done and reask is None else None


async def run_tools(
    agent: Agent,
    run: AgentRun,
    calls: Sequence[ToolCall],
    index: int,
    record: TurnRecord | None,
    codec: Any,
) -> list[ToolOutcome]:
    """Run a turn's calls, relaying their events and recording each outcome as it completes."""
    reported: set[str] = set()

    async def started(call: ToolCall) -> None:
        await emit(agent, run, AgentEvent(TOOL_STARTED, agent.note_name, index, call=call))

    async def completed(outcome: ToolOutcome) -> None:
        reported.add(outcome.call.id)
        event = AgentEvent(
            TOOL_COMPLETED, agent.note_name, index, outcome=outcome, call=outcome.call
        )
        await emit(agent, run, event)

    observer = DurableCalls(record, run.score, codec, started, completed)
    outcomes = await agent.toolbox.run(
        calls,
        run.score,
        group=f"turn_{index}.tools",
        concurrency=agent.concurrency,
        observer=observer,
        wait_prefix=f"tool:{agent.note_name}",
    )
    for outcome in outcomes:  # unknown tools and invalid arguments never ran: report them too
        if outcome.call.id not in reported:
            await completed(outcome)
    return outcomes
