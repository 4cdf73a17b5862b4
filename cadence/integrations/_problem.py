"""Run failures to RFC 9457 problem details, shared by the FastAPI and Flask integrations.

A failed run must reach the client as a small, stable JSON document (``application/problem+json``)
that names the failing note and a machine-readable ``code`` -- never a traceback, and by default
never the text of the underlying exception, which may carry internals (SQL, hostnames, keys).
Status codes follow the *root cause*, found by walking the error chain
(``NoteError.original_error`` -> ``RetryExhaustedError.last_error`` -> ``__cause__``): an open
circuit is ``503`` with ``Retry-After``, a timeout anywhere in the chain is ``504``, a held
checkpoint lease is ``409``; every other failure is ``500``. Users override any of it with an
``errors`` mapping keyed by error code or exception type.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeAlias

from cadence.exceptions import (
    CadenceError,
    CheckpointError,
    CircuitOpenError,
    NoteError,
    ParallelNoteError,
    RetryExhaustedError,
    WaitError,
)
from cadence.integrations._encode import ScoreEncodingError, dumps
from cadence.integrations._idempotency import IdempotencyKeyError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ErrorMapping",
    "Problem",
    "bad_request_problem",
    "error_chain",
    "problem_for",
    "safe_text",
    "validation_problem",
]

logger = logging.getLogger("cadence.integrations")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_MAX_ERRORS = 20
"""Invalid fields listed in one 422 (a request with thousands of bad items gets the first 20)."""
_MAX_TEXT = 200
"""Characters kept of any text taken from the request (a 10 MB field is not echoed back)."""
_MAX_LOC = 12

ErrorHandler: TypeAlias = Callable[[BaseException, "Problem"], Any]
ErrorMapping: TypeAlias = Mapping["str | type[BaseException]", "int | ErrorHandler"]
"""``{code or exception type: status or handler(error, default_problem)}``.

A handler returns a :class:`Problem`, a framework response (sent as is), or ``None`` to keep
the default problem.
"""


@dataclass(frozen=True, slots=True)
class Problem:
    """An RFC 9457 problem document plus the response headers it needs.

    Attributes:
        status: HTTP status code.
        title: Short summary; with the default ``type`` (``about:blank``) RFC 9457 wants the
            HTTP status phrase, which is what the defaults use.
        code: Stable machine-readable code (``NOTE_ERROR``, ``TIMEOUT``, ``CIRCUIT_OPEN`` ...).
        detail: Human-readable explanation of this occurrence.
        type: URI identifying the problem type.
        extensions: Extra members (``note``, ``group``, ``retry_after`` ...).
        headers: Response headers such as ``Retry-After``.
    """

    status: int
    title: str
    code: str
    detail: str = ""
    type: str = "about:blank"
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON members of the problem document."""
        doc: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        doc.update(self.extensions)
        return doc

    def body(self) -> bytes:
        """The document encoded as compact UTF-8 JSON."""
        return dumps(self.to_dict())


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors it wraps, outermost first, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nxt: BaseException | None = None
        if isinstance(current, NoteError):
            nxt = current.original_error
        elif isinstance(current, RetryExhaustedError):
            nxt = current.last_error
        current = nxt if nxt is not None else current.__cause__


_WAIT_STATUS = {
    "WAIT_NOT_FOUND": 404,
    "WAIT_ALREADY_RESOLVED": 409,
    "WAIT_TIMED_OUT": 409,
    "WAIT_AMBIGUOUS": 409,
    "WAIT_BAD_VALUE": 422,
}
"""The status of a refused resume or signal, by ``WaitError`` code."""


def _default_problem(error: BaseException, *, expose_errors: bool) -> Problem:
    chain = list(error_chain(error))
    code = error.code if isinstance(error, CadenceError) else "INTERNAL_ERROR"
    extensions: dict[str, Any] = {}
    headers: dict[str, str] = {}
    note = next((e.note_name for e in chain if isinstance(e, NoteError)), None)
    if note is not None:
        extensions["note"] = note
    parallel = next((e for e in chain if isinstance(e, ParallelNoteError)), None)
    if parallel is not None:
        extensions["group"] = parallel.group_name
        extensions["task_index"] = parallel.task_index
    where = f"note {note!r}" if note is not None else "the run"
    breaker = next((e for e in chain if isinstance(e, CircuitOpenError)), None)
    lease = next(
        (e for e in chain if isinstance(e, CheckpointError) and e.code == "LEASE_HELD"), None
    )
    if breaker is not None:
        retry_after = max(1, math.ceil(breaker.retry_after))
        status = 503
        detail = f"{where} was refused by an open circuit breaker; retry after {retry_after} s"
        extensions["retry_after"] = retry_after
        headers["Retry-After"] = str(retry_after)
    elif any(isinstance(e, builtins.TimeoutError) for e in chain):
        status = 504
        detail = f"{where} timed out"
    elif lease is not None:
        status = 409
        detail = "another worker is running this request; retry later"
    elif isinstance(error, WaitError) and error.code in _WAIT_STATUS:
        # Our own words about the client's request (run id, wait key, their value): safe, but
        # they quote the client's value, so bounded like every other echo of the input.
        status, detail = _WAIT_STATUS[error.code], safe_text(error.message, 500)
    elif isinstance(error, IdempotencyKeyError):
        status, detail = error.status, error.message
    elif isinstance(error, ScoreEncodingError):
        status, code = 500, "RESPONSE_ENCODING_FAILED"
        detail = str(error)
    elif note is not None:
        status = 500
        detail = f"{where} failed"
    else:
        status = 500
        detail = "the run failed"
    if expose_errors:
        detail = error.message if isinstance(error, CadenceError) else str(error)
    return Problem(status, _phrase(status), code, detail, extensions=extensions, headers=headers)


