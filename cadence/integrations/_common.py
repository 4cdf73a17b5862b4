"""Running one request's cadence, shared by the FastAPI and Flask integrations.

A web app shares one cadence definition between all requests, so per-request extras (an
app-wide reporter, an event stream) cannot be attached to the definition with ``with_hooks``:
that would leak one request's observers into every other run. They are handed to the runner
for this run only, the way a ``.child`` step hands its parent's hooks to the child.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from cadence._cadence import Cadence
from cadence._observe._reporter import CallableReporter
from cadence.exceptions import CadenceDefinitionError, RunSuspended

__all__ = [
    "ReporterHooks",
    "execute",
    "get_resource",
    "require_score",
    "resources_var",
    "run_async",
    "suspended_body",
]

S = TypeVar("S")
T = TypeVar("T")

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


def check_servable(cadence: Any, where: str) -> None:
    """Refuse, when a route is made, what it cannot serve: a non-cadence, or a cadence whose
    checkpoint has a fixed run id (every request would resume or replay that one run)."""
    if not isinstance(cadence, Cadence):
        raise CadenceDefinitionError(f"{where}: expected a Cadence, got {type(cadence).__name__}")
    if (fixed := cadence.plan().checkpoint_run_id) is not None:
        raise CadenceDefinitionError(
            f"{where}: cadence {cadence.name!r} has the fixed run id {fixed!r}, so every "
            "request would resume or replay that one run; drop run_id= from "
            ".with_checkpoint() (each request gets its own id, or its Idempotency-Key)"
        )


def suspended_body(exc: RunSuspended) -> dict[str, Any]:
    """The ``202 Accepted`` body of a run that parked at a wait: what it waits for."""
    return {
        "status": "waiting",
        "run_id": exc.run_id,
        "cadence": exc.cadence_name,
        "waits": [w.to_dict() for w in exc.waits],
    }


class ReporterHooks(CallableReporter):
    """Calls a ``with_reporter``-style ``reporter(note_name, seconds, score)`` for one run.

    A :class:`~cadence.reporters.Reporter` bound to the cadence of the first run it sees (the
    route's own), so like ``Cadence.with_reporter`` it reports that cadence's steps and
    ``"<cadence>:TOTAL"``, not child cadences' steps. Make one per run.
    """

    def __init__(self, reporter: Callable[[str, float, Any], Any]) -> None:
        super().__init__(reporter, cadence_name=None)

    async def before_cadence(self, cadence_name: str, score: Any) -> None:
        """Bind to the outermost run's cadence."""
        if self.cadence_name is None:
            self.cadence_name = cadence_name


def require_score(fn: Callable[..., Any], result: Any) -> Any:
    """Fail clearly when a score factory returned nothing."""
    if result is None:
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"{name}() returned None; a cadence route's function must return the initial "
            "score for the run, e.g. return OrderScore(order_id=order_id)"
        )
    return result


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code without disturbing a running event loop.

    A plain Flask worker thread has no loop, so the coroutine gets a fresh one; when the
    thread already runs a loop (an ASGI adapter, a notebook) it runs on a new loop in a worker
    thread instead of failing with "asyncio.run() cannot be called from a running event loop".
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()  # keeps Flask's request context visible to notes
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cadence-flask") as pool:
        return pool.submit(context.run, asyncio.run, coro).result()
