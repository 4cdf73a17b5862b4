"""Structured output: a pydantic model as the answer's shape, validated and repaired.

``generate(model, prompt, response_model=Invoice)`` asks for JSON matching the model's schema
through the provider's strongest mechanism (a JSON-schema response format; a grammar for
``LocalModel``), validates the answer with pydantic, and when it does not validate sends the
validation errors back and asks again, at most ``max_retries`` times. Constrained decoding
guarantees JSON that parses, not JSON that means the right thing (a number out of range, a
cross-field rule), which is why the re-ask loop exists even for constrained models.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cadence.exceptions import CadenceDefinitionError, CadenceError

from ._options import request_options
from .errors import ContentFilteredError
from .messages import (
    AssistantMessage,
    Message,
    ModelRequest,
    ResponseFormat,
    SystemMessage,
    UserMessage,
)
from .models.base import Model

__all__ = [
    "StructuredOutputError",
    "describe_errors",
    "generate",
    "parse_output",
    "reask_message",
    "response_format_for",
]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class StructuredOutputError(CadenceError):
    """The model's answers never validated against the response model.

    Attributes:
        raw: The last answer's raw text.
        errors: The last validation errors, as sent to the model.
        attempts: How many answers were tried.
    """

    default_code = "STRUCTURED_OUTPUT_INVALID"

    def __init__(self, message: str, *, raw: str, errors: str, attempts: int) -> None:
        super().__init__(
            message, details={"raw": raw[:2000], "errors": errors, "attempts": attempts}
        )
        self.raw = raw
        self.errors = errors
        self.attempts = attempts


def response_format_for(response_model: type[BaseModel]) -> ResponseFormat:
    """The ``ResponseFormat`` asking for JSON that matches ``response_model``."""
    return ResponseFormat(
        type="json_schema",
        schema=response_model.model_json_schema(),
        name=response_model.__name__,
        response_model=response_model,
    )


def _candidates(raw: str) -> list[str]:
    """The answer itself, then the inside of a code fence, then the outermost ``{...}``."""
    text = raw.strip()
    out = [text]
    fence = _FENCE.search(text)
    if fence:
        out.append(fence.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        out.append(text[start : end + 1])
    return out


def describe_errors(exc: ValidationError) -> str:
    """A validation error as one line the model can act on (``field: problem; ...``)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    )


def reask_message(errors: str, schema: str) -> UserMessage:
    """The message that sends an invalid answer's errors back with the schema it must match."""
    return UserMessage(
        content=f"Your answer is not valid: {errors}. Reply again with only a JSON object "
        f"that matches this schema: {schema}"
    )


def parse_output(raw: str, response_model: type[T]) -> T:
    """Validate a raw answer, tolerating a code fence, text around the JSON object, and raw
    control characters inside strings.

    Raises:
        ValidationError: no candidate validates (the error of the answer as a whole).
    """
    first: ValidationError | None = None
    for candidate in _candidates(raw):
        try:
            return response_model.model_validate_json(candidate)
        except ValidationError as exc:
            first = first or exc
        try:  # grammars often let raw newlines into strings; strict JSON refuses them
            data = json.loads(candidate, strict=False)
        except ValueError:
            continue
        try:
            return response_model.model_validate(data)
        except ValidationError:
            continue
    assert first is not None
    raise first


def _messages(prompt: str | Sequence[Message] | ModelRequest, system: str | None) -> list[Message]:
    if isinstance(prompt, ModelRequest):
        messages = list(prompt.messages)
    elif isinstance(prompt, str):
        messages = [UserMessage(content=prompt)]
    else:
        messages = list(prompt)
    if system is not None:
        messages.insert(0, SystemMessage(content=system))
    return messages


async def generate(
    model: Model,
    prompt: str | Sequence[Message] | ModelRequest,
    *,
    response_model: type[T],
    system: str | None = None,
    max_retries: int = 2,
    options: Mapping[str, Any] | None = None,
) -> T:
    """Ask ``model`` for an answer shaped like ``response_model`` and return it validated.

    Args:
        model: Any model; adapters map the JSON-schema response format to the provider's mode.
        prompt: A user prompt, a conversation, or a request (its options are kept).
        response_model: The pydantic model the answer must validate against.
        system: An optional system prompt, placed first.
        max_retries: How many times an invalid answer is re-asked with its validation errors.
        options: Extra ``ModelRequest`` fields (``temperature``, ``max_tokens``...).

    Raises:
        StructuredOutputError: the last allowed answer still did not validate; it carries
            the raw text and the errors.
        ModelError: the model call itself failed.
    """
    if not (isinstance(response_model, type) and issubclass(response_model, BaseModel)):
        raise CadenceDefinitionError(
            f"generate(response_model=...) takes a pydantic model class, got {response_model!r}"
        )
    if not isinstance(max_retries, int) or max_retries < 0:
        raise CadenceDefinitionError(
            f"generate(max_retries=...) must be an int >= 0, got {max_retries!r}"
        )
    fmt = response_format_for(response_model)
    base = (
        prompt.model_dump(exclude={"messages", "response_format"})
        if isinstance(prompt, ModelRequest)
        else {}
    )
    base.update(
        request_options(options, where="generate", reserved=("messages", "response_format"))
    )
    messages = _messages(prompt, system)
    schema = json.dumps(fmt.schema_)
    raw, errors = "", ""
    attempts = max_retries + 1
    for attempt in range(1, attempts + 1):
        request = ModelRequest(messages=tuple(messages), response_format=fmt, **base)
        response = await model.complete(request)
        raw = response.text
        try:
            return parse_output(raw, response_model)
        except ValidationError as exc:
            errors = describe_errors(exc)
            if response.finish_reason == "content_filter":
                # A refusal: asking again with the validation errors cannot change it.
                raise ContentFilteredError(
                    f"the model refused to give a {response_model.__name__}: {raw[:300]!r}",
                    provider=response.system,
                    model=response.model,
                    partial=response,
                ) from exc
            if response.finish_reason == "length":
                # Cut off by the output limit: a re-ask with the same limit is cut off again.
                raise StructuredOutputError(
                    f"{getattr(model, 'name', model)!r} was cut off by the output limit "
                    f"(max_tokens={request.max_tokens}) before finishing its "
                    f"{response_model.__name__}: raise max_tokens; last output: {raw[:300]!r}",
                    raw=raw,
                    errors=errors,
                    attempts=attempt,
                ) from exc
        messages += [AssistantMessage(content=raw), reask_message(errors, schema)]
    raise StructuredOutputError(
        f"{getattr(model, 'name', model)!r} gave no valid {response_model.__name__} in {attempts} "
        f"attempt(s) (max_retries={max_retries}); last errors: {errors}; last output: {raw[:300]!r}",
        raw=raw,
        errors=errors,
        attempts=attempts,
    )
