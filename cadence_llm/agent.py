"""``agent(model, toolbox)``: model → tools → model until a final answer, as a cadence.

An agent is a note (``.then("research", agent(...))``) whose body is a child cadence with one
step per turn (``turn_1`` … ``turn_N``, see :attr:`Agent.cadence`). Each turn calls the model
once; when it asks for tools, the calls run as one ``.sync`` group on the score (see
:meth:`ToolBox.run`) and their results go back to the model on the next turn. Because turns are
steps, they get what every step gets: hooks and events (``note.started`` for ``turn_2``, a
``group`` for its tools, a note per tool call), tracing, and with ``checkpoint=`` a checkpoint
after every completed turn, holding the transcript and the score, so a run resumed after a crash
between turns replays no model call and re-runs no tool of a completed turn.

Two tool-calling modes: ``"native"`` uses the provider's tool calling; ``"json"`` asks for a JSON
object ``{"tool_calls": [...], "answer": ...}`` under a JSON schema, which constrained decoding
(``LocalModel``) always satisfies, for small models without native tool calling.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import TypeAdapter

from cadence import Cadence, current_note
from cadence.exceptions import CadenceDefinitionError, CadenceError, NoteError

from ._agent_json import json_mode_request, parse_json_turn, results_message
from ._agent_types import (
    TOOL_COMPLETED,
    TURN_COMPLETED,
    TURN_STARTED,
    AgentEvent,
    AgentResult,
    AgentState,
    TurnLimitError,
)
from ._options import request_options
from .messages import (
    AssistantMessage,
    Message,
    ModelRequest,
    SystemMessage,
    UserMessage,
)
from .models.base import Model
from .notes import fill_template, template_fields
from .tools import ToolBox, dedupe_calls

__all__ = ["Agent", "AgentEvent", "AgentResult", "AgentState", "TurnLimitError", "agent"]

logger = logging.getLogger("cadence_llm.agent")
_MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
_RUN: ContextVar[_AgentRun] = ContextVar("cadence_llm_agent_run")


class _AgentRun:
    """Per-run context the turn steps read (the definition itself is shared by all runs)."""

    def __init__(self, agent: Agent, score: Any) -> None:
        self.agent = agent
        self.score = score
        self.first_step = True


class _Turn:
    """Step ``turn_<index>`` of the agent's cadence."""

    _cadence_is_async = True

    def __init__(self, index: int) -> None:
        self.index = index
        self.note_name = f"turn_{index}"

    async def __call__(self, state: AgentState) -> bool | None:
        run = _RUN.get()
        return await run.agent._turn(run, state, self.index)


