"""The records of an agent run: its checkpointed state, its result, its events, its limit error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence import Spend
from cadence.exceptions import CadenceError

from .messages import Message, ToolCall, Usage
from .tools import ToolOutcome

__all__ = [
    "OUTPUT",
    "STREAM_RESET",
    "TEXT_DELTA",
    "TOOL_COMPLETED",
    "TOOL_STARTED",
    "TURN_COMPLETED",
    "TURN_STARTED",
    "AgentEvent",
    "AgentResult",
    "AgentState",
    "TurnLimitError",
]

TURN_STARTED = "turn.started"
TEXT_DELTA = "text.delta"
STREAM_RESET = "stream.reset"
TOOL_STARTED = "tool.started"
TOOL_COMPLETED = "tool.completed"
TURN_COMPLETED = "turn.completed"
OUTPUT = "output"


class TurnLimitError(CadenceError):
    """The model still wanted tools when the agent's last allowed turn was reached.

    Attributes:
        max_turns: The limit.
        messages: The transcript so far.
        usage: Tokens used by the run.
    """

    default_code = "TURN_LIMIT"

    def __init__(
        self, message: str, *, max_turns: int, messages: Sequence[Message], usage: Usage
    ) -> None:
        super().__init__(message, details={"max_turns": max_turns})
        self.max_turns = max_turns
        self.messages = tuple(messages)
        self.usage = usage


@dataclass
class AgentState:
    """What an agent run holds between turns (and checkpoints after each completed turn)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    answer: str | None = None
    score_state: dict[str, Any] | None = None
    spend: Spend | None = None
    output_retries: int = 0

    @property
    def usage(self) -> Usage:
        """Tokens used so far."""
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens,
            cache_write_tokens=self.cache_write_tokens,
        )


@dataclass(frozen=True, slots=True)
class AgentResult:
    """A finished agent run: the answer, the transcript, and what it took.

    ``output`` is the answer validated as the agent's ``output_type`` (the answer text without
    one); ``spend`` is what the agent's own ``budget=`` counted (``None`` without one).
    """

    answer: str
    messages: tuple[Message, ...]
    turns: int
    tool_calls: int
    usage: Usage
    spend: Spend | None = None
    output: Any = None


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """Something that happened in an agent's run; ``kind`` says what.

    ``turn.started``; ``text.delta`` (``text``: a piece of the model's answer, when the run is
    streamed); ``stream.reset`` (``text``: why; discard the turn's text so far, a fallback chain
    moved to another model); ``tool.started`` (``call``); ``tool.completed`` (``call`` and
    ``outcome``); ``turn.completed`` (``usage`` of the turn, ``tool_calls`` it asked for);
    finally ``output`` (``output``: the final typed output, ``result``: the ``AgentResult``).
    """

    kind: str
    agent: str
    turn: int
    usage: Usage | None = None
    tool_calls: int = 0
    outcome: ToolOutcome | None = None
    text: str = ""
    call: ToolCall | None = None
    output: Any = None
    result: AgentResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-able data (what the SSE endpoint sends)."""
        data: dict[str, Any] = {"kind": self.kind, "agent": self.agent, "turn": self.turn}
        if self.text:
            data["text"] = self.text
        if self.call is not None:
            data.update(call_id=self.call.id, name=self.call.name, arguments=self.call.arguments)
        if self.outcome is not None:
            data.update(
                ok=self.outcome.ok,
                content=self.outcome.message.content,
                replayed=self.outcome.replayed,
            )
        if self.usage is not None:
            data["usage"] = self.usage.model_dump()
        if self.kind == TURN_COMPLETED:
            data["tool_calls"] = self.tool_calls
        if self.kind == OUTPUT:
            out = self.output
            data["output"] = out.model_dump(mode="json") if hasattr(out, "model_dump") else out
        return data
