"""Running one request's cadence, shared by the FastAPI and Flask integrations.

A web app shares one cadence definition between all requests, so per-request extras (an
app-wide reporter, an event stream) cannot be attached to the definition with ``with_hooks``:
that would leak one request's observers into every other run. They are handed to the runner
for this run only, the way a ``.child`` step hands its parent's hooks to the child.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from cadence._cadence import Cadence
from cadence._observe._base import CadenceHooks

__all__ = ["ReporterHooks", "execute", "get_resource", "require_score", "resources_var"]

S = TypeVar("S")

resources_var: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "cadence_web_resources", default=None
)
"""The shared resources (from the app's lifespan) visible to the notes of the current request."""


def get_resource(name: str) -> Any:
    """A shared resource opened by the app's lifespan, from inside a note.

    Notes only receive the score, so a client opened once at startup (an HTTP client, a model,
    a store) is reached through the request that runs the note.

    Raises:
        LookupError: No resource of that name for the current request.
    """
    resources = resources_var.get()
    if resources is None or name not in resources:
        known = ", ".join(sorted(resources)) if resources else "none"
        raise LookupError(
            f"no shared resource named {name!r} for this request (known: {known}); open it in "
            f"cadence_lifespan({name}=...) and run the cadence through a cadence route"
        )
    return resources[name]


async def execute(
    cadence: Cadence[S], score: S, *, run_id: str | None = None, hooks: Sequence[Any] = ()
) -> S:
    """Run ``cadence`` on ``score`` with ``hooks`` attached to this run only."""
    return await cadence.run(score, run_id=run_id, hooks=list(hooks) if hooks else None)


class ReporterHooks(CadenceHooks):
    """Calls a ``with_reporter``-style ``reporter(note_name, seconds, score)`` for one run.

    Like ``Cadence.with_reporter``, it reports top-level steps and ``"<cadence>:TOTAL"``; the
    tasks inside groups and the steps of child cadences are not reported separately.
    """

    def __init__(self, reporter: Callable[[str, float, Any], Any]) -> None:
        self._reporter = reporter
        self._depth = 0
        self._runs = 0

    async def _report(self, name: str, seconds: float, score: Any) -> None:
        result = self._reporter(name, seconds, score)
        if inspect.isawaitable(result):
            await result

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Count nested runs so only the outermost one reports its total."""
        self._runs += 1

    async def before_group(
        self, group_name: str, kind: str, task_names: Sequence[str], score: Any
    ) -> None:
        """Enter a group: its tasks are not top-level steps."""
        self._depth += 1

    async def after_group(
        self,
        group_name: str,
        kind: str,
        score: Any,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Leave a group."""
        self._depth -= 1

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report a top-level step that succeeded."""
        if self._depth == 0 and error is None:
            await self._report(note_name, duration, score)

    async def after_cadence(
        self, cadence_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        """Report the outermost run's total."""
        self._runs -= 1
        if self._runs == 0:
            await self._report(f"{cadence_name}:TOTAL", duration, score)


def require_score(fn: Callable[..., Any], result: Any) -> Any:
    """Fail clearly when a score factory returned nothing."""
    if result is None:
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"{name}() returned None; a cadence route's function must return the initial "
            "score for the run, e.g. return OrderScore(order_id=order_id)"
        )
    return result
