"""Running single tool calls: outcomes, unique call ids, result text, the group task wrapper.

Private helpers of :mod:`cadence_llm.tools`; the public names are re-exported there.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime
import enum
import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from cadence import TaskChanges, replay_changes, task_changes
from cadence.exceptions import BudgetExceededError, CadenceError

from .messages import ToolCall, ToolMessage

if TYPE_CHECKING:
    from .tools import Tool

__all__ = [
    "CallObserver",
    "CallTask",
    "NoScore",
    "Replayed",
    "ToolOutcome",
    "ToolResultError",
    "dedupe_calls",
    "discard_changes",
    "failed",
    "render_result",
]


def render_result(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=_json_default, ensure_ascii=False)


class ToolResultError(CadenceError):
    """A tool ran but its return value cannot be rendered as text for the model.

    Circular data or a dict with non-string keys, for example: the call becomes an error result
    (the model learns the tool ran), not a failed turn. Return a str or JSON-serialisable data.
    """

    default_code = "TOOL_RESULT"


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return str(value)
    if isinstance(value, enum.Enum | datetime.date | datetime.time | datetime.timedelta) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        # As pydantic writes them (a dataclass as an object, an enum as its value, a date in
        # ISO form), matching how the tool's arguments are written, not as a Python repr.
        return to_jsonable_python(value, fallback=str)
    return str(value)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool call produced.

    Attributes:
        call: The call as run (after :func:`dedupe_calls`).
        message: The tool result for the model (``is_error`` when it failed).
        value: The function's return value (``None`` on error).
        error: The exception for a failed call (bad arguments, unknown tool, the tool raised).
        duration: Seconds the call took.
        replayed: The call was not run: its recorded outcome was reused (a resumed agent).
    """

    call: ToolCall
    message: ToolMessage
    value: Any = None
    error: BaseException | None = None
    duration: float = 0.0
    replayed: bool = False

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.error is None


def dedupe_calls(
    calls: Sequence[ToolCall], *, prefix: str = "call", taken: Collection[str] = ()
) -> tuple[ToolCall, ...]:
    """Give every call a unique, non-empty id, so each result answers exactly one call.

    A call repeating an earlier one exactly (same id, name and arguments, as some providers
    stream by mistake) is dropped, so a side-effecting tool does not run twice. A different
    call reusing an id gets the id with a ``-n`` suffix (``call_0-2``: every provider accepts
    ids of letters, digits, ``_`` and ``-``); a missing id becomes ``{prefix}_{i}``. Ids in
    ``taken`` (the calls of earlier turns) are never reused: a call carrying one is a new call
    and gets a suffixed id (providers that send no ids get ``call_0`` on every turn).
    """
    seen: dict[str, ToolCall] = {}
    out: list[ToolCall] = []
    for i, call in enumerate(calls):
        cid = call.id or f"{prefix}_{i}"
        if cid in seen or cid in taken:
            earlier = seen.get(cid)
            if (
                earlier is not None
                and earlier.name == call.name
                and earlier.arguments == call.arguments
            ):
                continue
            n = 2
            while f"{cid}-{n}" in seen or f"{cid}-{n}" in taken:
                n += 1
            cid = f"{cid}-{n}"
        fixed = call if cid == call.id else call.model_copy(update={"id": cid})
        seen[cid] = fixed
        out.append(fixed)
    return tuple(out)


