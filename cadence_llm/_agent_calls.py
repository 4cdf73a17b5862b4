"""Durable tool calls: a turn's model answer and each tool call's outcome, recorded as they happen.

A checkpointed agent saves a checkpoint after every *turn*; a process killed in the middle of a
turn would replay the turn's model call and run again every tool the turn had already
completed -- a payment charged twice. So within a turn the agent also records, in the same
checkpoint store under its own key (``"<agent>:calls"``, same run id):

* the model's answer, right after it arrives and before any tool runs, and
* each tool call's outcome the moment it completes: the result text the model will read and
  the score fields the call changed (encoded with the score codec, in-place list/dict/set
  changes marked as such so they merge exactly as the live call would have).

A resumed turn reuses the recorded answer instead of calling the model, and for every recorded
call puts the recorded changes on the call's isolated view instead of running the tool; the
group then merges as if the tools had just run. Only a call whose process died between the
tool returning and its record being written runs again (the same at-least-once window every
checkpointed step has).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from cadence import TaskChanges, replay_changes, task_changes
from cadence.exceptions import CadenceError, CheckpointError

from ._tool_calls import CallObserver, Replayed, ToolOutcome
from .messages import ModelResponse, ToolCall, ToolMessage

__all__ = ["RECORD_FORMAT", "DurableCalls", "ReplayedToolError", "TurnRecord", "calls_key"]

RECORD_FORMAT = "cadence.agent-turn/1"


def calls_key(agent_name: str) -> str:
    """The checkpoint key (in place of a cadence name) of an agent's in-turn records."""
    return f"{agent_name}:calls"


class ReplayedToolError(CadenceError):
    """Stands in for the exception of a recorded failed call (the original is not stored)."""

    default_code = "TOOL_FAILED"


def _corrupt(why: str) -> CheckpointError:
    return CheckpointError(
        f"corrupt agent turn record: {why}; clear the run's checkpoints to start it again",
        code="CHECKPOINT_CORRUPT",
    )


class TurnRecord:
    """One turn's recorded model answer and completed calls, and the writer that keeps it.

    Args:
        store: The agent's checkpoint store.
        key: :func:`calls_key` of the agent.
        run_id: The agent run's id.
        turn: The turn number.
        response: The model's answer for this turn.
        messages: How long the transcript was when the turn started (ties the record to it).
        calls: Recorded calls by call id (as stored).
    """

    def __init__(
        self,
        store: Any,
        key: str,
        run_id: str,
        turn: int,
        response: ModelResponse,
        messages: int,
        calls: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.run_id = run_id
        self.turn = turn
        self.response = response
        self.messages = messages
        self.calls: dict[str, dict[str, Any]] = dict(calls or {})
        self._lock = asyncio.Lock()

    @classmethod
    async def load(
        cls, store: Any, key: str, run_id: str, turn: int, messages: int
    ) -> TurnRecord | None:
        """The record of ``turn`` if the store holds one (a turn interrupted by a crash).

        ``messages`` is the length of the transcript the turn starts from; a record made from
        another transcript (a finished turn's leftover, an earlier run) is not this turn's.
        """
        state = await store.get_last_score_state(key, run_id)
        if (
            state is None
            or state.get("format") != RECORD_FORMAT
            or state.get("turn") != turn
            or state.get("messages") != messages
        ):
            return None
        calls = state.get("calls")
        if not isinstance(calls, dict) or not all(isinstance(v, dict) for v in calls.values()):
            raise _corrupt("'calls' is not an object of call records")
        try:
            response = ModelResponse.model_validate(state.get("response"))
        except ValidationError as exc:
            raise _corrupt(
                f"the recorded model answer does not validate ({exc.error_count()} errors)"
            ) from exc
        return cls(store, key, run_id, turn, response, messages, calls)

    def _state(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "turn": self.turn,
            "messages": self.messages,
            "response": self.response.model_dump(mode="json"),
            "calls": self.calls,
        }

    async def save(self, step: str) -> None:
        """Write the record (serialized: concurrent calls each write the whole, latest record)."""
        async with self._lock:
            await self.store.save_checkpoint(
                self.key, self.run_id, f"turn_{self.turn}:{step}", self.turn, self._state()
            )


class DurableCalls(CallObserver):
    """Records each completed call of a turn and replays recorded ones; relays events.

    Args:
        record: The turn's record (``None``: record nothing, only relay events).
        score: The score the tools work on (``None`` when they have none).
        codec: Encodes the fields a call changed.
        started: Called with each call about to run.
        completed: Called with each completed (or replayed) call's outcome.
    """

    def __init__(
        self,
        record: TurnRecord | None,
        score: Any,
        codec: Any,
        started: Any,
        completed: Any,
    ) -> None:
        self.record = record
        self.score = score
        self.codec = codec
        self._started = started
        self._completed = completed
        # Score changes are recorded for dataclass and pydantic scores (what the codec encodes).
        self.durable = record is not None and score is not None and not isinstance(score, dict)

    def replay(self, call: ToolCall) -> Replayed | None:
        if self.record is None:
            return None
        stored = self.record.calls.get(call.id)
        if stored is None:
            return None
        content, is_error = stored.get("content"), stored.get("is_error")
        if not isinstance(content, str) or not isinstance(is_error, bool):
            raise _corrupt(f"call {call.id!r} has no result text")
        message = ToolMessage(
            tool_call_id=call.id, content=content, name=call.name, is_error=is_error
        )
        error = ReplayedToolError(content) if is_error else None
        changes = TaskChanges(self._decode(stored), frozenset(stored.get("in_place") or ()))
        outcome = ToolOutcome(call, message, None, error, float(stored.get("duration", 0.0)), True)
        return Replayed(outcome, lambda view: replay_changes(view, changes))

    def _decode(self, stored: dict[str, Any]) -> dict[str, Any]:
        state = stored.get("changes")
        if state is None:
            return {}
        if not self.durable:
            raise _corrupt("a call recorded score changes but the agent runs without a score")
        decoded: dict[str, Any] = self.codec.decode_fields(state, type(self.score))
        return decoded

    async def started(self, call: ToolCall) -> None:
        await self._started(call)

    async def completed(self, outcome: ToolOutcome, view: Any) -> None:
        if self.record is not None and not outcome.replayed:
            entry: dict[str, Any] = {
                "content": outcome.message.content,
                "is_error": outcome.message.is_error,
                "duration": outcome.duration,
            }
            if self.durable:
                changes = task_changes(view, self.score)
                if changes.values:
                    entry["changes"] = self.codec.encode_fields(type(self.score), changes.values)
                    entry["in_place"] = sorted(changes.in_place)
            self.record.calls[outcome.call.id] = entry
            await self.record.save(outcome.call.id)
        await self._completed(outcome)
