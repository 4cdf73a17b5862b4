"""Flask integration: cadence-backed routes in ordinary (sync) Flask views.

::

    bp = CadenceBlueprint("orders", __name__)

    @bp.cadence_route("/orders/<order_id>", checkout_cadence)
    def create_order(order_id):
        return OrderScore(order_id=order_id)

    app.register_blueprint(bp)

The decorated function receives the URL variables plus any other parameters it names, filled
from the JSON body and the query string (see ``docs/web.md``); a parameter annotated with a
dataclass or a pydantic model receives the whole JSON body, validated. It returns the initial
score; each request runs the cadence on that score on its own event loop (in a worker thread
when the calling thread already runs one), so the definition is never touched and requests
share nothing. Failures become the same ``application/problem+json`` responses as in FastAPI.
:class:`CadenceExtension` adds an app-wide reporter, error mapping and idempotency store.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

try:
    import flask
    from flask import Blueprint, Flask, current_app, request
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "cadence.integrations.flask needs Flask: pip install 'cadence-orchestration[flask]'"
    ) from exc


from cadence._cadence import Cadence
from cadence._compat.flask import BlueprintCompat, ExtensionCompat
from cadence.exceptions import CadenceDefinitionError, CadenceError, RunSuspended
from cadence.integrations._common import (
    ReporterHooks,
    check_servable,
    execute,
    require_score,
    run_async,
    suspended_body,
)
from cadence.integrations._encode import dumps, find_lone_surrogate
from cadence.integrations._flask_binding import Binder, Invalid, Unreadable, problem_response
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


def _get_flask() -> Any:
    """0.7.2's lazy import of Flask; this module imports only with Flask, so it returns it."""
    return flask


__all__ = [
    "CadenceBlueprint",
    "CadenceExtension",
    "InMemoryIdempotencyStore",
    "Problem",
    "problem_response",
    "run_async",
]

T = TypeVar("T")
_JSON = "application/json"


def _as_response(outcome: Any) -> flask.Response:
    if isinstance(outcome, Problem):
        return problem_response(outcome)
    return current_app.make_response(outcome)


class _Options:
    """Settings shared by the routes of a blueprint, merged with the app's extension."""

    def __init__(
        self,
        *,
        errors: ErrorMapping | None,
        reporter: Callable[[str, float, Any], Any] | None,
        idempotency_store: Any,
        expose_errors: bool,
    ) -> None:
        self.errors = errors
        self.reporter = reporter
        self.expose_errors = expose_errors
        self.idempotency = (
            None
            if idempotency_store is None
            else IdempotencyRegistry(as_idempotency_store(idempotency_store))
        )


def _extension() -> CadenceExtension | None:
    ext = current_app.extensions.get("cadence")
    return ext if isinstance(ext, CadenceExtension) else None


