"""recipes.fastapi_app: the AI endpoint over a real uvicorn server on a loopback port."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from cadence_llm import FunctionModel
from recipes.fastapi_app import create_app


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def base_url(fake_model: FunctionModel) -> AsyncIterator[str]:
    """The app served by uvicorn in this event loop, on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(fake_model), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def parse_sse(text: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    """(event, data) pairs of an SSE body."""
    events = []
    for frame in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_answer_streams_token_by_token(base_url: str) -> None:
    """With Accept: text/event-stream the tokens arrive as separate events before the result."""
    chunks: list[str] = []
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream(
            "POST",
            f"{base_url}/ask",
            json={"question": "What does .sync do?"},
            headers={"accept": "text/event-stream"},
        ) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for chunk in resp.aiter_text():
            chunks.append(chunk)
    events = parse_sse("".join(chunks))
    kinds = [e for e, _ in events]
    tokens = [d["text"] for e, d in events if e == "token"]
    assert kinds[0] == "run_started" and kinds[-1] == "result"
    assert len(tokens) > 3 and "".join(tokens) == "Run it again with the same run id [1]."
    assert kinds.index("token") > kinds.index("note_started")
    result = events[-1][1]
    assert result["answer"] == "".join(tokens) and result["sources"]


async def test_plain_json_without_sse(base_url: str) -> None:
    """Without the SSE accept header the endpoint answers one JSON document."""
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(f"{base_url}/ask", json={"question": "What does .sync do?"})
    body = resp.json()
    assert resp.status_code == 200 and body["question"] == "What does .sync do?"
    assert body["answer"].endswith("[1].") and all(s.endswith(".md") for s in body["sources"])


async def test_openapi_page_and_validation(base_url: str) -> None:
    """The OpenAPI schema documents /ask; the docs and home pages load; bad bodies get 422."""
    async with httpx.AsyncClient(timeout=30) as client:
        schema = (await client.get(f"{base_url}/openapi.json")).json()
        docs = await client.get(f"{base_url}/docs")
        home = await client.get(f"{base_url}/")
        bad = await client.post(f"{base_url}/ask", json={"question": ""})
    assert "/ask" in schema["paths"] and "Question" in schema["components"]["schemas"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert home.status_code == 200 and "text/event-stream" in home.text
    assert bad.status_code == 422
