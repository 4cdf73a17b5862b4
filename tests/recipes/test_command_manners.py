"""What a new user gets from the recipe commands: Ctrl-C that ends them, model failures and
missing keys in one line, settings refused before minutes of work, headers that are true."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from cadence.checkpoint import InMemoryCheckpointStore
from cadence_llm import FunctionModel, ScriptedModel
from recipes import demo
from recipes._retrieval import HashEmbedder
from recipes.approval_flow import create_app
from tests.checkpoint._servers import free_port
from tests.recipes._slow_models import READING

ROOT = Path(__file__).resolve().parents[2]
HANG = 60  # seconds: only reached when a process does not end at all
STOPPING = "press Ctrl-C again to quit at once"  # what the first Ctrl-C says while it waits


def recipe_env(**env: str) -> dict[str, str]:
    """The environment of a recipe process: no provider credentials unless given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return {**base, "PYTHONPATH": str(ROOT), **env}


def start(recipe: str, *words: str, **env: str) -> subprocess.Popen[str]:
    """``python -m recipes.<recipe>`` as from a terminal: Ctrl-C (SIGINT) not ignored."""
    return subprocess.Popen(
        [sys.executable, "-m", f"recipes.{recipe}", *words],
        cwd=ROOT,
        env=recipe_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


class Lines:
    """A process stream's lines as they arrive, read in a thread (a missing line cannot hang
    the test); the stream is closed when it ends."""

    def __init__(self, stream: IO[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self.queue.put(line)

    def rest(self) -> list[str]:
        """Every line not read yet, once the process has ended."""
        self._thread.join(HANG)
        lines = []
        while not self.queue.empty():
            lines.append(self.queue.get())
        return lines


def wait_for(lines: Lines | queue.Queue[str], text: str) -> list[str]:
    """Lines up to the first one containing ``text``."""
    source = lines.queue if isinstance(lines, Lines) else lines
    seen: list[str] = []
    while True:
        try:
            seen.append(source.get(timeout=HANG))
        except queue.Empty:
            pytest.fail(f"no line containing {text!r}; got {seen}")
        if text in seen[-1]:
            return seen


def test_ctrl_c_twice_quits_a_recipe_whose_model_is_reading() -> None:
    """Ctrl-C used to end in a traceback and then wait, silently, for the model's thread (a
    local model reading a prompt cannot stop): a second Ctrl-C did not end it either."""
    proc = start(
        "router", "My card was charged twice", CADENCE_MODEL="tests.recipes._slow_models:reading"
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        err, out = Lines(proc.stderr), Lines(proc.stdout)
        wait_for(err, READING)
        proc.send_signal(signal.SIGINT)
        wait_for(err, STOPPING)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=HANG) == 130
    finally:
        proc.kill()
        proc.wait()
    rest = err.rest() + out.rest()
    assert not any("Traceback" in line for line in rest), rest


def test_ctrl_c_ends_the_server_while_an_answer_is_streaming() -> None:
    """`make serve` used to wait after Ctrl-C for every open answer to end (minutes on a local
    model), printing nothing; open answers now get a few seconds, then the server exits."""
    port = free_port()
    proc = start("fastapi_app", CADENCE_MODEL="tests.recipes._slow_models:endless", PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        assert proc.stderr is not None and proc.stdout is not None
        err, out = Lines(proc.stderr), Lines(proc.stdout)
        wait_for(out, "serving on")
        while True:  # printed before uvicorn listens: wait until it answers
            try:
                httpx.get(f"{url}/openapi.json", timeout=HANG)
                break
            except httpx.TransportError:
                assert proc.poll() is None, err.rest()
                time.sleep(0.05)
        tokens: queue.Queue[str] = queue.Queue()

        def ask() -> None:
            try:
                with httpx.stream(
                    "POST",
                    f"{url}/ask",
                    json={"question": "How do I resume a crashed run?"},
                    headers={"accept": "text/event-stream"},
                    timeout=HANG,
                ) as resp:
                    for text in resp.iter_text():
                        tokens.put(text)
            except httpx.HTTPError:
                pass  # the server went away mid-answer: that is the test

        threading.Thread(target=ask, daemon=True).start()
        wait_for(tokens, "event: token")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=HANG) == 130
    finally:
        proc.kill()
        proc.wait()
    logged = err.rest() + out.rest()
    assert not any("Traceback" in line for line in logged), logged
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is released


def run_recipe(recipe: str, *words: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"recipes.{recipe}", *words],
        cwd=ROOT,
        env=recipe_env(**env),
        capture_output=True,
        text=True,
        timeout=HANG * 2,
    )


def test_a_failing_hosted_model_is_one_line_not_a_traceback() -> None:
    """A provider that cannot be reached (or refuses the key) used to end in a traceback from
    inside the runner; the command now ends with the model's report."""
    done = run_recipe(
        "router",
        "My card was charged twice",
        CADENCE_MODEL="openai:gpt-4o-mini",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # nobody listens there
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "note 'classify' failed: ModelConnectionError" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("recipe", ["router", "rag", "tool_agent", "generated"])
def test_anthropic_without_a_key_is_one_line(recipe: str) -> None:
    """CADENCE_MODEL=anthropic:... without a key used to fail at the first request, as a
    TypeError traceback from the SDK; it is refused before the run, like openai:... is."""
    done = run_recipe(recipe, CADENCE_MODEL="anthropic:claude-haiku-4-5")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "CADENCE_MODEL=anthropic:claude-haiku-4-5 needs ANTHROPIC_API_KEY "
        "(or ANTHROPIC_AUTH_TOKEN) in the environment"
    )


def test_an_empty_approver_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """APPROVER_TOKEN= used to match the header's empty default: anyone could approve."""
    monkeypatch.setenv("APPROVER_TOKEN", "")
    with pytest.raises(ValueError, match="APPROVER_TOKEN is set but empty"):
        create_app(InMemoryCheckpointStore())
    done = run_recipe("approval_flow", APPROVER_TOKEN="", REFUNDS_DB=os.devnull)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("APPROVER_TOKEN is set but empty")


async def test_an_unusable_demo_dir_is_refused_before_the_tour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CADENCE_DEMO_DIR that cannot hold the timeline used to fail after the whole tour."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("CADENCE_DEMO_DIR", str(not_a_dir))
    model = ScriptedModel(["unused"])
    with pytest.raises(SystemExit, match="set CADENCE_DEMO_DIR to a directory you can write"):
        await demo.tour(model, embedder=HashEmbedder())
    assert model.calls == 0


async def test_the_demo_header_calls_only_a_local_model_local(
    fake_model: FunctionModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The header said "(local, offline)" whatever the model, openai:... included."""
    await demo.tour(fake_model, out=tmp_path / "t.html", embedder=HashEmbedder())
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "cadence demo -- model: fake"
