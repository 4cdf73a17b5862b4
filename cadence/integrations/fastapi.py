"""FastAPI integration: cadence-backed endpoints, safe under concurrency and bad input.

::

    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", checkout_cadence)
    async def create_order(order_id: str):
        return OrderScore(order_id=order_id)

    app.include_router(router)

The decorated function turns path, query and body parameters into the initial score; FastAPI
sees its real signature, so validation (422 naming the field) and OpenAPI work as for any
endpoint. Each request runs ``cadence.run(score)`` on the score that function returned -- the
definition's own score is never touched and requests share no state. The response is the final
score as JSON (or what ``response_mapper`` returns); a failed run becomes an RFC 9457
``application/problem+json`` response (see ``docs/web.md``).

Also here: Server-Sent Events of a run (``stream=True`` or ``"auto"``), ``Idempotency-Key``
support, :class:`CadenceDependency` for hand-written endpoints, and :func:`cadence_lifespan`
for resources shared by all requests.
"""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

try:
    from fastapi import APIRouter, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import Response, StreamingResponse
    from fastapi.routing import APIRoute
    from pydantic import TypeAdapter, ValidationError
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.types import Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "cadence.integrations.fastapi needs FastAPI: pip install 'cadence-orchestration[fastapi]'"
    ) from exc


from cadence._cadence import Cadence
from cadence.exceptions import CadenceDefinitionError, CadenceError, RunSuspended
from cadence.integrations._common import (
    ReporterHooks,
    check_servable,
    execute,
    get_resource,
    require_score,
    resources_var,
)
from cadence.integrations._encode import dumps, find_lone_surrogate
from cadence.integrations._fastapi_support import (
    CadenceDependency,
    CadenceRun,
    as_response,
    cadence_lifespan,
    install_problem_handlers,
    problem_response,
    replay,
    stored,
)
from cadence.integrations._idempotency import (
    IdempotencyRegistry,
    InMemoryIdempotencyStore,
    StoredResponse,
    as_idempotency_store,
    check_key,
    fingerprint,
)
from cadence.integrations._problem import (
    PROBLEM_MEDIA_TYPE,
    ErrorMapping,
    Problem,
    bad_request_problem,
    problem_for,
    validation_problem,
)
from cadence.integrations._stream import RunStream, publish_event

HAS_FASTAPI = True
"""0.7.2's flag; this module imports only when FastAPI is installed, so it is always ``True``."""


__all__ = [
    "CadenceDependency",
    "CadenceRouter",
    "CadenceRun",
    "InMemoryIdempotencyStore",
    "Problem",
    "cadence_lifespan",
    "get_resource",
    "install_problem_handlers",
    "problem_response",
    "publish_event",
]

