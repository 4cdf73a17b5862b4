"""``OpenAICompatModel``: plain httpx against any ``/v1/chat/completions`` server.

For vLLM, Ollama, llama.cpp's server, LM Studio and hosted OpenAI-compatible APIs, without the
``openai`` SDK. Status codes, error bodies and Server-Sent Events are read here directly, so the
adapter sees exactly what the server sent (a 500 whose body says "context length" is classified
as a context-window error, not a server error).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from .._optional import require
from ..errors import error_from_status
from ..messages import ModelRequest, ModelResponse
from ._chat_format import (
    ChunkReader,
    SchemaStyle,
    build_payload,
    is_json,
    loads,
    parse_completion,
    read_body,
    sse_data,
    whole_answer,
)
from .base import Delta, ModelAdapter, ResponseBuilder

__all__ = ["OpenAICompatModel"]


class OpenAICompatModel(ModelAdapter):
    """A model behind any OpenAI-compatible chat completions endpoint.

    Args:
        model: The model name the server expects.
        base_url: The API root, e.g. ``"http://127.0.0.1:8000/v1"``; ``/chat/completions``
            is appended.
        api_key: Sent as ``Authorization: Bearer`` when given.
        client: An ``httpx.AsyncClient`` to use (connection pooling, proxies, transports).
        timeout: Seconds per request when the adapter builds its own client.
        headers: Extra headers for every request.
        schema_style: ``"json_object"`` (default: llama.cpp and most servers) or
            ``"json_schema"`` (vLLM and OpenAI-style structured outputs).
        stream_usage: Ask for a final usage chunk when streaming. It comes after the finish
            chunk: a stream cut between the two still gives its (complete) answer, with the
            all-zero ``Usage()`` of "not reported".
        system: The provider name reported in errors and spans.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        client: Any = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        schema_style: SchemaStyle = "json_object",
        stream_usage: bool = True,
        system: str = "openai_compat",
    ) -> None:
        super().__init__(model)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must be an http(s) URL such as http://host/v1, got {base_url!r}"
            )
        self.system = system
        self.url = base_url.rstrip("/") + "/chat/completions"
        if client is None:
            httpx = require("httpx", "llm")
            client = httpx.AsyncClient(timeout=timeout)
        self.client = client
        self.headers = {"content-type": "application/json", **dict(headers or {})}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        self.schema_style: SchemaStyle = schema_style
        self.stream_usage = stream_usage

    async def aclose(self) -> None:
        """Close the HTTP client (also when it was passed in)."""
        await self.client.aclose()

    def cache_identity(self) -> dict[str, Any]:
        """The base identity plus the server (one model name on two servers is two models)
        and how schemas are sent."""
        return {**super().cache_identity(), "url": self.url, "schema_style": self.schema_style}

    def _payload(self, request: ModelRequest) -> dict[str, Any]:
        return build_payload(
            request, self.model, max_tokens_field="max_tokens", schema_style=self.schema_style
        )

    def _raise_for(self, status: int, text: str, headers: Mapping[str, str]) -> None:
        # error_from_status reads a JSON error body and keeps a non-JSON one as text.
        raise error_from_status(status, text, headers, provider=self.system, model=self.model)

    async def _complete(self, request: ModelRequest) -> ModelResponse:
        resp = await self.client.post(self.url, json=self._payload(request), headers=self.headers)
        if resp.status_code >= 400:
            self._raise_for(resp.status_code, resp.text, resp.headers)
        return read_body(
            resp.text,
            status=resp.status_code,
            headers=resp.headers,
            answer_key="choices",
            parse=self._parse,
            model=self.model,
            system=self.system,
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
        async with self.client.stream("POST", self.url, json=payload, headers=self.headers) as resp:
            if resp.status_code >= 400:
                text = (await resp.aread()).decode(errors="replace")
                self._raise_for(resp.status_code, text, resp.headers)
            if is_json(resp.headers):
                # Not a stream: a server (or a proxy) that ignores stream=True answers with the
                # whole completion, or with an error body, as JSON. Read it as one.
                body = (await resp.aread()).decode(errors="replace")
                whole = whole_answer(
                    body,
                    resp.status_code,
                    resp.headers,
                    builder,
                    answer_key="choices",
                    parse=self._parse,
                )
                for event in whole:
                    yield event
                return
            async for line in resp.aiter_lines():
                data = sse_data(line)
                if not data:
                    continue
                if data == "[DONE]":
                    break
                chunk = loads(data, model=self.model, system=self.system)
                if isinstance(chunk, Mapping) and chunk.get("error"):
                    raise error_from_status(200, chunk, provider=self.system, model=self.model)
                for event in reader.feed(chunk):
                    yield event
