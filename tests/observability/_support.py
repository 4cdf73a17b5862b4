"""Helpers shared by the observability tests: a score and a hook recorder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence import CadenceHooks


@dataclass
class Order:
    """A plain dataclass score."""

    order_id: str = "ORD-1"
    items: list[str] = field(default_factory=list)
    total: float = 0.0
    status: str = "new"


class Recorder(CadenceHooks):
    """Records every hook call as a tuple, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        self.calls.append(("before_cadence", cadence_name))

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("after_cadence", cadence_name, type(error).__name__ if error else None))

    async def before_note(self, note_name: str, score: Any) -> None:
        self.calls.append(("before_note", note_name))

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("after_note", note_name, type(error).__name__ if error else None))

    async def on_error(self, note_name: str, score: Any, error: BaseException) -> bool | None:
        self.calls.append(("on_error", note_name, type(error).__name__))
        return None

    async def on_retry(
        self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
    ) -> None:
        self.calls.append(("on_retry", note_name, attempt, max_attempts))

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        self.calls.append(("before_group", group_name, kind, tuple(task_names)))

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        self.calls.append(
            ("after_group", group_name, kind, type(error).__name__ if error else None)
        )