_REQUEST_PARAM = "_cadence_request"
_CADENCE_NAME = "_cadence_name"  # set on endpoints, for the problems of their route class
_JSON = "application/json"
_PROBLEM_DOC: dict[str, Any] = {"content": {PROBLEM_MEDIA_TYPE: {}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid request", **_PROBLEM_DOC},
    202: {"description": "The run parked at a wait (see wait_routes)"},
    500: {"description": "A note failed", **_PROBLEM_DOC},
    503: {"description": "A circuit breaker is open (see Retry-After)", **_PROBLEM_DOC},
    504: {"description": "A note timed out", **_PROBLEM_DOC},
}


def _endpoint_signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        sig = inspect.signature(fn, eval_str=True)
    except NameError:  # annotations only importable under TYPE_CHECKING; FastAPI does the same
        sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if any(p.name == _REQUEST_PARAM for p in params):
        raise CadenceDefinitionError(
            f"{fn.__qualname__}: the parameter name {_REQUEST_PARAM!r} is reserved"
        )
    hidden = inspect.Parameter(_REQUEST_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    at = next(
        (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params)
    )
    params.insert(at, hidden)
    # No return annotation: the response is built here, not inferred from the factory's type.
    return sig.replace(parameters=params, return_annotation=inspect.Signature.empty)


class _Route:
    """Everything one ``@router.cadence`` endpoint needs per request."""

    def __init__(
        self,
        router: CadenceRouter,
        cadence: Cadence[Any],
        fn: Callable[..., Any],
        *,
        status_code: int,
        response_model: Any,
        response_mapper: Callable[[Any], Any] | None,
        errors: ErrorMapping | None,
        stream: bool | Literal["auto"],
        idempotent: bool,
    ) -> None:
        self.router = router
        self.cadence = cadence
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self.status_code = status_code
        self.adapter: TypeAdapter[Any] | None = (
            TypeAdapter(response_model) if response_model is not None else None
        )
        self.mapper = response_mapper
        self.plain = response_mapper is None and response_model is None
        self.errors = {**(router.errors or {}), **(errors or {})}
        self.stream = stream
        self.idempotent = idempotent

    async def body(self, final: Any) -> Any:
        """The response for a final score: bytes of JSON, or a ``Response`` from the mapper."""
        value = final
        if self.mapper is not None:
            value = self.mapper(final)
            if inspect.isawaitable(value):
                value = await value
            if isinstance(value, Response):
                return value
        if self.adapter is not None:
            validated = self.adapter.validate_python(value, from_attributes=True)
            return self.adapter.dump_json(validated)
        return dumps(value)

    def problem(self, error: BaseException) -> Any:
        return problem_for(
            error,
            errors=self.errors,
            expose_errors=self.router.expose_errors,
            cadence_name=self.cadence.name,
        )

    async def run(self, score: Any, run_id: str | None, hooks: Sequence[Any] = ()) -> Response:
        try:
            if hooks or self.router.reporter is not None:
                extra = [*hooks, *self.router.run_hooks()]
                final = await execute(self.cadence, score, run_id=run_id, hooks=extra)
            else:
                final = await self.cadence.run(score, run_id=run_id)
            body = dumps(final) if self.plain else await self.body(final)
        except RunSuspended as exc:
            from cadence.integrations._fastapi_waits import run_location, suspended_response

            where = self.router.wait_locations.get(self.cadence.name)
            return suspended_response(exc, run_location(where, exc.run_id) if where else None)
        except Exception as exc:
            return as_response(self.problem(exc))
        if isinstance(body, Response):
            return body
        return Response(body, self.status_code, media_type=_JSON)

    async def __call__(self, **kwargs: Any) -> Response:
        request: Request = kwargs.pop(_REQUEST_PARAM)
        resources = request.scope.get("state")
        token = resources_var.set(resources)
        try:
            bad = find_lone_surrogate(kwargs)
            if bad is not None:
                return problem_response(validation_problem([_surrogate_error(bad)]))
            try:
                if self.is_async:
                    score = await self.fn(**kwargs)
                else:
                    score = await run_in_threadpool(self.fn, **kwargs)
            except ValidationError as exc:  # a pydantic score rejected the request's values
                return problem_response(
                    validation_problem([dict(e) for e in exc.errors(include_url=False)])
                )
            except HTTPException:
                raise  # raised on purpose (404 unknown order, 403 ...): its status and handlers
            except Exception as exc:  # the score factory itself failed: a 500, never a trace
                if _app_handles(request, exc):
                    raise  # the app's own exception handler answers it, as for any endpoint
                return as_response(self.problem(exc))
            try:
                require_score(self.fn, score)
            except TypeError as exc:
                return as_response(self.problem(exc))
            if self.stream is True or (
                self.stream == "auto" and "text/event-stream" in request.headers.get("accept", "")
            ):
                return self.sse(score, resources)
            if self.idempotent and self.router.idempotency is not None:
                key = request.headers.get("idempotency-key")
                if key is not None:
                    return await self.run_once(request, check_key(key), score)
            return await self.run(score, None)
        except CadenceError as exc:
            return as_response(self.problem(exc))
        finally:
            resources_var.reset(token)

    async def run_once(self, request: Request, key: str, score: Any) -> Response:
        registry = self.router.idempotency
        assert registry is not None
        scoped = f"{request.method} {request.url.path} {key}"
        digest = fingerprint(request.url.query, await request.body())

        async def produce() -> StoredResponse:
            response = await self.run(score, scoped)
            return dataclasses.replace(stored(response), fingerprint=digest)

        response, replayed = await registry.respond(scoped, digest, produce)
        return replay(response, replayed=replayed)

    def sse(self, score: Any, resources: Any) -> Response:
        run_id = uuid.uuid4().hex  # sent in run_started so clients can correlate logs and hooks

        async def run(hooks: Sequence[Any]) -> Any:
            resources_var.set(resources)
            extra = [*hooks, *self.router.run_hooks()]
            return await execute(self.cadence, score, run_id=run_id, hooks=extra)

        async def render(final: Any) -> Any:
            body = await self.body(final)
            if isinstance(body, Response):
                return bytes(body.body).decode()
            return bytes(body).decode()

        def render_error(error: BaseException) -> dict[str, Any]:
            outcome = self.problem(error)
            if isinstance(outcome, Problem):
                return outcome.to_dict()
            return {"status": getattr(outcome, "status_code", 500), "code": "ERROR"}

        stream = RunStream(
            run,
            render_result=render,
            render_error=render_error,
            cadence_name=self.cadence.name,
            run_id=run_id,
            ping_interval=self.router.ping_interval,
        )
        return _SSEResponse(stream, self.router)


def _surrogate_error(loc: list[Any]) -> dict[str, Any]:
    return {
        "loc": ["body", *loc],
        "msg": "text holds a lone UTF-16 surrogate (not valid Unicode)",
        "type": "string_unicode",
    }


def _app_handles(request: Request, exc: Exception) -> bool:
    """Whether the app registered an exception handler for ``exc`` (``@app.exception_handler``).

    Such an exception -- ``NotAuthenticated`` from an auth dependency, say -- is the app's to
    answer, as on any other endpoint. A ``CadenceError`` or a request validation error is not:
    cadence routes map those themselves, whatever ``install_problem_handlers`` added.
    """
    found = request.scope.get("starlette.exception_handlers")
    if not found:
        return False
    handlers = found[0]
    for cls in type(exc).__mro__:
        if cls in handlers:
            return not issubclass(cls, CadenceError | RequestValidationError)
    return False


def _raised_by_framework(exc: BaseException) -> bool:
    """Whether FastAPI itself raised ``exc`` (its body parser), not the app's own code.

    The app may ``raise HTTPException(400, ...) from err`` in a dependency or the score factory;
    that one keeps its status, body and headers. FastAPI raises its 400/413 for a body it could
    not read from its own request handler, so the innermost frame is in ``fastapi``.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.split(".")[0] in ("fastapi", "starlette")


class _CadenceAPIRoute(APIRoute):
    """The route class of ``@router.cadence`` endpoints: request errors as problem+json too.

    FastAPI rejects a request before the endpoint runs -- invalid fields (422), a body it
    cannot parse (400), a body over the size limit (413), a validator that raised something
    other than ``ValueError`` -- with its own JSON, or a plain-text 500 when the rejected input
    cannot be rendered (NaN, lone surrogates). Here every such rejection becomes a small
    ``application/problem+json`` document like the run's own failures. An ``HTTPException``
    raised deliberately by the app's dependencies passes through unchanged, and so does an
    exception the app registered a handler for.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except RequestValidationError as exc:
                return problem_response(validation_problem(list(exc.errors())))
            except HTTPException as exc:
                cause = exc.__cause__
                if (
                    exc.status_code not in (400, 413)
                    or cause is None
                    or isinstance(cause, HTTPException)
                    or not _raised_by_framework(exc)
                ):
                    raise  # the app's own HTTPException: its status, detail and handlers
                detail = (
                    "the request body is nested too deeply to parse"
                    if isinstance(cause, RecursionError)
                    else str(exc.detail)
                )
                return problem_response(
                    bad_request_problem(
                        detail,
                        status=exc.status_code,
                        code="BODY_TOO_LARGE" if exc.status_code == 413 else "MALFORMED_BODY",
                    )
                )
            except Exception as exc:  # e.g. a body model's validator raised RuntimeError
                if _app_handles(request, exc):
                    raise  # e.g. an auth dependency's error, answered by the app's handler
                name = getattr(self.endpoint, _CADENCE_NAME, None)
                return problem_response(problem_for(exc, cadence_name=name))
            return response

        return handle


class _SSEResponse(StreamingResponse):
    """Streams a run; whatever ends the response (a hang-up included) ends the run."""

    def __init__(self, stream: RunStream, router: CadenceRouter) -> None:
        self._stream = stream
        self._router = router
        self._frames = stream.frames()
        super().__init__(
            self._frames,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._router.streams.add(self._stream)
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._router.streams.discard(self._stream)
            await self._stream.aclose()
            await self._frames.aclose()


class CadenceRouter(APIRouter):
    """An ``APIRouter`` whose ``@router.cadence(path, cadence)`` endpoints run a cadence.

    Args:
        errors: Overrides for the error mapping, ``{code or exception type: status or
            handler(error, problem)}``, for every route of the router.
        reporter: ``reporter(note_name, seconds, score)`` called for every run of every route
            (like ``Cadence.with_reporter``, without changing the cadence definitions).
        idempotency_store: Enables ``Idempotency-Key``: an ``InMemoryIdempotencyStore``, any
            checkpoint store, or your own ``IdempotencyStore``.
        expose_errors: Put exception messages in problem ``detail`` (development only).
        ping_interval: Seconds between SSE keep-alive comments (``None`` turns them off).
        **kwargs: Passed to ``APIRouter`` (``prefix``, ``tags``, ``lifespan`` ...).
    """

    def __init__(
        self,
        *,
        errors: ErrorMapping | None = None,
        reporter: Callable[[str, float, Any], Any] | None = None,
        idempotency_store: Any = None,
        expose_errors: bool = False,
        ping_interval: float | None = 15.0,
        **kwargs: Any,
    ) -> None:
        if ping_interval is not None and not (
            isinstance(ping_interval, int | float) and 0 < ping_interval < float("inf")
        ):  # 0 or less would send keep-alive comments in a busy loop
            raise CadenceDefinitionError(
                f"ping_interval must be a positive number of seconds or None, got {ping_interval!r}"
            )
        super().__init__(**kwargs)
        self.errors = errors
        self.reporter = reporter
        self.expose_errors = expose_errors
        self.ping_interval = ping_interval
        self.idempotency = (
            None
            if idempotency_store is None
            else IdempotencyRegistry(as_idempotency_store(idempotency_store))
        )
        self.streams: set[RunStream] = set()
        self.wait_locations: dict[str, str] = {}  # cadence name -> prefix of its wait routes
        inner = self.lifespan_context

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            async with inner(app) as state:
                try:
                    yield state
                finally:
                    await self.aclose()

        self.lifespan_context = lifespan

    def run_hooks(self) -> list[Any]:
        """Fresh per-run hooks for the router's options (a reporter keeps per-run state)."""
        return [] if self.reporter is None else [ReporterHooks(self.reporter)]

    async def aclose(self) -> None:
        """Cancel streamed and idempotent runs still in flight (called at app shutdown)."""
        for stream in list(self.streams):
            await stream.aclose()
        if self.idempotency is not None:
            await self.idempotency.aclose()

    def wait_routes(
        self,
        prefix: str,
        cadence: Cadence[Any],
        *,
        response_mapper: Callable[[Any], Any] | None = None,
        **route_kwargs: Any,
    ) -> None:
        """Add endpoints that list, resume and signal the parked runs of ``cadence``.

        ``GET prefix`` and ``GET prefix/{run_id}`` list waits; ``POST prefix/{run_id}/resume``
        (``{"value": ..., "wait": ...}``) resumes exactly once; ``POST
        prefix/{run_id}/signals/{name}`` sends a signal. A completed run answers 200 with the
        final score (or ``response_mapper``'s value), a parked one 202. Protect them with
        ``dependencies=[...]`` (passed to ``add_api_route``); see ``docs/waits.md``.
        """
        from cadence.integrations._fastapi_waits import add_wait_routes

        # Bodies that do not fit (unknown members, malformed JSON) get the same bounded
        # problem+json 422/400 as @router.cadence routes, not FastAPI's {"detail": [...]} echo.
        route_kwargs.setdefault("route_class_override", _CadenceAPIRoute)
        add_wait_routes(self, prefix, cadence, response_mapper=response_mapper, **route_kwargs)

    def cadence(
        self,
        path: str,
        cadence: Cadence[Any],
        *,
        methods: Sequence[str] = ("POST",),
        response_model: Any = None,
        status_code: int = 200,
        response_mapper: Callable[[Any], Any] | None = None,
        errors: ErrorMapping | None = None,
        stream: bool | Literal["auto"] = False,
        idempotent: bool = True,
        **route_kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register an endpoint that runs ``cadence`` on the score the decorated function returns.

        Args:
            path: The route path, with FastAPI path parameters (``/orders/{order_id}``).
            cadence: The cadence to run per request.
            methods: HTTP methods (default ``POST``: a run usually changes something).
            response_model: Validate and document the response with this type.
            status_code: Status of a successful response.
            response_mapper: ``final_score -> value`` (sync or async) sent instead of the score;
                may return a ``Response``.
            errors: Error-mapping overrides for this route (on top of the router's).
            stream: ``True`` answers with Server-Sent Events; ``"auto"`` does so when the client
                sends ``Accept: text/event-stream``.
            idempotent: Honour ``Idempotency-Key`` (needs the router's ``idempotency_store``).
            **route_kwargs: Passed to ``add_api_route`` (``tags``, ``summary``, ``dependencies`` ...).

        Returns:
            A decorator that registers the function and returns it unchanged.
        """
        check_servable(cadence, f"router.cadence({path!r}, ...)")
        if stream not in (True, False, "auto"):
            raise CadenceDefinitionError(f"stream must be True, False or 'auto', got {stream!r}")
        if response_mapper is not None and not callable(response_mapper):
            raise CadenceDefinitionError(
                f"response_mapper must be callable, got {response_mapper!r}"
            )

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(fn):
                raise CadenceDefinitionError(
                    f"@router.cadence must decorate a function, got {fn!r}"
                )
            route = _Route(
                self,
                cadence,
                fn,
                status_code=status_code,
                response_model=response_model,
                response_mapper=response_mapper,
                errors=errors,
                stream=stream,
                idempotent=idempotent,
            )

            async def endpoint(**kwargs: Any) -> Response:
                return await route(**kwargs)

            endpoint.__signature__ = _endpoint_signature(fn)  # type: ignore[attr-defined]
            setattr(endpoint, _CADENCE_NAME, cadence.name)
            for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
                setattr(endpoint, attr, getattr(fn, attr, None))
            responses: dict[int | str, dict[str, Any]] = dict(_RESPONSES)
            if stream:
                responses[status_code] = {"content": {"text/event-stream": {}}}
            responses.update(route_kwargs.pop("responses", None) or {})
            route_kwargs.setdefault("route_class_override", _CadenceAPIRoute)
            self.add_api_route(
                path,
                endpoint,
                methods=list(methods),
                response_model=response_model,
                status_code=status_code,
                responses=responses,
                **route_kwargs,
            )
            return fn

        return register


_COMPAT = ("CadenceMiddleware", "CadenceRoute", "cadence_endpoint", "with_cadence")


def __getattr__(name: str) -> Any:
    # 0.7.2 names, deprecated in favour of CadenceRouter (see docs/migrating.md).
    if name in _COMPAT:
        from cadence._compat import fastapi as compat

        return getattr(compat, name)
    raise AttributeError(f"module 'cadence.integrations.fastapi' has no attribute {name!r}")
