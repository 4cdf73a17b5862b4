"""``OpenAIModel``: the official ``openai`` SDK's ``AsyncOpenAI``, chat completions API.

The SDK is imported only when a model is built without a client. Whatever client is used, its
own retries are switched off (``max_retries=0``): cadence's fallback chain owns retrying, and two
stacked retry loops multiply attempts against a struggling provider.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from .._optional import check_async_client, require
from ..messages import ModelRequest, ModelResponse
from ._chat_format import (
    ChunkReader,
    SchemaStyle,
    as_dict,
    build_payload,
    parse_completion,
    read_raw,
    sdk_whole_answer,
)
from .base import Delta, ModelAdapter, ResponseBuilder, client_base_url

__all__ = ["OpenAIModel", "openai_client"]


def openai_client(
    client: Any,
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    adapter: str = "OpenAIModel",
    attrs: tuple[str, ...] = ("chat", "completions"),
) -> Any:
    """``client`` with its retries switched off, or a new ``AsyncOpenAI`` built without them."""
    if client is not None:
        check_async_client(client, adapter=adapter, sdk="openai", attrs=attrs)
    if client is None:
        openai = require("openai", "openai")
        return openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )
    if getattr(client, "max_retries", 0) != 0:
        return client.with_options(max_retries=0)
    return client


class OpenAIModel(ModelAdapter):
    """A model behind OpenAI's chat completions API, through the official SDK.

    Args:
        model: The model name (``"gpt-4o-mini"``).
        client: An ``openai.AsyncOpenAI`` (or Azure) client; its retries are switched off.
            Built from the settings below when omitted.
        api_key: Used when building a client (defaults to ``OPENAI_API_KEY``).
        base_url: Used when building a client (any OpenAI-compatible endpoint works).
        timeout: Seconds per request when building a client.
        max_tokens_field: ``"max_completion_tokens"`` (OpenAI) or ``"max_tokens"`` (servers that
            only know the older name, such as llama.cpp's).
        schema_style: How a JSON-schema response format is sent; ``"json_object"`` suits
            llama.cpp's server.
        stream_usage: Ask for a final usage chunk when streaming. It comes after the finish
            chunk: a stream cut between the two still gives its (complete) answer, with the
            all-zero ``Usage()`` of "not reported".
    """

    system = "openai"

    def __init__(
        self,
        model: str,
        *,
        client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_tokens_field: str = "max_completion_tokens",
        schema_style: SchemaStyle = "json_schema",
        stream_usage: bool = True,
    ) -> None:
        super().__init__(model)
        self.client = openai_client(client, api_key=api_key, base_url=base_url, timeout=timeout)
        self.max_tokens_field = max_tokens_field
        self.schema_style: SchemaStyle = schema_style
        self.stream_usage = stream_usage

    async def aclose(self) -> None:
        """Close the SDK client's connections (also when the client was passed in)."""
        await self.client.close()

    def cache_identity(self) -> dict[str, Any]:
        """The base identity plus the endpoint (OpenAI, Azure or another server answering to
        the same model name) and how schemas are sent (strict or not decodes differently)."""
        return {
            **super().cache_identity(),
            "base_url": client_base_url(self.client),
            "schema_style": self.schema_style,
        }

    def _payload(self, request: ModelRequest) -> dict[str, Any]:
        payload = build_payload(
            request,
            self.model,
            max_tokens_field=self.max_tokens_field,
            schema_style=self.schema_style,
            include_extra=False,
        )
        if request.extra:
            payload["extra_body"] = dict(request.extra)
        return payload

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        completions = self.client.chat.completions
        raw_api = getattr(completions, "with_raw_response", None)
        if raw_api is None:  # a duck-typed client: take its parsed objects
            parsed = await completions.create(**self._payload(request))
            return self._parse(as_dict(parsed))
        # The raw body skips building the SDK's pydantic objects only to dump them again
        # (about 10% of a call); a body that is not JSON is reported by us, verbatim, and an
        # error object sent with a 200 raises the error it names.
        raw = await raw_api.create(**self._payload(request))
        return read_raw(
            raw, answer_key="choices", parse=self._parse, model=self.model, system=self.system
        )

    def _parse(self, data: object) -> ModelResponse:
        return parse_completion(data, model=self.model, system=self.system)

    async def _stream(
        self, request: ModelRequest, builder: ResponseBuilder
    ) -> AsyncGenerator[Delta, None]:
        payload = self._payload(request)
        payload["stream"] = True
        if self.stream_usage:
            payload["stream_options"] = {"include_usage": True}
        reader = ChunkReader(builder)
        stream = await self.client.chat.completions.create(**payload)
        try:
            # A server that ignores stream=True answers with one JSON body: read it whole.
            whole = await sdk_whole_answer(stream, builder, answer_key="choices", parse=self._parse)
            if whole is not None:
                for event in whole:
                    yield event
                return
            async for chunk in stream:
                for event in reader.feed(as_dict(chunk)):
                    yield event
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await close()