class CadenceBlueprint(BlueprintCompat, Blueprint):
    """A Flask ``Blueprint`` whose ``@bp.cadence_route(rule, cadence)`` views run a cadence.

    Args:
        name: Blueprint name.
        import_name: Usually ``__name__``.
        errors: Error-mapping overrides for every route of the blueprint.
        reporter: ``reporter(note_name, seconds, score)`` for every run.
        idempotency_store: Enables ``Idempotency-Key`` (an ``InMemoryIdempotencyStore`` or any
            checkpoint store).
        expose_errors: Put exception messages in problem ``detail`` (development only).
        **kwargs: Passed to ``Blueprint`` (``url_prefix`` ...).
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        errors: ErrorMapping | None = None,
        reporter: Callable[[str, float, Any], Any] | None = None,
        idempotency_store: Any = None,
        expose_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, import_name, **kwargs)
        self.cadence_options = _Options(
            errors=errors,
            reporter=reporter,
            idempotency_store=idempotency_store,
            expose_errors=expose_errors,
        )

    def cadence_route(
        self,
        rule: str,
        cadence: Cadence[Any],
        *,
        methods: Sequence[str] = ("POST",),
        status_code: int = 200,
        response_mapper: Callable[[Any], Any] | None = None,
        errors: ErrorMapping | None = None,
        idempotent: bool = True,
        **options: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a view that runs ``cadence`` on the score the decorated function returns.

        Args:
            rule: The URL rule (``/orders/<order_id>``).
            cadence: The cadence to run per request.
            methods: HTTP methods (default ``POST``).
            status_code: Status of a successful response.
            response_mapper: ``final_score -> value`` sent instead of the score (sync or async;
                may return a Flask response).
            errors: Error-mapping overrides for this route.
            idempotent: Honour ``Idempotency-Key`` when an idempotency store is configured.
            **options: Passed to ``Blueprint.add_url_rule`` (``endpoint`` ...).
        """
        check_servable(cadence, f"bp.cadence_route({rule!r}, ...)")
        if response_mapper is not None and not callable(response_mapper):
            raise CadenceDefinitionError(
                f"response_mapper must be callable, got {response_mapper!r}"
            )
        opts = self.cadence_options

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            binder = Binder(fn)
            is_async = inspect.iscoroutinefunction(fn)

            def view(**url: Any) -> flask.Response:
                ext = _extension()
                merged = {
                    **(ext.errors if ext and ext.errors else {}),
                    **(opts.errors or {}),
                    **(errors or {}),
                }
                expose = opts.expose_errors or bool(ext and ext.expose_errors)

                def problem(error: BaseException) -> flask.Response:
                    return _as_response(
                        problem_for(
                            error, errors=merged, expose_errors=expose, cadence_name=cadence.name
                        )
                    )

                try:
                    kwargs = binder.bind(url)
                    bad = find_lone_surrogate(kwargs)
                    if bad is not None:
                        raise Invalid([_surrogate_error(bad)])
                    score = run_async(fn(**kwargs)) if is_async else fn(**kwargs)
                    require_score(fn, score)
                except Invalid as exc:
                    return problem_response(validation_problem(exc.errors))
                except Unreadable as exc:
                    return problem_response(bad_request_problem(str(exc), code="MALFORMED_BODY"))
                except RequestEntityTooLarge:
                    return _too_large()
                except HTTPException:
                    raise  # abort(404) / an HTTPException raised on purpose keeps its status
                except Exception as exc:
                    invalid = _pydantic_errors(exc)
                    if invalid is not None:  # a pydantic score rejected the request's values
                        return problem_response(validation_problem(invalid))
                    if _app_handles(exc):
                        raise  # the app's @errorhandler answers it, as for any other view
                    return problem(exc)  # the score factory failed: a 500 problem, logged
                hooks: list[Any] = []
                for reporter in (opts.reporter, ext.reporter if ext else None):
                    if reporter is not None:
                        hooks.append(ReporterHooks(reporter))

                async def produce(run_id: str | None) -> StoredResponse | Any:
                    try:
                        final = await execute(cadence, score, run_id=run_id, hooks=hooks)
                        value: Any = final
                        if response_mapper is not None:
                            value = response_mapper(final)
                            if inspect.isawaitable(value):
                                value = await value
                            if isinstance(value, flask.Response):
                                return value
                        return StoredResponse(status_code, dumps(value), _JSON)
                    except RunSuspended as exc:  # parked at a wait: resume it later, anywhere
                        return StoredResponse(202, dumps(suspended_body(exc)), _JSON)
                    except Exception as exc:
                        outcome = problem_for(
                            exc, errors=merged, expose_errors=expose, cadence_name=cadence.name
                        )
                        if not isinstance(outcome, Problem):
                            return outcome  # a user handler's own response value
                        return StoredResponse(
                            outcome.status,
                            outcome.body(),
                            PROBLEM_MEDIA_TYPE,
                            tuple(outcome.headers.items()),
                        )

                registry = opts.idempotency or (ext.idempotency if ext else None)
                key = request.headers.get("Idempotency-Key")
                try:
                    if key is None or not idempotent or registry is None:
                        outcome = run_async(produce(None))
                        replayed = False
                    else:
                        scoped = f"{request.method} {request.path} {check_key(key)}"
                        digest = fingerprint(request.query_string, request.get_data())
                        outcome, replayed = run_async(_once(registry, scoped, digest, produce))
                except RequestEntityTooLarge:
                    return _too_large()
                except HTTPException:
                    raise
                except Exception as exc:  # a bad key, the idempotency store down, a handler bug
                    return problem(exc)
                if not isinstance(outcome, StoredResponse):
                    return current_app.make_response(outcome)
                headers = dict(outcome.headers)
                if replayed:
                    headers["Idempotent-Replayed"] = "true"
                return flask.Response(
                    outcome.body, outcome.status, headers, mimetype=outcome.media_type
                )

            view.__name__ = fn.__name__
            view.__doc__ = fn.__doc__
            self.add_url_rule(
                rule, options.pop("endpoint", fn.__name__), view, methods=list(methods), **options
            )
            return fn

        return register


