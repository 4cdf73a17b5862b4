"""FastAPI pieces around the router: responses, the dependency form, the lifespan helper.

Split from ``fastapi.py`` to keep each module about one thing; import them from
``cadence.integrations.fastapi``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse

from cadence._cadence import Cadence
from cadence.exceptions import CadenceDefinitionError, CadenceError, RunSuspended
from cadence.integrations._common import ReporterHooks, execute, resources_var, suspended_body
from cadence.integrations._encode import dumps
from cadence.integrations._idempotency import StoredResponse
from cadence.integrations._problem import (
    PROBLEM_MEDIA_TYPE,
    ErrorMapping,
    Problem,
    problem_for,
    validation_problem,
)

__all__ = [
    "CadenceDependency",
    "CadenceRun",
    "as_response",
    "cadence_lifespan",
    "install_problem_handlers",
    "problem_response",
    "replay",
    "stored",
]

S = TypeVar("S")
_JSON = "application/json"


def problem_response(problem: Problem) -> Response:
    """A ``Response`` carrying a problem document with its headers."""
    return Response(
        problem.body(), problem.status, dict(problem.headers), media_type=PROBLEM_MEDIA_TYPE
    )


def as_response(outcome: Any) -> Response:
    if isinstance(outcome, Problem):
        return problem_response(outcome)
    if isinstance(outcome, Response):
        return outcome
    raise TypeError(
        f"an errors= handler must return a Problem, a Response or None, got {outcome!r}"
    )


def stored(response: Response) -> StoredResponse:
    if isinstance(response, StreamingResponse):
        raise TypeError("a streaming response cannot be replayed for an Idempotency-Key")
    headers = tuple(
        (k, v) for k, v in response.headers.items() if k not in ("content-length", "content-type")
    )
    return StoredResponse(
        response.status_code, bytes(response.body), response.media_type or _JSON, headers
    )


def replay(stored: StoredResponse, *, replayed: bool) -> Response:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, stored.status, headers, media_type=stored.media_type)


class CadenceRun(Generic[S]):
    """Runs one cadence inside a hand-written endpoint (what :class:`CadenceDependency` gives)."""

    def __init__(self, cadence: Cadence[S], hooks: Callable[[], list[Any]], resources: Any) -> None:
        self.cadence = cadence
        self._hooks = hooks
        self._resources = resources

    async def __call__(self, score: S, *, run_id: str | None = None) -> S:
        """Run the cadence on ``score``; failures raise (see :func:`install_problem_handlers`)."""
        token = resources_var.set(self._resources)
        try:
            return await execute(self.cadence, score, run_id=run_id, hooks=self._hooks())
        finally:
            resources_var.reset(token)


class CadenceDependency(Generic[S]):
    """A FastAPI dependency that hands your endpoint a :class:`CadenceRun`.

    ::

        checkout = CadenceDependency(checkout_cadence)

        @app.post("/checkout")
        async def do_checkout(order: Order, run: CadenceRun = Depends(checkout)):
            result = await run(OrderScore(order_id=order.id))
            return {"status": result.status}

    Args:
        cadence: The cadence to run.
        reporter: Optional ``reporter(note_name, seconds, score)`` for each run.
    """

    def __init__(
        self, cadence: Cadence[S], *, reporter: Callable[[str, float, Any], Any] | None = None
    ) -> None:
        if not isinstance(cadence, Cadence):
            raise CadenceDefinitionError(
                f"CadenceDependency expects a Cadence, got {type(cadence).__name__}"
            )
        self.cadence = cadence
        self.reporter = reporter

    def _hooks(self) -> list[Any]:
        return [] if self.reporter is None else [ReporterHooks(self.reporter)]

    async def __call__(self, request: Request = None) -> CadenceRun[S]:  # type: ignore[assignment]
        # FastAPI always passes the request; 0.7.2 code awaiting ``dep()`` itself does not.
        state = request.scope.get("state") if request is not None else None
        return CadenceRun(self.cadence, self._hooks, state)


def suspended_response(exc: RunSuspended, location: str | None = None) -> Response:
    """``202 Accepted`` for a parked run, naming what it waits for."""
    headers = {"Location": location} if location is not None else None
    return Response(dumps(suspended_body(exc)), 202, headers, media_type=_JSON)


def install_problem_handlers(
    app: FastAPI, *, errors: ErrorMapping | None = None, expose_errors: bool = False
) -> None:
    """Answer every uncaught ``CadenceError`` of ``app`` with a problem+json response.

    For hand-written endpoints (``CadenceDependency``); ``@router.cadence`` routes map their
    errors themselves. Request validation errors become the same bounded 422 problem as on
    cadence routes, whatever the rejected input holds (NaN, lone surrogates, 10 MB strings).
    """

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RunSuspended):  # parked at a wait: 202, as on @router.cadence routes
            return suspended_response(exc)
        return as_response(problem_for(exc, errors=errors, expose_errors=expose_errors))

    async def invalid(request: Request, exc: Exception) -> Response:
        found = exc.errors() if isinstance(exc, RequestValidationError) else []
        return problem_response(validation_problem(list(found)))

    app.add_exception_handler(CadenceError, handle)
    app.add_exception_handler(RequestValidationError, invalid)


def cadence_lifespan(
    **resources: Any,
) -> Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]:
    """A FastAPI ``lifespan`` that opens shared resources once and closes them at shutdown.

    Each keyword is a resource: an (async) context manager is entered, a zero-argument
    callable is called first (its result may be awaitable or a context manager), anything
    else is used as is. Resources are closed in reverse order at shutdown. They are set on
    ``app.state``, on ``request.state``, and reachable from notes with :func:`get_resource`.

    ::

        app = FastAPI(lifespan=cadence_lifespan(http=lambda: httpx.AsyncClient()))
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            opened: dict[str, Any] = {}
            for name, value in resources.items():
                opened[name] = await _open(stack, value)
                setattr(app.state, name, opened[name])
            yield opened

    return lifespan


async def _open(stack: AsyncExitStack, value: Any) -> Any:
    is_manager = hasattr(value, "__aenter__") or hasattr(value, "__enter__")
    if callable(value) and (isinstance(value, type) or not is_manager):  # a factory
        value = value()
        if inspect.isawaitable(value):
            value = await value
    if hasattr(value, "__aenter__"):
        return await stack.enter_async_context(value)
    if hasattr(value, "__enter__"):
        return stack.enter_context(value)
    return value
