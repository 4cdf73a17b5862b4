"""Tools a model can call, and one turn's tool calls run as a cadence ``.sync`` group.

``@tool`` turns a plain function (sync or async) into a :class:`Tool`: its name, a description
from the docstring and a JSON schema built from the type hints by pydantic (enums, optionals,
nested models, defaults). Arguments the model writes are validated before the call; a
validation error goes back to the model as the tool result, so it can correct itself.

A parameter named ``score`` receives the score (an isolated view of it) and is not part of the
schema, so tools can read and write fields like any note. Tools take the ``@note`` resilience
options (``retry``, ``timeout``, ``fallback``).

:meth:`ToolBox.run` runs one turn's calls as a ``.sync`` group through the cadence runner: every
call gets an isolated view of the score, score changes merge three-way after the group (lists
both extended are concatenated in call order; different scalar values conflict), hooks and
tracing see each call as a task of the group, and results come back in call order. A failing
tool becomes an error result while the other calls finish and keep their results and score
changes: the task wrapper catches the error, so the group's fail-fast never fires. Only a tool
marked ``fatal=True`` fails the group (and the run).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, overload

from pydantic import BaseModel, ValidationError

from cadence import MergeStrategy, Note, is_async_callable, run_group
from cadence.exceptions import CadenceDefinitionError, CadenceError

from ._approvals import ToolArgumentsError, ToolRejectedError, approval_rule, decide
from ._budgeting import reserve_tool_calls, settle_tool_calls, settle_tool_calls_quietly
from ._tool_calls import (
    CallObserver,
    CallTask,
    NoScore,
    Replayed,
    ToolOutcome,
    ToolResultError,
    dedupe_calls,
    discard_changes,
    failed,
    render_result,
)
from ._tool_schema import argument_values, arguments_model, given_schema, json_schema
from .messages import ToolCall, ToolDefinition

__all__ = [
    "CallObserver",
    "Replayed",
    "Tool",
    "ToolArgumentsError",
    "ToolBox",
    "ToolOutcome",
    "ToolRejectedError",
    "ToolResultError",
    "UnknownToolError",
    "dedupe_calls",
    "render_result",
    "tool",
]

logger = logging.getLogger("cadence_llm.tools")
_ARGS: ContextVar[dict[str, Any]] = ContextVar("cadence_llm_tool_args")
# [the score before the group, attempts made so far] of the call being invoked
_ATTEMPTS: ContextVar[list[Any] | None] = ContextVar("cadence_llm_tool_attempts", default=None)


class Tool:
    """A function the model may call, with its JSON schema and call policies.

    Calling the tool object directly calls the function unchanged, so it stays testable.

    Args:
        fn: The function, sync or async; a parameter named ``score`` receives the score.
        name: The name the model sees; defaults to the function's name.
        description: Defaults to the docstring's text before its ``Args:`` section.
        fatal: A failure ends the run instead of becoming an error result for the model.
        retry: As ``@note(retry=...)``.
        timeout: As ``@note(timeout=...)`` (seconds per attempt).
        fallback: As ``@note(fallback=...)``; without ``field`` the default becomes the result.
        parameters: A JSON schema to show the model instead of one built from the type hints,
            for functions whose schema comes from elsewhere (an MCP server's tool). ``fn`` then
            receives the model's arguments as keyword arguments, checked only for being a
            JSON object with the schema's required keys: the callee validates the rest.
        needs_approval: ``True`` (or a function of the validated arguments returning ``True``)
            makes each call wait for a person's decision before it runs; the run parks until
            it is resumed (see docs/agents.md, "Tools that need approval"). Needs a
            checkpointed run.
        approval_timeout: Seconds to wait for the decision; after that the call is rejected
            (the model reads that nobody decided). ``None``: wait as long as it takes.

    ``@tool`` may also decorate a ``@note(...)``: the note's name and policies carry over.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        fatal: bool = False,
        retry: Any = None,
        timeout: Any = None,
        fallback: Any = None,
        parameters: Mapping[str, Any] | None = None,
        needs_approval: bool | Callable[[dict[str, Any]], bool] = False,
        approval_timeout: float | None = None,
    ) -> None:
        if not callable(fn) or inspect.isclass(fn):
            raise CadenceDefinitionError(f"@tool needs a function, got {fn!r}")
        if isinstance(fn, Note):  # @tool over @note(retry=...): keep the note's name and policies
            name = name or fn.note_name
            retry = fn.retry if retry is None else retry
            timeout = fn.timeout if timeout is None else timeout
            fallback = fn.fallback if fallback is None else fallback
            fn = fn.fn
        tool_name = name or getattr(fn, "__name__", "")
        if (
            not isinstance(tool_name, str)
            or not tool_name.replace("_", "a").replace("-", "a").isalnum()
        ):
            raise CadenceDefinitionError(
                f"tool name must be letters, digits, '_' or '-', got {tool_name!r}; pass @tool(name=...)"
            )
        target = inspect.unwrap(fn)
        if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
            # Calling it only makes the generator: its body (the tool's work) would never run
            # and the model would read "<generator object ...>".
            raise CadenceDefinitionError(
                f"tool {tool_name!r} is a generator function; a tool returns its result: "
                "collect the items and return them as a list"
            )
        self.fn: Callable[..., Any] = fn
        self.name: str = tool_name
        self.is_async = is_async_callable(fn)
        self.args_model: type[BaseModel] | None
        if parameters is None:
            self.args_model, self.takes_score, doc = arguments_model(fn, tool_name)
            self.parameters: dict[str, Any] = json_schema(self.args_model)
        else:
            self.args_model, self.takes_score, doc = None, False, inspect.getdoc(fn) or ""
            self.parameters = given_schema(parameters, tool_name)
        self.description: str = description if description is not None else doc
        self.fatal = fatal
        self.approval = approval_rule(needs_approval, tool_name)
        if approval_timeout is not None and (
            isinstance(approval_timeout, bool)
            or not isinstance(approval_timeout, int | float)
            or approval_timeout <= 0
        ):
            raise CadenceDefinitionError(
                f"tool {tool_name!r}: approval_timeout must be seconds > 0 or None, "
                f"got {approval_timeout!r}"
            )
        if approval_timeout is not None and self.approval is None:
            raise CadenceDefinitionError(
                f"tool {tool_name!r}: approval_timeout= is for tools with needs_approval=; "
                "add needs_approval=True or drop it"
            )
        self.approval_timeout = approval_timeout
        self.policies = {"retry": retry, "timeout": timeout, "fallback": fallback}
        body = self._body_async if self.is_async else self._body_sync
        self._invoke: Callable[[Any], Any] = body
        self.has_policies = any(v is not None for v in self.policies.values())
        if self.has_policies:
            from cadence.resilience import compose

            self._invoke = compose(
                body, retry=retry, timeout=timeout, fallback=fallback, name=tool_name
            )
        self._invoke_is_async = self.is_async or self._invoke is not body

    def __repr__(self) -> str:
        flags = (", fatal=True" if self.fatal else "") + (
            ", needs_approval" if self.approval is not None else ""
        )
        return f"Tool({self.name!r}{flags})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def definition(self) -> ToolDefinition:
        """The tool as the model sees it (adapters render it in each provider's format)."""
        return ToolDefinition(
            name=self.name, description=self.description, parameters=self.parameters
        )

    def validate(self, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """Parse and validate the model's arguments into keyword arguments for the function.

        Raises:
            ToolArgumentsError: the arguments are not JSON or do not match the schema; the
                message is written for the model to read and correct.
        """
        if self.args_model is None:
            return self._schema_arguments(arguments)
        try:
            if isinstance(arguments, str):
                parsed = self.args_model.model_validate_json(arguments.strip() or "{}")
            else:
                parsed = self.args_model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise ToolArgumentsError(
                f"invalid arguments for tool {self.name!r}: {problems}. "
                f"Call it again with arguments matching its schema: {json.dumps(self.parameters)}",
                details={"tool": self.name, "arguments": str(arguments)[:500]},
            ) from exc
        return argument_values(parsed)

    def _schema_arguments(self, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """Arguments for a tool with a given schema: a JSON object holding the required keys."""
        problem = ""
        parsed: Any = arguments
        if isinstance(arguments, str):
            try:
                parsed = json.loads(arguments.strip() or "{}")
            except ValueError as exc:
                problem = f"not valid JSON ({exc})"
        if not problem and not isinstance(parsed, Mapping):
            problem = f"expected a JSON object, got {type(parsed).__name__}"
        if not problem:
            missing = [k for k in self.parameters.get("required", ()) if k not in parsed]
            if missing:
                problem = f"missing required argument(s) {', '.join(map(repr, missing))}"
        if problem:
            raise ToolArgumentsError(
                f"invalid arguments for tool {self.name!r}: {problem}. "
                f"Call it again with arguments matching its schema: {json.dumps(self.parameters)}",
                details={"tool": self.name, "arguments": str(arguments)[:500]},
            )
        return dict(parsed)

    async def invoke(self, score: Any, kwargs: dict[str, Any], *, origin: Any = None) -> Any:
        """Run the tool (with its policies) on ``score`` with validated ``kwargs``.

        With ``origin`` (the score ``score`` is a group view of), a retried attempt starts
        from the score as it was: the failed attempts' changes to ``score`` are undone first
        (the last attempt's changes are kept, as for any call).
        """
        token = _ARGS.set(kwargs)
        attempts = _ATTEMPTS.set([origin, 0] if origin is not None and self.has_policies else None)
        try:
            if self._invoke_is_async:
                return await self._invoke(score)
            return await asyncio.to_thread(self._invoke, score)
        finally:
            _ATTEMPTS.reset(attempts)
            _ARGS.reset(token)

    def _kwargs(self, score: Any) -> dict[str, Any]:
        kwargs = _ARGS.get()
        return {**kwargs, "score": score} if self.takes_score else kwargs

    def _attempt(self, score: Any) -> None:
        """A retried attempt starts from the score as it was, not on the failed one's writes."""
        attempts = _ATTEMPTS.get()
        if attempts is None:
            return
        if attempts[1] and self.takes_score:
            _undo(score, attempts[0])
        attempts[1] += 1

    async def _body_async(self, score: Any) -> Any:
        self._attempt(score)
        return await self.fn(**self._kwargs(score))

    def _body_sync(self, score: Any) -> Any:
        self._attempt(score)
        return self.fn(**self._kwargs(score))


def _undo(view: Any, origin: Any) -> None:
    """Undo a failed attempt's score changes; never fails the next attempt."""
    try:
        discard_changes(view, origin)
    except Exception:
        logger.exception("could not undo the score changes of a failed tool call")


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    fatal: bool = False,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
    needs_approval: bool | Callable[[dict[str, Any]], bool] = False,
    approval_timeout: float | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    fatal: bool = False,
    retry: Any = None,
    timeout: Any = None,
    fallback: Any = None,
    needs_approval: bool | Callable[[dict[str, Any]], bool] = False,
    approval_timeout: float | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function callable by a model, bare (``@tool``) or with options (``@tool(retry=3)``).

    See :class:`Tool` for the options. Schema problems (``*args``, unsupported annotations)
    raise ``CadenceDefinitionError`` at decoration time.
    """
    if fn is not None:
        return Tool(fn)

    def decorate(f: Callable[..., Any]) -> Tool:
        return Tool(
            f,
            name=name,
            description=description,
            fatal=fatal,
            retry=retry,
            timeout=timeout,
            fallback=fallback,
            needs_approval=needs_approval,
            approval_timeout=approval_timeout,
        )

    return decorate


class UnknownToolError(CadenceError):
    """The model called a tool that is not in the toolbox."""

    default_code = "UNKNOWN_TOOL"


class ToolBox:
    """The tools one model may call, and the runner of a turn's calls.

    Args:
        tools: Tools (or plain functions, wrapped with ``@tool``'s defaults).
        concurrency: At most this many calls of one turn run at once (``None``: all).
        merge_strategy: How the calls' score changes merge (``MergeStrategy.smart_merge``).
    """

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        concurrency: int | None = None,
        merge_strategy: Callable[..., Any] | None = None,
    ) -> None:
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise CadenceDefinitionError(
                f"ToolBox(concurrency=...) must be an int >= 1, got {concurrency!r}"
            )
        self._tools: dict[str, Tool] = {}
        self.concurrency = concurrency
        self.merge_strategy = merge_strategy or MergeStrategy.smart_merge
        for t in tools:
            self.add(t)

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        """Add a tool (a plain function is wrapped with ``@tool``); names must be unique."""
        t = item if isinstance(item, Tool) else Tool(item)
        if t.name in self._tools:
            raise CadenceDefinitionError(
                f"ToolBox already has a tool named {t.name!r}; pass @tool(name=...)"
            )
        self._tools[t.name] = t
        return t

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __repr__(self) -> str:
        return f"ToolBox({list(self._tools)!r})"

    @property
    def definitions(self) -> tuple[ToolDefinition, ...]:
        """Every tool's definition, for ``ModelRequest(tools=...)``."""
        return tuple(t.definition for t in self._tools.values())

    async def run(
        self,
        calls: Sequence[ToolCall],
        score: Any = None,
        *,
        group: str = "tools",
        concurrency: int | None = None,
        observer: CallObserver | None = None,
        wait_prefix: str = "tool",
    ) -> list[ToolOutcome]:
        """Run one turn's tool calls as a ``.sync`` group; return one outcome per call, in order.

        Unknown tools and invalid arguments become error outcomes without running anything.
        When called inside a running note with hooks, the group reports to that run's hooks.

        Args:
            calls: The assistant message's tool calls (ids are made unique first).
            score: The score the tools read and write; ``None`` for tools that need none.
            group: The group's name as hooks and errors show it.
            concurrency: Overrides the toolbox's limit for this turn.
            observer: Told when each call starts and completes, and asked for recorded
                outcomes to reuse instead of running a call (see :class:`CallObserver`).
            wait_prefix: The approval wait of a call of a tool needing approval is keyed
                ``"<wait_prefix>:<call id>"`` (agents use ``"tool:<agent name>"``).

        Before any call runs, each call of a tool needing approval waits for its decision
        (the run parks until it is resumed); a rejected call becomes an error outcome
        (``ToolRejectedError``) and the others run.

        Raises:
            ParallelNoteError: a ``fatal`` tool failed (its index is the call's position).
            NoteError: the calls' score changes conflict (``MERGE_CONFLICT``).
        """
        unique = dedupe_calls(calls)
        target = NoScore() if score is None else score
        slots: list[ToolOutcome | None] = [None] * len(unique)
        limit = concurrency or self.concurrency
        semaphore = asyncio.Semaphore(limit) if limit else None
        tasks: list[CallTask] = []
        fresh = 0  # calls that will really run (not replayed from a record)
        for i, call in enumerate(unique):
            found = self._tools.get(call.name)
            if found is None:
                known = ", ".join(sorted(self._tools)) or "(none)"
                slots[i] = failed(
                    call,
                    UnknownToolError(
                        f"unknown tool {call.name!r}; the available tools are: {known}"
                    ),
                )
                continue
            try:
                kwargs = found.validate(call.arguments)
            except ToolArgumentsError as exc:
                slots[i] = failed(call, exc)
                continue
            except Exception as exc:
                # A validator of the tool's own types raised something other than ValueError:
                # that is this tool failing, not the whole turn (unless the tool is fatal).
                if found.fatal:
                    raise
                slots[i] = failed(call, exc)
                continue
            replayed = observer.replay(call) if observer is not None else None
            if replayed is None and found.approval is not None:
                try:
                    decided = await decide(found, call, kwargs, wait_prefix)
                except ToolArgumentsError as exc:  # the approver's edit does not validate
                    slots[i] = failed(call, exc)
                    continue
                if isinstance(decided, ToolRejectedError):
                    slots[i] = failed(call, decided)
                    continue
                kwargs = decided
            fresh += replayed is None
            tasks.append(
                CallTask(found, call, kwargs, i, slots, semaphore, observer, replayed, target)
            )
        if tasks:
            holds = reserve_tool_calls(fresh)  # the run's budget refuses the whole turn
            try:
                await run_group(group, tasks, target, merge_strategy=self.merge_strategy)
            except BaseException:
                settle_tool_calls_quietly(holds)
                raise
            await settle_tool_calls(holds)
        return [s for s in slots if s is not None]
