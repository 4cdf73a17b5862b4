"""One family of model errors, whatever the provider.

Every adapter turns provider failures into these classes, so retry and fallback decisions are
written once. Each error says whether retrying the same model can help (``retryable``) and
whether moving to another model should (``should_fallback``)::

    CadenceError
    └── ModelError                     .provider .model .status_code .retryable .should_fallback
        ├── RateLimitedError           429; .retry_after; quota exhausted is not retryable
        ├── OverloadedError            529 / 503 (Anthropic "overloaded_error")
        ├── ModelTimeoutError          408 / 504 / client timeout (also builtins.TimeoutError)
        ├── ModelConnectionError       network failure (also builtins.ConnectionError)
        ├── ServerError                other 5xx, 409 (a lock timeout)
        ├── MalformedResponseError     unparseable or incomplete answer
        │   └── TruncatedStreamError   the stream ended before the model finished
        ├── ContextWindowExceededError prompt too long: retrying is useless, a larger model helps
        ├── ContentFilteredError       the provider's safety filter refused
        ├── AuthenticationError        401 / 403: fix credentials, never fall back
        ├── ModelNotFoundError         404: the model name is wrong for this provider
        ├── BadRequestError            400 / 422: the request itself is wrong
        ├── AnswerRejectedError        a fallback chain's answer check refused a response
        └── AllModelsFailedError       a fallback chain ran out of models; .attempts lists each try

Errors raised after a stream produced its first chunk carry the partial answer in ``.partial``.
"""

from __future__ import annotations

import builtins
import email.utils
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from cadence.exceptions import CadenceError

from .messages import ModelResponse

__all__ = [
    "AllModelsFailedError",
    "AnswerRejectedError",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilteredError",
    "ContextWindowExceededError",
    "MalformedResponseError",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelTimeoutError",
    "OverloadedError",
    "RateLimitedError",
    "ServerError",
    "TruncatedStreamError",
    "error_from_status",
    "normalize_error",
    "parse_retry_after",
]


class ModelError(CadenceError):
    """A model call failed; subclasses say why and what to do about it.

    Args:
        message: What happened, in the provider's words where they help.
        provider: The provider (``"openai"``, ``"anthropic"``, ...).
        model: The model that was called.
        status_code: The HTTP status, when there was one.
        retry_after: Seconds the provider asked us to wait, when it said.
        retryable: Override the class default (e.g. an exhausted quota is a 429 that never heals).
        partial: What a stream had produced before it failed.
        body: The provider's error body, for logs.
    """

    default_code = "MODEL_ERROR"
    catchable_through_notes = True  # inside a cadence, `except RateLimitedError` still fires
    retryable_default: ClassVar[bool] = False
    fallback_default: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        should_fallback: bool | None = None,
        partial: ModelResponse | None = None,
        body: object = None,
    ) -> None:
        super().__init__(
            message,
            None,
            {"provider": provider, "model": model, "status_code": status_code},
        )
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.retry_after = retry_after
        self.retryable = self.retryable_default if retryable is None else retryable
        self.should_fallback = self.fallback_default if should_fallback is None else should_fallback
        self.partial = partial
        self.body = body

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        status = f" HTTP {self.status_code}" if self.status_code else ""
        prefix = f"[{self.code}]" + (f" {where}{status}:" if where or status else "")
        return f"{prefix} {self.message}"


class RateLimitedError(ModelError):
    """The provider throttled us (429); wait ``retry_after`` seconds or use another model."""

    default_code = "RATE_LIMITED"
    retryable_default = True
    fallback_default = True


class OverloadedError(ModelError):
    """The provider is overloaded (Anthropic 529, HTTP 503); another model usually answers."""

    default_code = "OVERLOADED"
    retryable_default = True
    fallback_default = True


class ModelTimeoutError(ModelError, builtins.TimeoutError):
    """The call took too long (client timeout, 408, 504)."""

    default_code = "MODEL_TIMEOUT"
    retryable_default = True
    fallback_default = True


class ModelConnectionError(ModelError, builtins.ConnectionError):
    """The network failed before or during the call."""

    default_code = "MODEL_CONNECTION"
    retryable_default = True
    fallback_default = True


class ServerError(ModelError):
    """The provider failed (5xx), or could not take the request just now (409)."""

    default_code = "MODEL_SERVER_ERROR"
    retryable_default = True
    fallback_default = True


