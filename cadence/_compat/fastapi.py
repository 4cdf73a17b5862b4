"""0.7.2's FastAPI names: ``with_cadence``, ``cadence_endpoint``, ``CadenceMiddleware``, ``CadenceRoute``.

Reached as ``cadence.integrations.fastapi.<name>``; each is deprecated in favour of
``CadenceRouter`` (``@router.cadence(path, cadence)``), which validates input, maps failures to
problem+json and never shares state between requests. Two 0.7.2 bugs are not kept:
``cadence_endpoint`` ran the cadence on its template score instead of the one ``score_factory``
built, and answered failures with the exception text in ``detail``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute

from cadence._cadence import Cadence
from cadence._compat import deprecated
from cadence.integrations._fastapi_support import as_response
from cadence.integrations._problem import problem_for

__all__ = ["CadenceMiddleware", "CadenceRoute", "cadence_endpoint", "with_cadence"]

_ROUTER = "CadenceRouter().cadence(path, cadence)"


async def _value(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _check_cadence(value: Any, where: str) -> None:
    if not isinstance(value, Cadence):
        raise TypeError(f"{where}: expected a Cadence, got {type(value).__name__}: {value!r}")


def with_cadence(
    cadence_factory: Callable[[Any], Cadence[Any]],
    response_mapper: Callable[[Any], Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Deprecated: run ``cadence_factory(score)`` on the score the endpoint function returns.

    The decorated function keeps its signature (FastAPI fills its parameters as usual) and
    returns the initial score; the response is the final score, or ``response_mapper(score)``.
    Failures propagate, so an app's exception handlers (``install_problem_handlers``) see them.
    """
    deprecated("cadence.integrations.fastapi.with_cadence", _ROUTER)
    if not callable(cadence_factory):
        raise TypeError(
            f"with_cadence() takes a function score -> Cadence, got {cadence_factory!r}"
        )

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            score = await _value(func(*args, **kwargs))
            cadence = cadence_factory(score)
            _check_cadence(cadence, "with_cadence(cadence_factory)")
            final = await cadence.run(score)
            if response_mapper is not None:
                return await _value(response_mapper(final))
            return final

        return wrapper

    return decorator


def cadence_endpoint(
    cadence: Cadence[Any],
    score_factory: Callable[..., Any],
    response_mapper: Callable[[Any], Any] | None = None,
    error_handler: Callable[[Exception], Any] | None = None,
) -> Callable[..., Any]:
    """Deprecated: an async endpoint running ``cadence`` on ``score_factory(**params)``.

    A failure goes to ``error_handler(error)`` when given (its return value is the response),
    else it becomes a problem+json response without the exception's text.
    """
    deprecated("cadence.integrations.fastapi.cadence_endpoint", _ROUTER)
    _check_cadence(cadence, "cadence_endpoint(cadence)")

    async def endpoint(**kwargs: Any) -> Any:
        try:
            score = await _value(score_factory(**kwargs))
            final = await cadence.run(score)
            if response_mapper is not None:
                return await _value(response_mapper(final))
            return final
        except Exception as exc:
            if error_handler is not None:
                return await _value(error_handler(exc))
            return as_response(problem_for(exc, cadence_name=cadence.name))

    # FastAPI reads an endpoint's parameters from its signature; ``**kwargs`` alone would make it
    # require a query parameter named ``kwargs`` (422 on every request, as in 0.7.2), so the
    # endpoint takes score_factory's parameters: path, query and body values reach the factory.
    endpoint.__signature__ = _signature(score_factory)  # type: ignore[attr-defined]
    return endpoint


def _signature(factory: Callable[..., Any]) -> inspect.Signature:
    try:
        # eval_str: FastAPI would resolve string annotations in this module, not the factory's.
        signature = inspect.signature(factory, eval_str=True)
    except NameError:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a callable without a readable signature: take nothing
        return inspect.Signature()
    return signature.replace(return_annotation=inspect.Signature.empty)


class CadenceMiddleware:
    """Deprecated: an ASGI middleware that passes every request through, as it did in 0.7.2.

    Its ``reporter`` and ``error_handler`` were never used by 0.7.2; give a reporter to
    ``CadenceRouter(reporter=...)`` and map errors with ``CadenceRouter(errors=...)``.
    """

    def __init__(
        self,
        app: Any,
        reporter: Callable[..., Any] | None = None,
        error_handler: Callable[..., Any] | None = None,
    ) -> None:
        deprecated("CadenceMiddleware", "CadenceRouter(reporter=..., errors=...)")
        self.app = app
        self.reporter = reporter
        self.error_handler = error_handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class CadenceRoute(APIRoute):
    """Deprecated: a plain ``APIRoute`` (0.7.2 added nothing to it); use ``CadenceRouter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        deprecated("CadenceRoute", _ROUTER)
        super().__init__(*args, **kwargs)
