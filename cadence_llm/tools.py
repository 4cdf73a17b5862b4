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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, overload

from pydantic import BaseModel, ValidationError

from cadence import MergeStrategy, Note, is_async_callable, run_group
from cadence.exceptions import CadenceDefinitionError, CadenceError

from ._tool_calls import CallTask, NoScore, ToolOutcome, dedupe_calls, failed, render_result
from ._tool_schema import arguments_model, given_schema, json_schema
from .messages import ToolCall, ToolDefinition

__all__ = [
    "Tool",
    "ToolArgumentsError",
    "ToolBox",
    "ToolOutcome",
    "UnknownToolError",
    "dedupe_calls",
    "render_result",
    "tool",
]

_ARGS: ContextVar[dict[str, Any]] = ContextVar("cadence_llm_tool_args")


class ToolArgumentsError(CadenceError):
    """The model's arguments for a tool are not valid JSON or do not match its schema."""

    default_code = "TOOL_ARGUMENTS"


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
        return f"Tool({self.name!r}{', fatal=True' if self.fatal else ''})"

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
        return {field: getattr(parsed, field) for field in type(parsed).model_fields}

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

    async def invoke(self, score: Any, kwargs: dict[str, Any]) -> Any:
        """Run the tool (with its policies) on ``score`` with validated ``kwargs``."""
        token = _ARGS.set(kwargs)
        try:
            if self._invoke_is_async:
                return await self._invoke(score)
            return await asyncio.to_thread(self._invoke, score)
        finally:
            _ARGS.reset(token)

    def _kwargs(self, score: Any) -> dict[str, Any]:
        kwargs = _ARGS.get()
        return {**kwargs, "score": score} if self.takes_score else kwargs

    async def _body_async(self, score: Any) -> Any:
        return await self.fn(**self._kwargs(score))

    def _body_sync(self, score: Any) -> Any:
        return self.fn(**self._kwargs(score))


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
    ) -> list[ToolOutcome]:
        """Run one turn's tool calls as a ``.sync`` group; return one outcome per call, in order.

        Unknown tools and invalid arguments become error outcomes without running anything.
        When called inside a running note with hooks, the group reports to that run's hooks.

        Args:
            calls: The assistant message's tool calls (ids are made unique first).
            score: The score the tools read and write; ``None`` for tools that need none.
            group: The group's name as hooks and errors show it.
            concurrency: Overrides the toolbox's limit for this turn.

        Raises:
            ParallelNoteError: a ``fatal`` tool failed (its index is the call's position).
            NoteError: the calls' score changes conflict (``MERGE_CONFLICT``).
        """
        unique = dedupe_calls(calls)
        slots: list[ToolOutcome | None] = [None] * len(unique)
        limit = concurrency or self.concurrency
        semaphore = asyncio.Semaphore(limit) if limit else None
        tasks: list[CallTask] = []
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
            tasks.append(CallTask(found, call, kwargs, i, slots, semaphore))
        if tasks:
            target = NoScore() if score is None else score
            await run_group(group, tasks, target, merge_strategy=self.merge_strategy)
        return [s for s in slots if s is not None]
