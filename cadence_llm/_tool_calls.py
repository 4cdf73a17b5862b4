"""Running single tool calls: outcomes, unique call ids, result text, the group task wrapper.

Private helpers of :mod:`cadence_llm.tools`; the public names are re-exported there.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cadence.exceptions import CadenceError

from .messages import ToolCall, ToolMessage

if TYPE_CHECKING:
    from .tools import Tool

__all__ = ["CallTask", "NoScore", "ToolOutcome", "dedupe_calls", "failed", "render_result"]


def render_result(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
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
    """

    call: ToolCall
    message: ToolMessage
    value: Any = None
    error: BaseException | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.error is None


def dedupe_calls(calls: Sequence[ToolCall], *, prefix: str = "call") -> tuple[ToolCall, ...]:
    """Give every call a unique, non-empty id, so each result answers exactly one call.

    A call repeating an earlier one exactly (same id, name and arguments, as some providers
    stream by mistake) is dropped, so a side-effecting tool does not run twice. A different
    call reusing an id gets the id with a ``-n`` suffix (``call_0-2``: every provider accepts
    ids of letters, digits, ``_`` and ``-``); a missing id becomes ``{prefix}_{i}``.
    """
    seen: dict[str, ToolCall] = {}
    out: list[ToolCall] = []
    for i, call in enumerate(calls):
        cid = call.id or f"{prefix}_{i}"
        if cid in seen:
            if seen[cid].name == call.name and seen[cid].arguments == call.arguments:
                continue
            n = 2
            while f"{cid}-{n}" in seen:
                n += 1
            cid = f"{cid}-{n}"
        fixed = call if cid == call.id else call.model_copy(update={"id": cid})
        seen[cid] = fixed
        out.append(fixed)
    return tuple(out)


@dataclass
class NoScore:
    """Stands in for the score when tools are run without one."""


class CallTask:
    """One call as a task of the group: never raises unless the tool is fatal."""

    __slots__ = ("_kwargs", "_semaphore", "_slots", "_tool", "call", "index", "note_name")
    _cadence_is_async = True

    def __init__(
        self,
        tool: Tool,
        call: ToolCall,
        kwargs: dict[str, Any],
        index: int,
        slots: list[ToolOutcome | None],
        semaphore: asyncio.Semaphore | None,
    ) -> None:
        self._tool = tool
        self.call = call
        self._kwargs = kwargs
        self.index = index
        self._slots = slots
        self._semaphore = semaphore
        self.note_name = tool.name

    async def __call__(self, view: Any) -> None:
        started = time.perf_counter()
        if self._tool.has_policies:
            # The runner starts group tasks eagerly: until the first suspension the code runs in
            # the *caller's* asyncio task, where a timeout would cancel the wrong task. Yield
            # once so policies run inside the call's own task.
            await asyncio.sleep(0)
        try:
            if self._semaphore is None:
                value = await self._tool.invoke(view, self._kwargs)
            else:
                async with self._semaphore:
                    value = await self._tool.invoke(view, self._kwargs)
        except Exception as exc:
            if self._tool.fatal:
                raise
            self._slots[self.index] = failed(self.call, exc, time.perf_counter() - started)
            return
        message = ToolMessage(
            tool_call_id=self.call.id, content=render_result(value), name=self.call.name
        )
        self._slots[self.index] = ToolOutcome(
            self.call, message, value, None, time.perf_counter() - started
        )


def failed(call: ToolCall, exc: BaseException, duration: float = 0.0) -> ToolOutcome:
    text = exc.message if isinstance(exc, CadenceError) else str(exc)
    content = f"Error: {type(exc).__name__}: {text}"
    message = ToolMessage(tool_call_id=call.id, content=content, name=call.name, is_error=True)
    return ToolOutcome(call, message, None, exc, duration)
