"""``agent(model, toolbox)``: model → tools → model until a final answer, as a cadence.

An agent is a note (``.then("research", agent(...))``) whose body is a child cadence with one
step per turn (``turn_1`` … ``turn_N``, see :attr:`Agent.cadence`). Each turn calls the model
once; when it asks for tools, the calls run as one ``.sync`` group on the score (see
:meth:`ToolBox.run`) and their results go back to the model on the next turn. Because turns are
steps, they get what every step gets: hooks and events (``note.started`` for ``turn_2``, a
``group`` for its tools, a note per tool call), tracing, and with ``checkpoint=`` a checkpoint
after every completed turn, holding the transcript and the score, so a run resumed after a crash
between turns replays no model call and re-runs no tool of a completed turn.

Within a turn, a checkpointed agent also records the model's answer and each tool call's outcome
as it completes (see :mod:`cadence_llm._agent_calls`), so a run killed *inside* a turn resumes
without calling the model again or re-running a tool call that completed.

:meth:`Agent.stream` iterates over a run as it happens (text deltas, tool calls starting and
completing with their call ids, turn ends, the final output); inside a run streamed by the web
integration's SSE endpoint the agent streams its events as frames by itself. With
``output_type=`` the final answer must validate as a pydantic model; an invalid one is sent
back with its errors, at most ``output_retries`` times.

One turn's mechanics live in :mod:`cadence_llm._agent_turn`.

Two tool-calling modes: ``"native"`` uses the provider's tool calling; ``"json"`` asks for a JSON
object ``{"tool_calls": [...], "answer": ...}`` under a JSON schema, which constrained decoding
(``LocalModel``) always satisfies, for small models without native tool calling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from cadence import Budget, Cadence, current_note
from cadence.exceptions import CadenceDefinitionError, CadenceError, NoteError

from ._agent_calls import calls_key
from ._agent_turn import MESSAGES, AgentRun, emit, run_turn, score_codec
from ._agent_types import (
    OUTPUT,
    AgentEvent,
    AgentResult,
    AgentState,
    TurnLimitError,
)
from ._options import request_options
from .messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from .models.base import Model
from .notes import fill_template, template_fields
from .structured import (
    parse_output,
)
from .tools import ToolBox

if TYPE_CHECKING:
    from cadence import WaitRecord

__all__ = ["Agent", "AgentEvent", "AgentResult", "AgentState", "TurnLimitError", "agent"]

_MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
_RUN: ContextVar[AgentRun] = ContextVar("cadence_llm_agent_run")


def _conversation(messages: Any, where: str) -> list[Message]:
    """``run(messages=...)`` as messages a provider accepts, or an error saying what to fix.

    Checked before the first request, since a provider refuses a broken transcript only with a
    400 after the run started: every tool call needs its result right after the assistant
    message that asked for it (a trimmed history or ``TurnLimitError.messages`` may lack them).
    """
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise CadenceDefinitionError(
            f"{where}: messages= must be a list of messages (UserMessage(content=...), or dicts "
            f"with a 'role'), got {type(messages).__name__}; for one prompt pass prompt="
        )
    try:
        out = _MESSAGES.validate_python(list(messages))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        at = ".".join(str(p) for p in first["loc"])
        raise CadenceDefinitionError(
            f"{where}: messages= item {at}: {first['msg']} (give SystemMessage, UserMessage, "
            "AssistantMessage or ToolMessage objects, or dicts with their fields)"
        ) from exc
    if not out:
        raise CadenceDefinitionError(f"{where}: messages= is empty; give the conversation")
    pending: dict[str, str] = {}
    for i, m in enumerate(out):
        if isinstance(m, ToolMessage):
            if pending.pop(m.tool_call_id, None) is None:
                raise CadenceDefinitionError(
                    f"{where}: messages[{i}] is the result of tool call {m.tool_call_id!r}, "
                    "which the assistant message just before it did not make; providers refuse "
                    "it: drop it, or keep the assistant message that called it"
                )
            continue
        if pending:
            break
        if isinstance(m, AssistantMessage):
            pending = {c.id: c.name for c in m.tool_calls}
    if pending:
        call_id, name = next(iter(pending.items()))
        raise CadenceDefinitionError(
            f"{where}: in messages=, tool call {call_id!r} ({name}) has no ToolMessage right "
            "after the assistant message that made it; providers refuse a call without its "
            "result: add ToolMessage(tool_call_id=..., content=...) for it, or drop the call"
        )
    return out


class _Turn:
    """Step ``turn_<index>`` of the agent's cadence."""

    _cadence_is_async = True

    def __init__(self, index: int) -> None:
        self.index = index
        self.note_name = f"turn_{index}"

    async def __call__(self, state: AgentState) -> bool | None:
        run = _RUN.get()
        return await run_turn(run.agent, run, state, self.index)


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
        budget: Budget | None = None,
        output_type: type[BaseModel] | None = None,
        output_retries: int = 2,
    ) -> None:
        if not callable(getattr(model, "complete", None)):
            raise CadenceDefinitionError(f"agent: expected a model with complete(), got {model!r}")
        if not isinstance(toolbox, ToolBox):
            toolbox = ToolBox(toolbox)
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise CadenceDefinitionError(f"agent: max_turns must be an int >= 1, got {max_turns!r}")
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise CadenceDefinitionError(
                f"agent: concurrency must be an int >= 1, got {concurrency!r}"
            )
        if tool_mode not in ("native", "json"):
            raise CadenceDefinitionError(
                f"agent: tool_mode must be 'native' or 'json', got {tool_mode!r}"
            )
        if tool_choice not in (None, "auto", "none", "required") and tool_choice not in toolbox:
            raise CadenceDefinitionError(
                f"agent {name!r}: tool_choice must be 'auto', 'none', 'required' or the name of "
                f"one of its tools {[t.name for t in toolbox]!r}, got {tool_choice!r}"
            )
        if on_event is not None and not callable(on_event):
            raise CadenceDefinitionError(
                f"agent {name!r}: on_event must be a function of an AgentEvent, got {on_event!r}"
            )
        for template in (prompt, system):
            if template is not None:
                template_fields(template)
        if into is not None and not into.isidentifier():
            raise CadenceDefinitionError(f"agent: into= must be a score field name, got {into!r}")
        if output_type is not None and not (
            isinstance(output_type, type) and issubclass(output_type, BaseModel)
        ):
            raise CadenceDefinitionError(
                f"agent: output_type must be a pydantic model class, got {output_type!r}"
            )
        if (
            isinstance(output_retries, bool)
            or not isinstance(output_retries, int)
            or output_retries < 0
        ):
            raise CadenceDefinitionError(
                f"agent: output_retries must be an int >= 0, got {output_retries!r}"
            )
        asks = [t.name for t in toolbox if t.approval is not None]
        if asks and checkpoint is None:
            raise CadenceDefinitionError(
                f"agent {name!r}: tool {asks[0]!r} needs approval, so the agent must keep its "
                "turns while a run waits for the decision: pass checkpoint=SQLiteCheckpointStore"
                "('runs.db') (inside a checkpointed cadence, its store will do)"
            )
        self.output_type = output_type
        self.output_retries = output_retries
        self._output_schema = (
            None if output_type is None else json.dumps(output_type.model_json_schema())
        )
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
        if budget is not None:
            plan.with_budget(budget, into="spend")  # checkpointed with the turns
        self.budget = budget
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
                score[self.into] = result.output
            else:
                setattr(score, self.into, result.output)

    def _initial(
        self, score: Any, prompt: str | None, messages: Sequence[Message] | None
    ) -> list[Message]:
        where = f"agent {self.note_name!r}"
        out: list[Message] = []
        if self.system is not None:
            out.append(SystemMessage(content=fill_template(self.system, score, where=where)))
        if messages is not None:
            conversation = _conversation(messages, where)
            if out and conversation[0] == out[0]:
                # Continuing an earlier result's transcript: it opens with this system prompt.
                return conversation
            return [*out, *conversation]
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
            StructuredOutputError: the final answer never validated as ``output_type``.
            BudgetExceededError: a budget in force refused a model request or tool calls.
            ModelError: a model call failed.
            ParallelNoteError: a ``fatal`` tool failed.
        """
        return await self._run(score, prompt, messages, run_id, None)

    async def resume(
        self,
        run_id: str,
        value: Any = None,
        score: Any = None,
        *,
        wait: str | None = None,
        prompt: str | None = None,
        messages: Sequence[Message] | None = None,
    ) -> AgentResult:
        """Continue a run parked at a tool needing approval, with the decision ``value``.

        Exactly once, like ``Cadence.resume``: the decision is recorded (a second one raises
        ``WaitError`` ``WAIT_ALREADY_RESOLVED``), then the run goes on from its recorded turn
        (the model is not asked again; completed calls do not run again). An agent running
        inside a cadence is resumed through that cadence instead.

        Args:
            run_id: The parked run (``RunSuspended.run_id``).
            value: ``True``/``False``, ``cadence.Decision.approve(payload=...)`` (the payload's
                ``"arguments"`` replace the model's) / ``Decision.reject(reason=...)``, or
                that as a dict.
            score: The score to continue on, as passed to :meth:`run` (the tools' changes of
                finished turns are restored onto it).
            wait: The wait's key (``"tool:<agent>:<call id>"``) when the run waits on several.
            prompt: As passed to :meth:`run`, if it was.
            messages: As passed to :meth:`run`, if it was.

        Raises:
            WaitError: the run does not wait there, or was resumed before.
            RunSuspended: the run parked again at a later call needing approval.
        """
        if self.checkpoint is None:
            raise CadenceDefinitionError(
                f"agent {self.note_name!r} has no checkpoint store of its own; resume the "
                "cadence it runs in (cadence.resume(run_id, value))"
            )
        await self._cadence.deliver(run_id, value, wait=wait)
        return await self._run(score, prompt, messages, run_id, None)

    async def waits(self, run_id: str | None = None) -> list[WaitRecord]:
        """The approvals this agent's runs wait on (``cadence.WaitRecord`` s): one run's or all."""
        return await self._cadence.waits(run_id)

    async def stream(
        self,
        score: Any = None,
        *,
        prompt: str | None = None,
        messages: Sequence[Message] | None = None,
        run_id: str | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run the loop and yield its :class:`AgentEvent` records as they happen.

        The model is called in streaming mode, so ``text.delta`` events carry the answer as it
        is generated; ``tool.started`` / ``tool.completed`` carry each call and its id;
        ``turn.completed`` ends a turn; the last event is ``output`` with the final typed output
        and the :class:`AgentResult`. A failure of the run is raised by the iterator; leaving
        the loop early cancels the run. Arguments as for :meth:`run`.
        """
        queue: asyncio.Queue[AgentEvent | None] = asyncio.Queue()
        task = asyncio.get_running_loop().create_task(
            self._run(score, prompt, messages, run_id, queue.put_nowait),
            name=f"cadence-agent-stream:{self.note_name}",
        )
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            task.result()  # the run's error, if it failed
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not task.cancelled():
                # Left after the run failed: the consumer chose not to see the error; mark it
                # seen, or asyncio logs "Task exception was never retrieved" for it.
                task.exception()

    async def _run(
        self,
        score: Any,
        prompt: str | None,
        messages: Sequence[Message] | None,
        run_id: str | None,
        sink: Callable[[AgentEvent], None] | None,
    ) -> AgentResult:
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
        run = AgentRun(self, score, rid, sink)
        token = _RUN.set(run)
        try:
            await self._cadence.run(state, run_id=rid, hooks=scope.hooks if scope else None)
        except NoteError as exc:
            original = exc.original_error
            if exc.note_name not in self._turn_names or original is None:
                raise
            # The turn's own error, with its own cause (a fallback chain's last attempt, the
            # SDK's exception): raising it here would chain it to the NoteError wrapper instead.
            cause, context = original.__cause__, original.__context__
            suppress = original.__suppress_context__
            try:
                raise original
            finally:
                original.__cause__, original.__context__ = cause, context
                original.__suppress_context__ = suppress
        finally:
            _RUN.reset(token)
        if self.checkpoint is not None and rid is not None:
            if run.first_step and score is not None and state.score_state is not None:
                # Every turn had been checkpointed before a crash: none ran to restore the score.
                score_codec(self).restore(score, state.score_state)
            await self.checkpoint.clear_checkpoints(calls_key(self.note_name), rid)
        answer = state.answer or ""
        output: Any = answer
        if self.output_type is not None:
            output = parse_output(answer, self.output_type)  # validated by the last turn
        result = AgentResult(
            answer=answer,
            messages=tuple(MESSAGES.validate_python(state.messages)),
            turns=state.turns,
            tool_calls=state.tool_calls,
            usage=state.usage,
            spend=state.spend,
            output=output,
        )
        await emit(
            self, run, AgentEvent(OUTPUT, self.note_name, state.turns, output=output, result=result)
        )
        return result


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
    budget: Budget | None = None,
    output_type: type[BaseModel] | None = None,
    output_retries: int = 2,
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
        checkpoint: A checkpoint store: each completed turn is saved, and so are the model's
            answer and every completed tool call within a turn; a rerun with the same run id
            resumes where the last one stopped, without re-running a completed tool call.
        run_id: The checkpoint key (a string, or a function of the score).
        on_event: Called with every :class:`AgentEvent` of a run (see :meth:`Agent.stream`).
        options: Extra ``ModelRequest`` fields (``temperature``, ``max_tokens``, ``seed``...).
        budget: Limits for each run of this agent (a ``cadence.Budget``), counted on top of
            any budget of the enclosing run; the spend is in ``AgentResult.spend``.
        output_type: A pydantic model the final answer must validate as; it becomes
            ``AgentResult.output`` and what ``into`` receives. Native mode asks for it with a
            JSON-schema response format, JSON mode puts its schema in the turn's schema.
        output_retries: How many invalid final answers are sent back with their errors.
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
        budget=budget,
        output_type=output_type,
        output_retries=output_retries,
    )