@dataclass
class NoScore:
    """Stands in for the score when tools are run without one."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """A recorded outcome to use instead of running a call, and how to redo its score changes."""

    outcome: ToolOutcome
    apply: Callable[[Any], None]


class CallObserver:
    """Told about each call :meth:`ToolBox.run` runs, and asked for recorded ones; a no-op base.

    Agents use it to stream tool-call events and to record each call's outcome the moment it
    completes, so a resumed turn reuses it instead of running the tool again.
    """

    def replay(self, call: ToolCall) -> Replayed | None:
        """The recorded outcome of ``call``, or ``None`` to run it."""
        return None

    async def started(self, call: ToolCall) -> None:
        """The call is about to run."""

    async def completed(self, outcome: ToolOutcome, view: Any) -> None:
        """The call completed (``view`` is its isolated view of the score, before the merge)."""


class CallTask:
    """One call as a task of the group: never raises unless the tool is fatal."""

    __slots__ = (
        "_kwargs",
        "_observer",
        "_origin",
        "_replayed",
        "_semaphore",
        "_slots",
        "_tool",
        "call",
        "index",
        "note_name",
    )
    _cadence_is_async = True

    def __init__(
        self,
        tool: Tool,
        call: ToolCall,
        kwargs: dict[str, Any],
        index: int,
        slots: list[ToolOutcome | None],
        semaphore: asyncio.Semaphore | None,
        observer: CallObserver | None = None,
        replayed: Replayed | None = None,
        origin: Any = None,
    ) -> None:
        self._origin = origin  # the score before the group, to undo a failed call's changes
        self._tool = tool
        self.call = call
        self._kwargs = kwargs
        self.index = index
        self._slots = slots
        self._semaphore = semaphore
        self._observer = observer
        self._replayed = replayed
        self.note_name = tool.name

    async def __call__(self, view: Any) -> None:
        if self._replayed is not None:
            self._replayed.apply(view)
            self._slots[self.index] = self._replayed.outcome
            if self._observer is not None:
                await self._observer.completed(self._replayed.outcome, view)
            return
        if self._semaphore is None:
            await self._execute(view)
        else:
            async with self._semaphore:
                await self._execute(view)

    async def _execute(self, view: Any) -> None:
        if self._observer is not None:
            await self._observer.started(self.call)
        outcome = await self._run(view)
        self._slots[self.index] = outcome
        if self._observer is not None:
            await self._observer.completed(outcome, view)

    async def _run(self, view: Any) -> ToolOutcome:
        started = time.perf_counter()
        if self._tool.has_policies:
            # The runner starts group tasks eagerly: until the first suspension the code runs in
            # the *caller's* asyncio task, where a timeout would cancel the wrong task. Yield
            # once so policies run inside the call's own task.
            await asyncio.sleep(0)
        try:
            value = await self._tool.invoke(view, self._kwargs, origin=self._origin)
        except Exception as exc:
            if self._tool.fatal or isinstance(exc, BudgetExceededError):
                raise  # a nested agent's budget stop is not a tool error for the model to read
            return failed(self.call, exc, time.perf_counter() - started)
        try:
            content = render_result(value)
        except Exception as exc:  # circular data, non-string dict keys, a failing model_dump
            if self._tool.fatal:
                raise
            problem = ToolResultError(
                f"tool {self.call.name!r} ran, but its result cannot be sent to the model "
                f"({type(exc).__name__}: {exc})"
            )
            problem.__cause__ = exc
            return failed(self.call, problem, time.perf_counter() - started)
        message = ToolMessage(tool_call_id=self.call.id, content=content, name=self.call.name)
        return ToolOutcome(self.call, message, value, None, time.perf_counter() - started)


def discard_changes(view: Any, origin: Any) -> None:
    """Undo what a failed attempt of a tool changed on its view of ``origin`` (the score before
    the group), so a retried attempt starts from the score as it was."""
    if origin is None or view is origin:
        return
    if isinstance(view, dict) and isinstance(origin, dict):
        for key in [k for k in view if k not in origin]:
            del view[key]
        for key, value in origin.items():
            if key not in view or view[key] != value:
                view[key] = copy.deepcopy(value)
        return
    try:
        changes = task_changes(view, origin)
    except (AttributeError, TypeError):  # not a group view: nothing isolated to undo
        return
    before = {name: getattr(origin, name) for name in changes.values if hasattr(origin, name)}
    if before:
        replay_changes(view, TaskChanges(before, changes.in_place & before.keys()))


def failed(call: ToolCall, exc: BaseException, duration: float = 0.0) -> ToolOutcome:
    text = exc.message if isinstance(exc, CadenceError) else str(exc)
    content = f"Error: {type(exc).__name__}: {text}"
    message = ToolMessage(tool_call_id=call.id, content=content, name=call.name, is_error=True)
    return ToolOutcome(call, message, None, exc, duration)
