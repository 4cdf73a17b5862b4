"""The error family's classification and flags, and the message types."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from cadence.exceptions import CadenceError
from cadence_llm import (
    AllModelsFailedError,
    AssistantMessage,
    Attempt,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextWindowExceededError,
    Message,
    ModelError,
    ModelNotFoundError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    OverloadedError,
    RateLimitedError,
    ServerError,
    ToolCall,
    Usage,
)
from cadence_llm.errors import error_from_status, normalize_error, parse_retry_after


@pytest.mark.parametrize(
    ("cls", "retryable", "fallback"),
    [
        (RateLimitedError, True, True),
        (OverloadedError, True, True),
        (ModelTimeoutError, True, True),
        (ServerError, True, True),
        (ContextWindowExceededError, False, True),
        (ContentFilteredError, False, False),
        (AuthenticationError, False, False),
        (ModelNotFoundError, False, False),
        (BadRequestError, False, False),
    ],
)
def test_flags(cls, retryable, fallback):
    """Each class says whether retrying helps and whether another model should be tried."""
    err = cls("x")
    assert (err.retryable, err.should_fallback) == (retryable, fallback)
    assert isinstance(err, ModelError) and isinstance(err, CadenceError)


def test_timeout_and_connection_errors_are_builtins_too():
    """Model timeouts are TimeoutErrors and connection errors ConnectionErrors, for generic handlers."""
    from cadence_llm import ModelConnectionError

    assert isinstance(ModelTimeoutError("x"), TimeoutError)
    assert isinstance(ModelConnectionError("x"), ConnectionError)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"error": {"message": "x", "code": "rate_limit_exceeded"}}, RateLimitedError),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            OverloadedError,
        ),
        (
            200,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            OverloadedError,
        ),
        (503, "Service Unavailable", OverloadedError),
        (504, "", ModelTimeoutError),
        (502, "<html>", ServerError),
        (404, {"error": {"message": "The model `gpt-9` does not exist"}}, ModelNotFoundError),
        (
            413,
            {"type": "error", "error": {"type": "request_too_large", "message": "too big"}},
            ContextWindowExceededError,
        ),
        (400, {"error": {"message": "flagged", "code": "content_filter"}}, ContentFilteredError),
        (422, {"detail": "bad"}, BadRequestError),
    ],
)
def test_error_from_status(status, body, expected):
    """Status codes and provider bodies map onto the family."""
    assert type(error_from_status(status, body)) is expected


def test_retry_after_forms():
    """Retry-After is read as seconds, milliseconds or an HTTP date; garbage is ignored."""
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert (
        parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
        == 10.0
    )
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_unknown_exceptions_are_not_normalized():
    """A plain bug is not dressed up as a model error."""
    assert normalize_error(KeyError("x")) is None
    assert isinstance(normalize_error(TimeoutError("x")), ModelTimeoutError)


def test_error_str_names_provider_model_and_status():
    """str(error) says which provider and model failed and the HTTP status."""
    err = error_from_status(
        429, {"error": {"message": "slow down"}}, provider="openai", model="gpt-4o"
    )
    assert str(err) == "[RATE_LIMITED] openai/gpt-4o HTTP 429: slow down"


def test_errors_pickle():
    """Errors survive pickling (process pools, task queues)."""
    import pickle

    err = RateLimitedError("x", provider="p", model="m", retry_after=2.0)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RateLimitedError and back.retry_after == 2.0 and back.model == "m"


def test_all_models_failed_lists_attempts():
    """AllModelsFailedError's message has one line per attempt."""
    attempts = [
        Attempt("a", 1, ServerError("boom"), 0.0, 0.1),
        Attempt("b", 1, OverloadedError("busy"), 0.1, 0.1),
    ]
    err = AllModelsFailedError("all failed", attempts=attempts)
    assert "a try 1" in str(err) and "b try 1" in str(err) and err.__cause__ is attempts[-1].error


def test_messages_round_trip_json():
    """A conversation serializes to JSON and back, discriminated by role."""
    request = ModelRequest.of("hi", system="sys", max_tokens=5)
    again = ModelRequest.model_validate_json(request.model_dump_json())
    assert again == request
    msg = TypeAdapter(Message).validate_python(
        {"role": "assistant", "tool_calls": [{"id": "1", "name": "f"}]}
    )
    assert isinstance(msg, AssistantMessage) and msg.tool_calls[0].arguments == "{}"


def test_request_validation():
    """Invalid requests fail when built (max_tokens must be positive, unknown fields refused)."""
    with pytest.raises(ValidationError):
        ModelRequest.of("x", max_tokens=0)
    with pytest.raises(ValidationError):
        ModelRequest.of("x", temprature=0.2)


def test_usage_adds_and_response_to_message():
    """Usage adds up field by field; a response becomes the assistant turn."""
    assert Usage(input_tokens=1, output_tokens=2) + Usage(input_tokens=3, cached_tokens=1) == Usage(
        input_tokens=4, output_tokens=2, cached_tokens=1
    )
    resp = ModelResponse(text="t", tool_calls=(ToolCall(id="1", name="f"),))
    assert resp.to_message() == AssistantMessage(
        content="t", tool_calls=(ToolCall(id="1", name="f"),)
    )
