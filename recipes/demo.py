"""``make demo``: a short tour of cadence doing its real job on an embedded local model.

Three stops, run as one cadence so that one timeline shows them all:

1. ``rag`` -- two retrievers over cadence's own docs in a ``.sync`` (SQLite FTS5 and embedding
   similarity), fused, answered through a fallback chain, with the files cited;
2. ``tool_agent`` -- an agent over a SQLite shop whose first turn runs two tool calls at once,
   ending in a validated pydantic answer;
3. ``generated`` -- the model writes a cadence from a task and a registry of notes; it is
   validated, repaired if needed, drawn and run.

The tour ends by writing the run's timeline (self-contained HTML: every step and tool call as a
bar on a time axis, parallel work in parallel lanes) and printing its path.

No API key and no network: the default model is Qwen2.5-Coder-0.5B (GGUF, in-process through
llama.cpp); ``CADENCE_MODEL`` selects another (``smollm2``, a GGUF path, ``openai:<model>``).
Run: ``python -m recipes.demo`` (``make demo`` installs the runtime and weights first).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cadence import Cadence, Score
from cadence.diagram import to_text
from cadence.timeline import RunRecorder, write_timeline
from cadence_llm import LocalModel, Model
from recipes import generated, rag, tool_agent
from recipes._models import load_model, no_arguments, run, say


@dataclass
class TourScore(Score):
    """What each stop of the tour produced."""

    rag_answer: str = ""
    shop_answer: str = ""
    shop_report: str = ""
    generated_source: str = ""
    generated_done: list[str] = field(default_factory=list)


def build(model: Model, *, started: float | None = None, **options: object) -> Cadence[TourScore]:
    """The tour: the three recipes as ``.child`` steps of one cadence.

    Args:
        model: The model every stop uses.
        started: ``time.perf_counter()`` at the start, for the elapsed times printed.
        **options: Passed to ``rag.build`` (e.g. ``embedder=``, ``fallback=``).
    """
    t0 = started if started is not None else time.perf_counter()

    def stamp() -> str:
        return f"[{time.perf_counter() - t0:5.1f}s]"

    def after_rag(tour: TourScore, out: rag.RagScore) -> None:
        tour.rag_answer = out.answer
        say(f"{stamp()} 1. rag  Q: {out.question}")
        for label in out.used:
            say(f"          read {label}")
        say("          A: " + out.answer.replace("\n", "\n             "))
        say(f"{stamp()} 2. tool_agent  Q: {tool_agent.QUESTION}")

    def after_agent(tour: TourScore, out: tool_agent.ShopScore) -> None:
        tour.shop_answer = out.answer
        tour.shop_report = out.report.model_dump_json() if out.report is not None else ""
        say(f"          A: {out.answer}")
        say(f"          structured: {tour.shop_report}")
        say(f"{stamp()} 3. generated  task: {generated.TASK}")

    def after_generated(tour: TourScore, out: generated.GeneratedScore) -> None:
        tour.generated_source = out.source
        say("          the model wrote:")
        for line in out.source.splitlines():
            say(f"            {line}")
        for line in out.rounds:
            say(f"          {line}")
        if out.built is not None:
            say("          " + to_text(out.built).rstrip().replace("\n", "\n          "))
        if out.result is not None:
            tour.generated_done = list(out.result.done)
            say(f"          ran: {out.result.done.get_all()}")
            say(f"          reply: {out.result.reply}")

    return (
        Cadence("tour", TourScore())
        .child("rag", rag.build(model, **options), after_rag)  # type: ignore[arg-type]
        .child("tool_agent", tool_agent.build(model), after_agent)
        .child("generated", generated.build(model), after_generated)
    )


async def tour(
    model: Model | None = None, *, out: Path | None = None, **options: object
) -> tuple[TourScore, Path]:
    """Run the tour, write the timeline, and return the final score and the timeline's path."""
    started = time.perf_counter()
    default = Path(os.environ.get("CADENCE_DEMO_DIR") or tempfile.gettempdir()) / "cadence-demo"
    target = out or default / "timeline.html"
    # Before the tour, not after it: a directory that cannot be made would otherwise end a
    # run of minutes with a traceback and no timeline.
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SystemExit(
            f"cannot write the demo's timeline in {target.parent} ({exc.strerror or exc}); "
            "set CADENCE_DEMO_DIR to a directory you can write"
        ) from exc
    model = model or load_model()
    local = " (local, offline)" if isinstance(model, LocalModel) else ""
    say(f"cadence demo -- model: {model.name}{local}")
    recorder = RunRecorder()
    cadence = build(model, started=started, **options).with_hooks(recorder)
    say(f"[{time.perf_counter() - started:5.1f}s] 1. rag (FTS5 + embeddings in a .sync)")
    score = await cadence.run()
    path = write_timeline(recorder, target, title="cadence demo")
    say(f"[{time.perf_counter() - started:5.1f}s] done. Run timeline: {path}")
    return score, path


def main() -> None:
    """Entry point of ``make demo``."""
    no_arguments(__doc__, "demo")
    run(tour())


if __name__ == "__main__":
    main()
