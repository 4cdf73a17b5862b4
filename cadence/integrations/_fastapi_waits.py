"""FastAPI endpoints for parked runs: list their waits, resume them, send them signals.

``router.wait_routes("/refunds", refund_cadence)`` adds::

    GET  /refunds                       the waits of every parked run (an approval inbox)
    GET  /refunds/{run_id}              the waits of one run
    POST /refunds/{run_id}/resume       {"value": ..., "wait": "<key>"?}  -> resume exactly once
    POST /refunds/{run_id}/signals/{n}  {"value": ...}                    -> send signal n

A run that parks answers ``202 Accepted`` with ``{"status": "waiting", "run_id", "waits"}`` and
a ``Location`` header pointing at the run -- from a ``@router.cadence`` route as well as from
a resume that reached the next wait. A run that completes answers ``200`` with the final score
(or the ``response_mapper``'s value). A refused resume is a problem document: ``404``
``WAIT_NOT_FOUND``, ``409`` ``WAIT_ALREADY_RESOLVED`` / ``WAIT_TIMED_OUT`` / ``WAIT_AMBIGUOUS``,
``422`` ``WAIT_BAD_VALUE``.

Who may approve is your application's decision: protect the routes with FastAPI dependencies
(``dependencies=[Depends(require_approver)]``), which these routes accept like any other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Body, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from cadence._cadence import Cadence
from cadence.exceptions import CadenceDefinitionError, CadenceError, RunSuspended
from cadence.integrations._encode import dumps
from cadence.integrations._fastapi_support import as_response, suspended_response
from cadence.integrations._problem import problem_for

if TYPE_CHECKING:
    from cadence.integrations.fastapi import CadenceRouter

__all__ = [
    "ResumeRequest",
    "SignalRequest",
    "add_wait_routes",
    "run_location",
    "suspended_response",
]

_JSON = "application/json"
_MAX_RUN_ID = 1024  # an Idempotency-Key run id is "METHOD /path key": up to 255 for the key alone


def run_location(prefix: str, run_id: str) -> str:
    """The URL of a parked run under its wait routes (the run id percent-encoded).

    Run ids may hold spaces and slashes (an ``Idempotency-Key`` run is ``"POST /path key"``),
    so they are encoded here and the routes take them with Starlette's ``path`` converter.
    """
    return f"{prefix}/{quote(run_id, safe='')}"


class ResumeRequest(BaseModel):
    """The body of a resume: the value, and which wait when the run has several."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    wait: str | None = None


class SignalRequest(BaseModel):
    """The body of a signal: its value."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None


def add_wait_routes(
    router: CadenceRouter,
    prefix: str,
    cadence: Cadence[Any],
    *,
    response_mapper: Callable[[Any], Any] | None = None,
    **route_kwargs: Any,
) -> None:
    """Register the wait endpoints of ``cadence`` under ``prefix`` (see the module docstring)."""
    if not isinstance(cadence, Cadence):
        raise CadenceDefinitionError(
            f"router.wait_routes({prefix!r}, ...): expected a Cadence, got {type(cadence).__name__}"
        )
    if cadence.checkpoint_store is None:
        raise CadenceDefinitionError(
            f"router.wait_routes({prefix!r}, ...): cadence {cadence.name!r} has no checkpoint "
            "store, so none of its runs can park; add .with_checkpoint(store)"
        )
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise CadenceDefinitionError(
            f"router.wait_routes(prefix): expected a path like '/refunds', got {prefix!r}"
        )
    router.wait_locations[cadence.name] = prefix
    tags: Sequence[str] = route_kwargs.pop("tags", None) or ["waits"]

    def refused(error: BaseException) -> Response:
        return as_response(
            problem_for(
                error,
                errors=router.errors,
                expose_errors=router.expose_errors,
                cadence_name=cadence.name,
            )
        )

    async def finished(final: Any) -> Response:
        if response_mapper is None:
            return Response(dumps(final), 200, media_type=_JSON)
        value = response_mapper(final)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, Response):
            return value
        return Response(dumps(value), 200, media_type=_JSON)

    async def continued(call: Any, *, signal: str | None = None) -> Response:
        try:
            final = await call
        except RunSuspended as exc:
            return suspended_response(exc, run_location(prefix, exc.run_id))
        except CadenceError as exc:
            return refused(exc)
        if final is None and signal is not None:  # the run was not waiting for it yet
            early = {"status": "signal_kept", "signal": signal}
            return Response(dumps(early), 202, media_type=_JSON)
        return await finished(final)

    async def inbox() -> Response:
        try:
            records = await cadence.waits()
        except CadenceError as exc:
            return refused(exc)
        return Response(dumps({"waits": [r.to_dict() for r in records]}), media_type=_JSON)

    async def run_waits(run_id: str = Path(min_length=1, max_length=_MAX_RUN_ID)) -> Response:
        try:
            records = await cadence.waits(run_id)
        except CadenceError as exc:
            return refused(exc)
        body = {"run_id": run_id, "waits": [r.to_dict() for r in records]}
        return Response(dumps(body), media_type=_JSON)

    async def resume(
        run_id: str = Path(min_length=1, max_length=_MAX_RUN_ID),
        body: ResumeRequest = Body(default_factory=ResumeRequest),  # noqa: B008 - FastAPI idiom
    ) -> Response:
        return await continued(cadence.resume(run_id, body.value, wait=body.wait))

    async def send_signal(
        run_id: str = Path(min_length=1, max_length=_MAX_RUN_ID),
        name: str = Path(min_length=1, max_length=200),
        body: SignalRequest = Body(default_factory=SignalRequest),  # noqa: B008 - FastAPI idiom
    ) -> Response:
        return await continued(cadence.signal(run_id, name, body.value), signal=name)

    for endpoint in (inbox, run_waits, resume, send_signal):  # named in route-class problems
        endpoint._cadence_name = cadence.name  # type: ignore[attr-defined]
    common = {"tags": list(tags), **route_kwargs}
    router.add_api_route(prefix, inbox, methods=["GET"], summary="Waiting runs", **common)
    # ``path`` converters: a run id may contain "/" (see run_location). The signal route comes
    # first so that ".../signals/resume" is a signal, and the GET route last.
    router.add_api_route(
        f"{prefix}/{{run_id:path}}/signals/{{name}}",
        send_signal,
        methods=["POST"],
        summary="Send a signal to a run",
        **common,
    )
    router.add_api_route(
        f"{prefix}/{{run_id:path}}/resume",
        resume,
        methods=["POST"],
        summary="Resume a waiting run (exactly once)",
        **common,
    )
    router.add_api_route(
        f"{prefix}/{{run_id:path}}", run_waits, methods=["GET"], summary="Waits of a run", **common
    )
