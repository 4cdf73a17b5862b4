"""0.7.2's Flask names: ``cadence_route``, ``with_cadence``, ``CadenceBlueprint.register_cadence``.

Reached as ``cadence.integrations.flask.<name>`` and as methods of ``CadenceBlueprint`` and
``CadenceExtension`` (the mixins below). Each deprecated one points to
``@bp.cadence_route(rule, cadence)``, which binds and validates request values (422 naming the
field) and answers failures with problem+json. As in 0.7.2, these older forms let a failure
propagate when no ``error_handler`` is given, so the app's own error handlers (the
``CadenceExtension`` one included) decide the response.

Not kept from 0.7.2: running the cadence on a copy that shared the definition's private plan
objects (each request now runs ``cadence.run(score)``), and calling ``__post_init__`` a second
time on a score that was just constructed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cadence._cadence import Cadence
from cadence._compat import deprecated

__all__ = ["BlueprintCompat", "ExtensionCompat", "cadence_route", "with_cadence"]

_ROUTE = "@CadenceBlueprint(...).cadence_route(rule, cadence)"
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _run(
    cadence: Cadence[Any],
    make_score: Callable[[], Any],
    response_factory: Callable[[Any], Any] | None,
    error_handler: Callable[[Exception], Any] | None,
) -> Any:
    """One request of a 0.7.2-style view: build the score, run, shape the response."""
    import flask

    from cadence.integrations._common import ReporterHooks, execute, run_async
    from cadence.integrations._encode import dumps

    try:
        score = make_score()
        ext = flask.current_app.extensions.get("cadence")
        hooks = []
        if isinstance(ext, ExtensionCompat) and ext.reporter is not None:  # a CadenceExtension
            hooks.append(ReporterHooks(ext.reporter))
        final = run_async(execute(cadence, score, hooks=hooks))
        if response_factory is not None:
            return response_factory(final)
        return flask.Response(dumps(final), 200, mimetype="application/json")
    except Exception as exc:
        if error_handler is None:
            raise
        return error_handler(exc)


def _request_data() -> dict[str, Any]:
    """0.7.2's default score values: the JSON body for POST/PUT/PATCH, else the query string."""
    from flask import request

    if request.method in _BODY_METHODS:
        body = request.get_json(silent=True)
        return dict(body) if isinstance(body, dict) else {}
    return dict(request.args)


def _require(score: Any, where: str) -> Any:
    if score is None:
        raise ValueError(f"{where}: the view must return score or provide score_factory")
    return score


def cadence_route(
    cadence: Cadence[Any],
    *,
    score_factory: Callable[[Any], Any] | None = None,
    response_factory: Callable[[Any], Any] | None = None,
    error_handler: Callable[[Exception], Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Deprecated: turn a Flask view into one that runs ``cadence`` (stack under ``@app.route``).

    The score is ``score_factory(flask.request)``, or else what the view returns. The response
    is ``response_factory(final_score)``, or the final score as JSON.
    """
    deprecated("cadence.integrations.flask.cadence_route", _ROUTE)
    if not isinstance(cadence, Cadence):
        raise TypeError(f"cadence_route(): expected a Cadence, got {type(cadence).__name__}")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            def make_score() -> Any:
                if score_factory is not None:
                    return score_factory(request)
                return _require(fn(*args, **kwargs), "cadence_route")

            return _run(cadence, make_score, response_factory, error_handler)

        return view

    return decorator


def with_cadence(
    score_class: type[Any], *, from_request: Callable[[Any], dict[str, Any]] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Deprecated: call the view with ``score_class(**values)`` built from the request.

    Values come from ``from_request(flask.request)``, or the JSON body (POST/PUT/PATCH) or the
    query string (GET), plus the URL variables. Values the class does not accept are a 422
    problem response instead of a server error.
    """
    deprecated("cadence.integrations.flask.with_cadence", _ROUTE)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            from cadence.integrations._flask_binding import problem_response
            from cadence.integrations._problem import validation_problem

            data = dict(from_request(request)) if from_request is not None else _request_data()
            data.update(kwargs)
            try:
                score = score_class(**data)
            except TypeError as exc:
                error = {"loc": ["body"], "msg": str(exc), "type": "type_error"}
                return problem_response(validation_problem([error]))
            return fn(score, *args)

        return view

    return decorator


class BlueprintCompat:
    """``CadenceBlueprint`` methods kept from 0.7.2 (where it wrapped a ``Blueprint``)."""

    name: str

    @property
    def blueprint(self) -> Any:
        """Deprecated: the blueprint itself (``CadenceBlueprint`` is now a ``Blueprint``)."""
        deprecated("CadenceBlueprint.blueprint", "the CadenceBlueprint itself")
        return self

    def register_cadence(
        self,
        rule: str,
        cadence: Cadence[Any],
        *,
        methods: list[str] | None = None,
        score_factory: Callable[..., Any] | None = None,
        response_factory: Callable[[Any], Any] | None = None,
        error_handler: Callable[[Exception], Any] | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Deprecated: serve ``cadence`` at ``rule`` (``GET`` unless ``methods`` says otherwise).

        The score is ``score_factory(request, **url_values)``, or else the cadence's score class
        built from the JSON body and the URL values.
        """
        deprecated("CadenceBlueprint.register_cadence()", "@bp.cadence_route(rule, cadence)")
        if not isinstance(cadence, Cadence):
            raise TypeError(f"register_cadence(): expected a Cadence, got {type(cadence).__name__}")
        score_class = type(cadence.score)

        def view(**url: Any) -> Any:
            from flask import request

            def make_score() -> Any:
                if score_factory is not None:
                    return score_factory(request, **url)
                data = _request_data() if request.method in _BODY_METHODS else {}
                return score_class(**{**data, **url})

            return _run(cadence, make_score, response_factory, error_handler)

        name = endpoint or cadence.name
        view.__name__ = name
        add_url_rule: Any = getattr(self, "add_url_rule")  # noqa: B009 - provided by Blueprint
        add_url_rule(rule, endpoint=name, view_func=view, methods=list(methods or ["GET"]))


class ExtensionCompat:
    """``CadenceExtension`` setters kept from 0.7.2."""

    reporter: Callable[[str, float, Any], Any] | None
    error_handler: Callable[[Exception], Any] | None = None
    """A function turning any ``CadenceError`` of the app into a response (0.7.2)."""

    def set_reporter(self, reporter: Callable[[str, float, Any], Any]) -> None:
        """Deprecated: report every cadence route's run; pass ``CadenceExtension(reporter=...)``."""
        deprecated("CadenceExtension.set_reporter()", "CadenceExtension(app, reporter=...)")
        self.reporter = reporter

    def set_error_handler(self, handler: Callable[[Exception], Any]) -> None:
        """Deprecated: answer the app's ``CadenceError``s with ``handler(error)``.

        Use ``CadenceExtension(app, errors={...})`` to adjust the problem+json responses.
        """
        deprecated("CadenceExtension.set_error_handler()", "CadenceExtension(app, errors=...)")
        self.error_handler = handler