def problem_for(
    error: BaseException,
    *,
    errors: ErrorMapping | None = None,
    expose_errors: bool = False,
    cadence_name: str | None = None,
) -> Any:
    """The response for a failed run: a :class:`Problem`, or what a user handler returned.

    Args:
        error: What the run (or the response mapper) raised.
        errors: User overrides, matched against every error in the chain, outermost first.
        expose_errors: Put the error's own message in ``detail`` (handy in development; leaks
            internals in production).
        cadence_name: Added as the ``cadence`` member when given.
    """
    problem = _default_problem(error, expose_errors=expose_errors)
    if cadence_name is not None:
        problem = _with_extensions(problem, cadence=cadence_name)
    if errors:
        for err in error_chain(error):
            for key, value in errors.items():
                matched = (
                    getattr(err, "code", None) == key
                    if isinstance(key, str)
                    else isinstance(err, key)
                )
                if not matched:
                    continue
                if isinstance(value, int):
                    return _with_status(problem, value)
                custom = value(err, problem)
                if custom is not None:
                    return custom
    if problem.status >= 500 and problem.status not in (503, 504):
        logger.error(
            "cadence run%s failed with %s",
            f" of {cadence_name!r}" if cadence_name else "",
            problem.code,
            exc_info=error,
        )
    return problem


def safe_text(text: Any, limit: int = _MAX_TEXT) -> str:
    """``text`` as short, always-encodable text: cut to ``limit``, lone surrogates escaped."""
    value = text if isinstance(text, str) else repr(text)
    if len(value) > limit:
        value = f"{value[:limit]}... ({len(value) - limit} more characters)"
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _input_preview(value: Any) -> Any:
    """What of the rejected input to echo: short scalars only, never NaN or a huge number."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else safe_text(str(value), 40)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return safe_text(value, 100)
    return None


def _clean_error(error: Any) -> dict[str, Any]:
    if not isinstance(error, Mapping):
        return {"loc": [], "msg": safe_text(error), "type": "value_error"}
    loc = error.get("loc", ())
    parts = loc if isinstance(loc, list | tuple) else (loc,)
    clean: dict[str, Any] = {
        "loc": [p if type(p) is int else safe_text(p, 80) for p in parts[:_MAX_LOC]],
        "msg": safe_text(error.get("msg", "invalid value")),
        "type": safe_text(error.get("type", "value_error"), 60),
    }
    preview = _input_preview(error.get("input"))
    if preview is not None:
        clean["input"] = preview
    return clean


def validation_problem(errors: list[dict[str, Any]], *, detail: str = "") -> Problem:
    """A ``422`` problem listing invalid request fields (``loc``, ``msg``, ``type``).

    Whatever the errors hold -- NaN, lone surrogates, a 10 MB value, an exception object in
    pydantic's ``ctx`` -- the document stays small and encodable: at most 20 errors, text cut
    to 200 characters, only short scalar inputs echoed, ``ctx`` dropped (``msg`` says it).
    """
    cleaned = [_clean_error(e) for e in list(errors)[:_MAX_ERRORS]]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in cleaned)
    extensions: dict[str, Any] = {"errors": cleaned}
    if len(errors) > _MAX_ERRORS:
        extensions["errors_omitted"] = len(errors) - _MAX_ERRORS
    return Problem(
        422,
        _phrase(422),
        "VALIDATION_FAILED",
        safe_text(detail, 500) if detail else safe_text(f"invalid or missing: {fields}", 500),
        extensions=extensions,
    )


def bad_request_problem(detail: str, *, status: int = 400, code: str = "BAD_REQUEST") -> Problem:
    """A ``4xx`` problem for a request that could not be read at all (malformed, too large)."""
    return Problem(status, _phrase(status), code, safe_text(detail, 500))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _with_status(problem: Problem, status: int) -> Problem:
    title = _phrase(status) if problem.type == "about:blank" else problem.title
    return dataclasses.replace(problem, status=status, title=title)


def _with_extensions(problem: Problem, **members: Any) -> Problem:
    return dataclasses.replace(problem, extensions={**problem.extensions, **members})