class MalformedResponseError(ModelError):
    """The answer could not be parsed or was incomplete."""

    default_code = "MALFORMED_RESPONSE"
    retryable_default = True
    fallback_default = True


class TruncatedStreamError(MalformedResponseError):
    """A stream ended without the model's finish signal: the answer is cut off."""

    default_code = "TRUNCATED_STREAM"


class ContextWindowExceededError(ModelError):
    """The prompt does not fit the model's context window; a larger model may take it."""

    default_code = "CONTEXT_WINDOW_EXCEEDED"
    fallback_default = True


class ContentFilteredError(ModelError):
    """The provider's content filter refused the prompt or the answer."""

    default_code = "CONTENT_FILTERED"


class AuthenticationError(ModelError):
    """Credentials are missing, wrong or lack permission (401/403): fix the configuration."""

    default_code = "MODEL_AUTHENTICATION"


class ModelNotFoundError(ModelError):
    """The provider does not know this model (404): check the model name."""

    default_code = "MODEL_NOT_FOUND"


class BadRequestError(ModelError):
    """The provider rejected the request as invalid (400/422): fix the request."""

    default_code = "MODEL_BAD_REQUEST"


class AnswerRejectedError(ModelError):
    """A fallback chain's answer check refused a successful response."""

    default_code = "ANSWER_REJECTED"
    fallback_default = True


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one model inside a fallback chain.

    Args:
        model: The model's name.
        number: The try's number for this model, from 1.
        error: What went wrong, or None for the try that succeeded.
        started: Monotonic time the try began.
        duration: Seconds it took.
        hedged: True when the try was started by hedging, alongside another.
        cancelled: True when the chain cancelled it (another try answered first).
    """

    model: str
    number: int
    error: BaseException | None
    started: float
    duration: float
    hedged: bool = False
    cancelled: bool = False


class AllModelsFailedError(ModelError):
    """Every model of a fallback chain failed; ``attempts`` lists each try in order."""

    default_code = "ALL_MODELS_FAILED"
    # Raised only when every model failed with an error that allowed falling back (a stopping
    # error is raised as itself), so a chain nested in another one lets the outer chain go on.
    fallback_default = True

    def __init__(self, message: str, *, attempts: Sequence[Attempt], model: str = "") -> None:
        lines = [message]
        for a in attempts:
            what = "cancelled" if a.cancelled else (str(a.error) if a.error else "ok")
            lines.append(f"  {a.model} try {a.number}: {what}")
        super().__init__("\n".join(lines), provider="chain", model=model)
        self.attempts = tuple(attempts)
        last = next((a.error for a in reversed(self.attempts) if a.error is not None), None)
        if last is not None:
            self.__cause__ = last


_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens"
    r"|exceeds? the (model's |available )?(context|maximum)|exceed context|context size"
    r"|input is too long|reduce the length",
    re.IGNORECASE,
)
_FILTER_PATTERNS = re.compile(r"content[_ ]?(filter|policy|management)|safety", re.IGNORECASE)

_ANTHROPIC_TYPES: dict[str, type[ModelError]] = {
    "overloaded_error": OverloadedError,
    "rate_limit_error": RateLimitedError,
    "api_error": ServerError,
    "timeout_error": ModelTimeoutError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "not_found_error": ModelNotFoundError,
    "request_too_large": ContextWindowExceededError,
    "invalid_request_error": BadRequestError,
}


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date), if any."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(body: object) -> tuple[str, str, str]:
    """(message, type, code) from an OpenAI- or Anthropic-shaped error body."""
    if isinstance(body, bytes | str):
        raw = body.decode(errors="replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(raw)
        except ValueError:
            return raw[:500], "", ""
    if not isinstance(body, Mapping):
        return "", "", ""
    inner = body.get("error", body)
    if isinstance(inner, str):
        return inner, "", ""
    if not isinstance(inner, Mapping):
        return "", "", ""
    message = inner.get("message") or body.get("message") or ""
    return str(message), str(inner.get("type") or ""), str(inner.get("code") or "")


def error_from_status(
    status: int,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    *,
    provider: str = "",
    model: str = "",
) -> ModelError:
    """Classify an HTTP error response (or an in-stream error event) into the family.

    Args:
        status: The HTTP status (200 for an error event inside a successful stream).
        body: The parsed or raw error body.
        headers: Response headers, read for Retry-After and ``x-should-retry`` (the server's
            own say on retrying, which overrides the status's default, as in the SDKs).
        provider: Provider name for the message.
        model: Model name for the message.
    """
    err = _classify(status, body, headers, provider=provider, model=model)
    # The SDKs obey the server's own verdict before any rule of theirs; with their retries
    # switched off, cadence must obey it too.
    verdict = _header(headers, "x-should-retry")
    if verdict in ("true", "false"):
        err.retryable = verdict == "true"
    return err


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value).strip().lower()
    return None


def _classify(
    status: int,
    body: object,
    headers: Mapping[str, str] | None,
    *,
    provider: str,
    model: str,
) -> ModelError:
    message, etype, code = _error_fields(body)
    message = message or f"HTTP {status}"
    kw: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "status_code": status,
        "body": body,
        "retry_after": parse_retry_after(headers),
    }
    if status == 429 or etype in ("rate_limit_error",) or code == "rate_limit_exceeded":
        if code == "insufficient_quota" or etype == "insufficient_quota":
            return RateLimitedError(message, retryable=False, **kw)
        return RateLimitedError(message, **kw)
    if status not in (401, 403, 404) and (
        code == "context_length_exceeded" or _CONTEXT_PATTERNS.search(message)
    ):
        # Checked before the status: some servers (llama.cpp) report this as a 500.
        return ContextWindowExceededError(message, **kw)
    if etype in _ANTHROPIC_TYPES and etype != "invalid_request_error":
        return _ANTHROPIC_TYPES[etype](message, **kw)
    if status in (529, 503):
        return OverloadedError(message, **kw)
    if status in (408, 504):
        return ModelTimeoutError(message, **kw)
    if status >= 500 or status == 409:
        # 409 is a lock timeout or a concurrent-request conflict: both SDKs retry it.
        return ServerError(message, **kw)
    if status in (401, 403):
        return AuthenticationError(message, **kw)
    if status == 404:
        return ModelNotFoundError(message, **kw)
    if status == 413:
        return ContextWindowExceededError(message, **kw)
    if (
        code == "content_filter"
        or code == "content_policy_violation"
        or _FILTER_PATTERNS.search(f"{etype} {code}")
    ):
        return ContentFilteredError(message, **kw)
    if 400 <= status < 500:
        return BadRequestError(message, **kw)
    return ServerError(message, **kw)


_TIMEOUT_NAMES = {
    "APITimeoutError",
    "TimeoutException",
    "ReadTimeout",
    "ConnectTimeout",
    "WriteTimeout",
    "PoolTimeout",
}
_CONNECTION_NAMES = {
    "APIConnectionError",
    "TransportError",
    "NetworkError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "RemoteProtocolError",
    "ProtocolError",
    "CloseError",
    "LocalProtocolError",
}
_MALFORMED_NAMES = {
    "APIResponseValidationError",
    "JSONDecodeError",
    "ValidationError",
    "DecodingError",
}


def normalize_error(
    exc: BaseException, *, provider: str = "", model: str = "", partial: ModelResponse | None = None
) -> ModelError | None:
    """Translate a provider, SDK or transport exception into the family, or None if unknown.

    SDK and httpx/httpx2 exceptions are recognised by class name so the same code serves
    ``httpx`` and the ``httpx2`` fork the newest SDKs use. Unknown exceptions (bugs) return None
    and should propagate unchanged.
    """
    if isinstance(exc, ModelError):
        if partial is not None and exc.partial is None:
            exc.partial = partial
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    kw: dict[str, Any] = {"provider": provider, "model": model, "partial": partial}
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if isinstance(status, int) and response is not None and "APIStatusError" in names:
        headers = getattr(response, "headers", None)
        err = error_from_status(
            status, getattr(exc, "body", None), headers, provider=provider, model=model
        )
        err.partial = partial
        return err
    body = getattr(exc, "body", None)
    if "APIError" in names and body is not None:
        # An error event inside a successful stream (the SDKs raise a bare APIError for it):
        # classify by the body; an unrecognised one is a server-side failure.
        err = error_from_status(200, {"error": body}, None, provider=provider, model=model)
        err.partial = partial
        return err
    detail = str(exc) or type(exc).__name__
    if names & _TIMEOUT_NAMES or isinstance(exc, builtins.TimeoutError):
        return ModelTimeoutError(f"timed out: {detail}", **kw)
    if names & _CONNECTION_NAMES or isinstance(exc, builtins.ConnectionError):
        return ModelConnectionError(f"connection failed: {detail}", **kw)
    if names & _MALFORMED_NAMES:
        return MalformedResponseError(f"could not read the response: {detail}", **kw)
    return None
