"""An MCP server written with the ``mcp`` SDK's own server API, run by the tests as a process.

``python -m tests.mcp_tools.server_app`` serves stdio; ``... http PORT`` serves Streamable HTTP on
loopback, behind a small ASGI layer that answers a call of the tool ``overloaded`` with HTTP
503, as a proxy in front of a struggling server would. ``crash`` kills the process mid-call
(``os._exit``), ``crash_once`` does so only when the file named by ``CRASH_MARKER`` is absent.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

app = MCPServer("fixture")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool(name="text.upper")
def upper(text: str) -> str:
    """Upper-case a text (a dotted name, as MCP allows)."""
    return text.upper()


@app.tool()
def pid() -> int:
    """The server's process id: the same id across calls shows one session was reused."""
    return os.getpid()


@app.tool()
def fail(reason: str) -> str:
    """Raise, so the server reports an isError result."""
    raise ValueError(reason)


@app.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(3)


@app.tool()
def crash_once() -> str:
    """Crash on the first call (no marker file yet), answer on the next."""
    marker = Path(os.environ["CRASH_MARKER"])
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(3)
    return "recovered"


@app.tool()
async def slow(seconds: float) -> str:
    """Answer after ``seconds``."""
    await asyncio.sleep(seconds)
    return f"slept {seconds:g}s"


@app.tool()
def overloaded() -> str:
    """Never reached over HTTP: the ASGI layer answers 503 first."""
    return "unreachable"


def _with_503(asgi: Any) -> Any:
    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await asgi(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b'"overloaded"' in body:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"overloaded"})
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await asgi(scope, replay, send)

    return wrapper


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        import uvicorn

        uvicorn.run(
            _with_503(app.streamable_http_app()),
            host="127.0.0.1",
            port=int(sys.argv[2]),
            log_level="warning",
        )
    else:
        app.run()