class Agent:
    """A tool-using model loop; build it with :func:`agent`."""

    _cadence_is_async = True

    def __init__(
        self,
        model: Model,
        toolbox: ToolBox,
        *,
        max_turns: int,
        prompt: str | None,
        system: str | None,
        into: str | None,
        name: str,
        tool_mode: Literal["native", "json"],
        tool_choice: str | None,
        force_final_answer: bool,
        concurrency: int | None,
        checkpoint: Any,
        run_id: str | Callable[[Any], str] | None,
        on_event: Callable[[AgentEvent], Any] | None,
        options: Mapping[str, Any] | None,
    ) -> None:
        if not callable(getattr(model, "complete", None)):
            raise CadenceDefinitionError(f"agent: expected a model with complete(), got {model!r}")
        if not isinstance(toolbox, ToolBox):
            toolbox = ToolBox(toolbox)
        if not isinstance(max_turns, int) or max_turns < 1:
            raise CadenceDefinitionError(f"agent: max_turns must be an int >= 1, got {max_turns!r}")
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise CadenceDefinitionError(
                f"agent: concurrency must be an int >= 1, got {concurrency!r}"
            )
        if tool_mode not in ("native", "json"):
            raise CadenceDefinitionError(
                f"agent: tool_mode must be 'native' or 'json', got {tool_mode!r}"
            )
        for template in (prompt, system):
            if template is not None:
                template_fields(template)
        if into is not None and not into.isidentifier():
            raise CadenceDefinitionError(f"agent: into= must be a score field name, got {into!r}")
        self.model = model
        self.toolbox = toolbox
        self.max_turns = max_turns
        self.prompt, self.system, self.into = prompt, system, into
        self.note_name = self.__name__ = name
        self.tool_mode, self.tool_choice = tool_mode, tool_choice
        self.force_final_answer = force_final_answer
        self.concurrency = concurrency
        self.checkpoint = checkpoint
        self.run_id = run_id
        self.on_event = on_event
        self.options = request_options(
            options, where=f"agent {name!r}", reserved=("messages", "tools", "tool_choice")
        )
        plan: Cadence[AgentState] = Cadence(name, AgentState())
        for i in range(1, max_turns + 1):
            plan.then(f"turn_{i}", _Turn(i), can_interrupt=True)
        if checkpoint is not None:
            plan.with_checkpoint(checkpoint)
        self._cadence = plan
        self._turn_names = frozenset(s.name for s in plan.steps)

    @property
    def cadence(self) -> Cadence[AgentState]:
        """The turn plan as a cadence (for diagrams and introspection)."""
        return self._cadence

    def __repr__(self) -> str:
        return f"agent({self.model.name!r}, tools={[t.name for t in self.toolbox]!r}, max_turns={self.max_turns})"

    async def __call__(self, score: Any) -> None:
        result = await self.run(score)
        if self.into is not None:
            if isinstance(score, dict):
                score[self.into] = result.answer
            else:
                setattr(score, self.into, result.answer)

    def _initial(
        self, score: Any, prompt: str | None, messages: Sequence[Message] | None
    ) -> list[Message]:
        where = f"agent {self.note_name!r}"
        out: list[Message] = []
        if self.system is not None:
            out.append(SystemMessage(content=fill_template(self.system, score, where=where)))
        if messages is not None:
            return [*out, *messages]
        text = prompt if prompt is not None else self.prompt
        if text is None:
            raise CadenceDefinitionError(
                f"{where}: give prompt= (a template over score fields) or run(messages=...)"
            )
        out.append(
            UserMessage(content=fill_template(text, score, where=where) if prompt is None else text)
        )
        return out

    def _resolve_run_id(self, score: Any, run_id: str | None) -> str | None:
        if run_id is not None:
            return run_id
        if callable(self.run_id):
            return str(self.run_id(score))
        if self.run_id is not None:
            return self.run_id
        scope = current_note()
        return scope.run_id if scope is not None else None

    async def run(
        self,
        score: Any = None,
        *,
        prompt: str | None = None,
        messages: Sequence[Message] | None = None,
        run_id: str | None = None,
    ) -> AgentResult:
        """Run the loop on ``score`` and return the result (``__call__`` also writes ``into``).

        Args:
            score: The score tools read and write, and the prompt templates fill from.
            prompt: A literal prompt instead of the agent's template.
            messages: A whole conversation to continue instead of a prompt.
            run_id: Checkpoint key; defaults to ``run_id=`` of :func:`agent`, else the run id
                of the enclosing cadence run.

        Raises:
            TurnLimitError: the model still asked for tools on the last allowed turn.
            ModelError: a model call failed.
            ParallelNoteError: a ``fatal`` tool failed.
        """
        rid = self._resolve_run_id(score, run_id)
        if self.checkpoint is not None and rid is None:
            raise CadenceError(
                f"agent {self.note_name!r} checkpoints its turns but has no run id: pass "
                "agent(..., run_id=...) (a string or a function of the score), run(run_id=...), "
                "or run it inside a cadence run that has one",
                code="AGENT_NO_RUN_ID",
            )
        state = AgentState(
            messages=[m.model_dump(mode="json") for m in self._initial(score, prompt, messages)]
        )
        scope = current_note()
        token = _RUN.set(_AgentRun(self, score))
        try:
            await self._cadence.run(state, run_id=rid, hooks=scope.hooks if scope else None)
        except NoteError as exc:
            if exc.note_name in self._turn_names and exc.original_error is not None:
                raise exc.original_error from exc
            raise
        finally:
            _RUN.reset(token)
        return AgentResult(
            answer=state.answer or "",
            messages=tuple(_MESSAGES.validate_python(state.messages)),
            turns=state.turns,
            tool_calls=state.tool_calls,
            usage=state.usage,
        )

    # -- one turn ------------------------------------------------------------------------------

    async def _emit(self, event: AgentEvent) -> None:
        if self.on_event is None:
            return
        try:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception(
                "agent %r: on_event listener failed; the run continues", self.note_name
            )

    def _request(self, messages: list[Message], index: int) -> ModelRequest:
        last = index == self.max_turns
        final_only = last and self.force_final_answer
        choice = "none" if final_only else self.tool_choice
        if self.tool_mode == "json":
            return json_mode_request(messages, self.toolbox, choice, self.options)
        return ModelRequest(
            messages=tuple(messages),
            tools=self.toolbox.definitions,
            tool_choice=choice,
            **self.options,
        )

    async def _turn(self, run: _AgentRun, state: AgentState, index: int) -> bool | None:
        codec = None
        if self.checkpoint is not None and run.score is not None:
            from cadence.checkpoint import ScoreCodec

            codec = getattr(self.checkpoint, "codec", None) or ScoreCodec()
            if run.first_step and state.score_state is not None:
                codec.restore(run.score, state.score_state)  # resumed: the tools' earlier changes
        run.first_step = False
        await self._emit(AgentEvent(TURN_STARTED, self.note_name, index))
        messages = _MESSAGES.validate_python(state.messages)
        response = await self.model.complete(self._request(messages, index))
        state.turns = index
        state.input_tokens += response.usage.input_tokens
        state.output_tokens += response.usage.output_tokens
        state.cached_tokens += response.usage.cached_tokens
        problem = None
        if self.tool_mode == "json":
            answer, calls, problem = parse_json_turn(response.text, prefix=f"call_{index}")
            assistant = AssistantMessage(content=response.text)
        else:
            answer, calls = response.text, dedupe_calls(response.tool_calls, prefix=f"call_{index}")
            assistant = AssistantMessage(
                content=response.text, tool_calls=calls, thinking=response.thinking
            )
        done = not calls and problem is None
        if not done and index == self.max_turns:
            wanted = (
                f"the model asked for tools ({', '.join(c.name for c in calls)}); raise max_turns, "
                "or pass force_final_answer=True to make the last turn answer without tools"
                if calls
                else f"the model's reply {problem} (raise max_tokens in options=)"
            )
            raise TurnLimitError(
                f"agent {self.note_name!r} reached max_turns={self.max_turns} without a final "
                f"answer: {wanted}",
                max_turns=self.max_turns,
                messages=[*messages, assistant],
                usage=state.usage,
            )
        new: list[Message] = [assistant]
        if calls:
            outcomes = await self.toolbox.run(
                calls, run.score, group=f"turn_{index}.tools", concurrency=self.concurrency
            )
            state.tool_calls += len(outcomes)
            new.extend(
                results_message(outcomes)
                if self.tool_mode == "json"
                else [o.message for o in outcomes]
            )
            for outcome in outcomes:
                await self._emit(AgentEvent(TOOL_COMPLETED, self.note_name, index, outcome=outcome))
        elif problem is not None:
            new.append(
                UserMessage(content=f"Your reply {problem}. Reply again with the JSON object only.")
            )
        else:
            state.answer = answer
        state.messages = [*state.messages, *(m.model_dump(mode="json") for m in new)]
        if codec is not None:
            state.score_state = codec.encode_score(run.score)
        await self._emit(
            AgentEvent(
                TURN_COMPLETED, self.note_name, index, usage=response.usage, tool_calls=len(calls)
            )
        )
        return True if done else None


