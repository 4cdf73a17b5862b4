"""A scripted provider on a loopback port, for driving the real SDKs over real HTTP.

respx stops at the transport; this server sits behind a real socket, so the SDKs' own status
handling, SSE decoding and connection errors (a reset mid-stream, a body cut short) are what
the adapters see. Each request takes the next scripted reply; the request bodies are kept.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.llm.conftest import sse

Reply = Callable[[BaseHTTPRequestHandler], None]


def reply(status: int, body: object, headers: Mapping[str, str] | None = None) -> Reply:
    """A whole response: ``body`` as JSON, or as text when it is a string."""
    text = body if isinstance(body, str) else json.dumps(body)
    kind = "text/plain" if isinstance(body, str) else "application/json"

    def send(h: BaseHTTPRequestHandler) -> None:
        data = text.encode()
        h.send_response(status)
        h.send_header("content-type", kind)
        h.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    return send


def sse_text(events: Iterable[Mapping[str, Any]], *, named: bool = False, done: bool = True) -> str:
    """Server-Sent Events as text, non-ASCII sent as UTF-8; ``named`` adds ``event:`` lines
    (Anthropic, Responses API)."""
    return sse(events, named=named, done=done, ensure_ascii=False).decode()


def stream(text: str, *, end: str = "close") -> Reply:
    """An SSE body sent chunked; ``end="close"`` finishes it properly, ``"reset"`` sends a TCP
    reset after the events (the connection drops mid-stream)."""

    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()
        data = text.encode()
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()
        h.close_connection = True
        if end == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        else:
            h.wfile.write(b"0\r\n\r\n")

    return send


class ProviderServer:
    """The running server: ``url``, the ``replies`` to give, and the ``bodies`` received."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.bodies: list[Any] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                server.bodies.append(json.loads(self.rfile.read(size) or b"null"))
                if server.replies:
                    server.replies.pop(0)(self)
                else:
                    reply(500, {"error": {"message": "nothing scripted"}})(self)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        # A short poll: shutdown() waits for the serving loop's next look at its flag.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        """Replace the scripted replies."""
        self.replies = list(replies)
        self.bodies = []

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    """A scripted provider on a free loopback port, stopped after the test."""
    server = ProviderServer()
    try:
        yield server
    finally:
        server.close()
