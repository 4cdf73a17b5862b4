"""The records of an agent run: its checkpointed state, its result, its events, its limit error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence._budget import Spend
from cadence.exceptions import CadenceError

from .messages import Message, Usage
from .tools import ToolOutcome

__all__ = [
    "TOOL_COMPLETED",
    "TURN_COMPLETED",
    "TURN_STARTED",
    "AgentEvent",
    "AgentResult",
    "AgentState",
    "TurnLimitError",
]

TURN_STARTED = "turn.started"
TURN_COMPLETED = "turn.completed"
TOOL_COMPLETED = "tool.completed"


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
    answer: str | None = None
    score_state: dict[str, Any] | None = None
    spend: Spend | None = None

    @property
    def usage(self) -> Usage:
        """Tokens used so far."""
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens,
        )


@dataclass(frozen=True, slots=True)
class AgentResult:
    """A finished agent run: the answer, the transcript, and what it took.

    ``spend`` is what the agent's own ``budget=`` counted (``None`` without one).
    """

    answer: str
    messages: tuple[Message, ...]
    turns: int
    tool_calls: int
    usage: Usage
    spend: Spend | None = None


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One turn started or completed, or one tool call completed (``kind``).

    ``outcome`` is set for ``tool.completed``; ``usage`` is the turn's for ``turn.completed``.
    """

    kind: str
    agent: str
    turn: int
    usage: Usage | None = None
    tool_calls: int = 0
    outcome: ToolOutcome | None = None