def _too_large() -> flask.Response:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    detail = "the request body is over the size limit" + (f" of {limit} bytes" if limit else "")
    return problem_response(bad_request_problem(detail, status=413, code="BODY_TOO_LARGE"))


def _surrogate_error(loc: list[Any]) -> dict[str, Any]:
    return {
        "loc": ["body", *loc],
        "msg": "text holds a lone UTF-16 surrogate (not valid Unicode)",
        "type": "string_unicode",
    }


def _app_handles(error: Exception) -> bool:
    """Whether the app or the view's blueprints registered an ``errorhandler`` for ``error``.

    A ``CadenceError`` is not the app's: cadence routes map those themselves (the extension's
    own handler covers hand-written views).
    """
    spec = current_app.error_handler_spec
    for name in (*request.blueprints, None):
        handlers = spec.get(name, {}).get(None, {})
        for cls in type(error).__mro__:
            if cls in handlers:
                return not issubclass(cls, CadenceError)
    return False


def _pydantic_errors(error: BaseException) -> list[dict[str, Any]] | None:
    """The errors of a pydantic ``ValidationError`` (without importing pydantic), else ``None``."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ != "ValidationError" or not callable(errors):
        return None
    try:
        return list(errors(include_url=False))
    except TypeError:
        return None


async def _once(
    registry: IdempotencyRegistry,
    scoped: str,
    digest: str,
    produce: Callable[[str | None], Coroutine[Any, Any, Any]],
) -> tuple[StoredResponse, bool]:
    async def stored() -> StoredResponse:
        outcome = await produce(scoped)
        if not isinstance(outcome, StoredResponse):
            response = outcome if isinstance(outcome, flask.Response) else flask.Response(outcome)
            skip = {"content-length", "content-type"}
            outcome = StoredResponse(
                response.status_code,
                response.get_data(),
                response.mimetype or _JSON,
                tuple((k, v) for k, v in response.headers.items() if k.lower() not in skip),
            )
        return dataclasses.replace(outcome, fingerprint=digest)

    return await registry.respond(scoped, digest, stored)


class CadenceExtension(ExtensionCompat):
    """App-wide settings for cadence routes, and problem+json for any ``CadenceError``.

    ::

        cadence_ext = CadenceExtension(app, reporter=report_timing)

    Args:
        app: The Flask app (or call :meth:`init_app` later).
        reporter: ``reporter(note_name, seconds, score)`` for every cadence route's run.
        errors: Error-mapping overrides for every cadence route (routes and blueprints win).
        idempotency_store: Default store for ``Idempotency-Key`` on every cadence route.
        expose_errors: Put exception messages in problem ``detail`` (development only).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        reporter: Callable[[str, float, Any], Any] | None = None,
        errors: ErrorMapping | None = None,
        idempotency_store: Any = None,
        expose_errors: bool = False,
    ) -> None:
        self.reporter = reporter
        self.errors = errors
        self.expose_errors = expose_errors
        self.idempotency = (
            None
            if idempotency_store is None
            else IdempotencyRegistry(as_idempotency_store(idempotency_store))
        )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register on ``app``: settings for cadence routes, a ``CadenceError`` handler."""
        app.extensions["cadence"] = self

        def handle(error: CadenceError) -> flask.Response:
            if self.error_handler is not None:  # 0.7.2's set_error_handler()
                return current_app.make_response(self.error_handler(error))
            return _as_response(
                problem_for(error, errors=self.errors, expose_errors=self.expose_errors)
            )

        app.register_error_handler(CadenceError, handle)

    def run(self, cadence: Cadence[T], score: T, *, run_id: str | None = None) -> T:
        """Run ``cadence`` on ``score`` from a hand-written view, with the app-wide reporter.

        Failures raise; the extension's error handler turns them into problem+json.
        """
        hooks = [] if self.reporter is None else [ReporterHooks(self.reporter)]
        return run_async(execute(cadence, score, run_id=run_id, hooks=hooks))


def __getattr__(name: str) -> Any:
    # 0.7.2 names, deprecated in favour of CadenceBlueprint.cadence_route (docs/migrating.md).
    if name in ("cadence_route", "with_cadence"):
        from cadence._compat import flask as compat

        return getattr(compat, name)
    raise AttributeError(f"module 'cadence.integrations.flask' has no attribute {name!r}")
