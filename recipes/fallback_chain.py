"""A fallback chain surviving a failing provider: 429 with Retry-After, then 529, then the
local model answers. Every attempt is printed.

What it shows:

- ``FaultyServer``: a real OpenAI-compatible HTTP endpoint on loopback (stdlib
  ``http.server`` in a thread) that answers ``429 Too Many Requests`` with ``Retry-After: 1``,
  then ``529 Overloaded`` -- what a busy provider does. Set ``OPENAI_API_KEY`` (and
  ``OPENAI_BASE_URL`` for another server) to put a real endpoint first instead.
- ``FallbackChain([remote, local], retry=2)``: the 429 is retried after exactly the
  ``Retry-After`` the server sent (not the chain's own backoff); the 529 on the last allowed try
  moves on to the next model, because an overload is an error another model can fix (an
  authentication error or a bad request would stop the chain instead).
- ``on_attempt``: every try is reported as it finishes -- the model, the try number, how long it
  took and what went wrong.
- The chain is a model: the cadence's ``llm_note`` does not know it is talking to a chain.

Run: ``python -m recipes.fallback_chain`` (or pass your own question in quotes).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cadence import Cadence, Score
from cadence_llm import Attempt, FallbackChain, Model, OpenAICompatModel, OpenAIModel, llm_note
from recipes._models import command_words, load_model, run, say

QUESTION = "In one sentence: why should a fallback chain retry a 429 before falling back?"

FAULTS: tuple[tuple[int, dict[str, str], dict[str, Any]], ...] = (
    (
        429,
        {"Retry-After": "1"},
        {"error": {"type": "rate_limit_error", "message": "Rate limit reached, retry in 1s"}},
    ),
    (529, {}, {"error": {"type": "overloaded_error", "message": "The server is overloaded"}}),
)
"""What the fault-injecting server answers, in order; it repeats the last fault afterwards."""


class FaultyServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1 that only ever fails.

    Args:
        faults: ``(status, headers, json body)`` answered to successive requests.
    """

    def __init__(self, faults: Sequence[tuple[int, dict[str, str], dict[str, Any]]] = FAULTS):
        self.faults = list(faults)
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                n = min(len(owner.requests), len(owner.faults)) - 1
                status, headers, body = owner.faults[n]
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the transcript clean: the chain reports every attempt itself."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The API root to give an OpenAI-compatible client."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FaultyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class AskScore(Score):
    """A question and its answer."""

    question: str = QUESTION
    answer: str = ""


def describe(attempt: Attempt, origin: float) -> str:
    """One line per attempt: when it started (seconds after ``origin``), model, try, outcome."""
    what = "ok" if attempt.error is None else f"{type(attempt.error).__name__}: {attempt.error}"
    return (
        f"  t=+{attempt.started - origin:.2f}s {attempt.model} try {attempt.number} "
        f"({attempt.duration:.2f}s) -> {what}"
    )


def remote_model(base_url: str | None) -> Model:
    """A real OpenAI endpoint when ``OPENAI_API_KEY`` is set, else the fault server's."""
    if os.environ.get("OPENAI_API_KEY"):
        name = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
        return OpenAIModel(name, base_url=os.environ.get("OPENAI_BASE_URL") or None)
    assert base_url is not None, "no OPENAI_API_KEY: pass the fault server's base_url"
    return OpenAICompatModel("gpt-4o-mini", base_url=base_url, api_key="sk-local-fault-server")


def build(
    remote: Model,
    model: Model | None = None,
    *,
    attempts: list[Attempt] | None = None,
    max_tokens: int = 60,
) -> Cadence[AskScore]:
    """A one-step cadence whose model is the chain ``remote -> model``.

    Args:
        remote: The preferred (remote) model.
        model: The local fallback (default: the recipes' model).
        attempts: A list that receives every attempt (they are also printed).
        max_tokens: Cap on the answer.
    """

    seen: list[Attempt] = []

    def on_attempt(attempt: Attempt) -> None:
        seen.append(attempt)
        if attempts is not None:
            attempts.append(attempt)
        say(describe(attempt, seen[0].started))

    chain = FallbackChain([remote, model or load_model()], retry=2, on_attempt=on_attempt)
    ask = llm_note(chain, prompt="{question}", into="answer", options={"max_tokens": max_tokens})
    return Cadence("ask_with_fallback", AskScore()).then("ask", ask)


async def main(question: str = QUESTION, *, model: Model | None = None) -> AskScore:
    """Ask through the chain and print every attempt and the answer."""
    started = time.perf_counter()
    with FaultyServer() as server:
        remote = remote_model(server.base_url)
        say(f"chain: {remote.name} ({getattr(remote, 'url', 'remote')}) -> local fallback")
        result = await build(remote, model).run(AskScore(question=question))
    say(f"A: {result.answer.strip()}")
    say(f"  ({time.perf_counter() - started:.1f}s)")
    return result


if __name__ == "__main__":
    run(main(" ".join(command_words(__doc__)) or QUESTION))
