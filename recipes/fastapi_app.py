"""An AI endpoint: ``POST /ask`` answers from the docs and streams tokens and run events (SSE).

What it shows:

- ``CadenceRouter`` + ``@router.cadence("/ask", cadence, stream="auto")``: the decorated
  function turns the validated JSON body into the run's score; every request runs the one
  cadence definition on its own score. With ``Accept: text/event-stream`` the response is
  Server-Sent Events, otherwise plain JSON.
- ``publish_event("token", ...)``: the ``answer`` note streams the model's answer and publishes
  each piece, so the client sees tokens as they are generated, between the run's own
  ``note_started`` / ``note_completed`` events, and finally a ``result`` event.
- The OpenAPI schema at ``/openapi.json`` (and ``/docs``) documents the endpoint; ``/`` is a
  self-contained page (no CDN, works offline) with a question box that streams the answer.

Run: ``make serve`` (or ``python -m recipes.fastapi_app``), then::

    curl -N -H 'accept: text/event-stream' -H 'content-type: application/json' \\
         -d '{"question": "What does .sync do?"}' http://127.0.0.1:8000/ask
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from cadence import Cadence, Score
from cadence.integrations.fastapi import CadenceRouter, publish_event
from cadence_llm import Model, ModelRequest, StreamDone, StreamReset, TextDelta
from recipes._models import load_model, no_arguments, port_from_env, run
from recipes._retrieval import KeywordIndex, load_corpus

SHUTDOWN_GRACE = 3
"""Seconds open requests get to finish after Ctrl-C (or SIGTERM) before they are cancelled."""

SYSTEM = "Answer from the sources in at most three sentences. Cite sources like [1]."


class Question(BaseModel):
    """The request body."""

    question: str = Field(min_length=3, max_length=500, examples=["What does .sync do?"])


class Answer(BaseModel):
    """The response body (also the ``result`` event of a stream)."""

    question: str
    answer: str
    sources: list[str]


@dataclass
class AskScore(Score):
    """One request's question, the sections it read, and the answer."""

    question: str = ""
    context: str = ""
    sources: list[str] = field(default_factory=list)
    answer: str = ""


def build(model: Model | None = None, *, max_tokens: int = 120) -> Cadence[AskScore]:
    """The endpoint's cadence: FTS5 retrieval over the docs, then a streamed answer.

    Args:
        model: The answering model (default: the recipes' model).
        max_tokens: Cap on the answer's length.
    """
    chunks = load_corpus()
    index = KeywordIndex(chunks)
    answering = model or load_model()

    def retrieve(score: AskScore) -> None:
        best = [chunks[i] for i in index.search(score.question, k=2)]
        score.sources = list(dict.fromkeys(c.path for c in best))
        score.context = "\n\n".join(
            f"[{n}] {c.label}\n{c.text[:600]}" for n, c in enumerate(best, 1)
        )

    async def answer(score: AskScore) -> None:
        request = ModelRequest.of(
            f"Sources:\n{score.context or '(none found)'}\n\nQuestion: {score.question}",
            system=SYSTEM,
            max_tokens=max_tokens,
            temperature=0.0,
        )
        pieces: list[str] = []
        async for event in answering.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                publish_event("token", {"text": event.text})
            elif isinstance(event, StreamReset):  # a fallback chain switched models
                pieces.clear()
                publish_event("reset", {"reason": event.reason})
            elif isinstance(event, StreamDone):
                score.answer = event.response.text
        score.answer = score.answer or "".join(pieces)

    return Cadence("ask", AskScore()).then("retrieve", retrieve).then("answer", answer)


PAGE = """<!doctype html><meta charset="utf-8"><title>cadence: ask the docs</title>
<style>body{font:16px system-ui;max-width:46rem;margin:2rem auto}#out{white-space:pre-wrap;
border:1px solid #ccc;padding:1rem;min-height:4rem}#log{color:#666;font-size:13px}</style>
<h1>Ask the cadence docs</h1>
<form id="f"><input id="q" size="60" value="What does .sync do?"> <button>Ask</button></form>
<p id="out"></p><pre id="log"></pre>
<p><a href="/docs">OpenAPI docs</a> · <a href="/openapi.json">openapi.json</a></p>
<script>
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const out = document.getElementById("out"), log = document.getElementById("log");
  out.textContent = ""; log.textContent = "";
  const resp = await fetch("/ask", {method: "POST", headers: {"content-type": "application/json",
    accept: "text/event-stream"}, body: JSON.stringify({question: document.getElementById("q").value})});
  const reader = resp.body.getReader(), dec = new TextDecoder(); let buf = "";
  for (;;) {
    const {value, done} = await reader.read(); if (done) break;
    buf += dec.decode(value, {stream: true});
    let i; while ((i = buf.indexOf("\\n\\n")) >= 0) {
      const frame = buf.slice(0, i); buf = buf.slice(i + 2);
      const ev = (frame.match(/^event: (.*)$/m) || [])[1], data = (frame.match(/^data: (.*)$/m) || [])[1];
      if (ev === "token") out.textContent += JSON.parse(data).text;
      else if (ev) log.textContent += ev + " " + data + "\\n";
    }
  }
};
</script>"""


def create_app(model: Model | None = None, **options: Any) -> FastAPI:
    """The FastAPI app (``options`` go to :func:`build`)."""
    app = FastAPI(
        title="cadence ask-the-docs",
        description="A cadence-backed AI endpoint: retrieval, then a streamed model answer.",
        version="1.0",
    )
    router = CadenceRouter()

    def to_answer(score: AskScore) -> Answer:
        return Answer(question=score.question, answer=score.answer, sources=score.sources)

    @router.cadence(
        "/ask",
        build(model, **options),
        stream="auto",
        response_model=Answer,
        response_mapper=to_answer,
        summary="Answer a question about cadence from its docs",
    )
    async def ask(body: Question) -> AskScore:
        """Send ``Accept: text/event-stream`` to receive tokens and run events as they happen."""
        return AskScore(question=body.question)

    app.include_router(router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return PAGE

    return app


def main() -> None:
    """Serve on ``$HOST:$PORT`` (default 127.0.0.1:8000)."""
    import uvicorn

    no_arguments(__doc__, "fastapi_app")
    host, port = os.environ.get("HOST", "127.0.0.1"), port_from_env()
    print(
        f"serving on http://{host}:{port}/  (OpenAPI: http://{host}:{port}/openapi.json;"
        " the /docs page loads Swagger UI from a CDN, so it needs internet)",
        flush=True,
    )
    # Ctrl-C lets open answers finish for a few seconds, then cancels them: uvicorn's default
    # waits for every stream to end, which on a local model can take minutes, silently.
    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    logging.getLogger("uvicorn.error").addFilter(_not_a_cancelled_request)
    server = uvicorn.Server(config)
    run(server.serve())
    if not server.started:
        raise SystemExit(3)  # uvicorn said why (the port is taken, the host unknown...)


def _not_a_cancelled_request(record: logging.LogRecord) -> bool:
    """Leave out the traceback of each request cancelled at shutdown: that is the plan."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


if __name__ == "__main__":
    main()