def agent(
    model: Model,
    toolbox: ToolBox | Sequence[Any],
    *,
    max_turns: int = 8,
    prompt: str | None = "{query}",
    system: str | None = None,
    into: str | None = "answer",
    name: str = "agent",
    tool_mode: Literal["native", "json"] = "native",
    tool_choice: str | None = None,
    force_final_answer: bool = False,
    concurrency: int | None = None,
    checkpoint: Any = None,
    run_id: str | Callable[[Any], str] | None = None,
    on_event: Callable[[AgentEvent], Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Agent:
    """A note running model → tools → model until a final answer or ``max_turns`` model calls.

    Args:
        model: Any model (adapter, fallback chain, scripted model).
        toolbox: The tools (a ``ToolBox`` or a list of tools/functions).
        max_turns: Model calls allowed; a model still asking for tools on the last one raises
            :class:`TurnLimitError` (its tools are not run).
        prompt: The first user message, a template over score fields.
        system: An optional system prompt template.
        into: The score field that receives the final answer when used as a note.
        name: The note's (and the turn cadence's) name.
        tool_mode: ``"native"`` provider tool calling, or ``"json"`` schema-constrained JSON.
        tool_choice: ``"auto"``, ``"required"``, ``"none"`` or a tool name, for every turn.
        force_final_answer: Make the last turn answer without tools instead of failing.
        concurrency: At most this many tool calls of one turn at once.
        checkpoint: A checkpoint store: each completed turn is saved, and a rerun with the
            same run id resumes after the last completed turn.
        run_id: The checkpoint key (a string, or a function of the score).
        on_event: Called with an :class:`AgentEvent` per turn start/end and per tool call.
        options: Extra ``ModelRequest`` fields (``temperature``, ``max_tokens``, ``seed``...).
    """
    return Agent(
        model,
        toolbox if isinstance(toolbox, ToolBox) else ToolBox(toolbox),
        max_turns=max_turns,
        prompt=prompt,
        system=system,
        into=into,
        name=name,
        tool_mode=tool_mode,
        tool_choice=tool_choice,
        force_final_answer=force_final_answer,
        concurrency=concurrency,
        checkpoint=checkpoint,
        run_id=run_id,
        on_event=on_event,
        options=options,
    )
