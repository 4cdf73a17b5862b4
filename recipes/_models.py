"""Which model the recipes use, loaded once per process.

Every recipe runs offline on an embedded GGUF model by default, so ``make demo`` needs no API key
and no network. ``CADENCE_MODEL`` picks another model:

- a known weights name: ``qwen2.5-coder-0.5b`` (the default: follows instructions and JSON
  schemas well enough at ~60 tokens/s on two cores) or ``smollm2`` (135M parameters, ~150
  tokens/s, weak: good for smoke tests) or ``qwen2.5-coder-1.5b`` (optional "strong local" tier,
  about 3x slower; install it with ``make strong-model``);
- a path to any ``.gguf`` file;
- ``openai:<model>`` for an OpenAI(-compatible) endpoint (needs ``OPENAI_API_KEY``, and
  ``OPENAI_BASE_URL`` for a server other than OpenAI's);
- anything else ``cadence_llm.model_from_spec`` reads (``anthropic:<model>``, ``module:attr``).

Loading a 0.5B model takes a second or two and ~500 MB, so recipes share one instance: the tour
in ``recipes.demo`` loads the model once for all its stops.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from types import FrameType
from typing import Any

from cadence_llm import Model, ModelError, model_from_spec

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
SETUP_HINT = "run `scripts/setup_local_models.sh` (or `make demo`, which runs it) to install them"


def model_spec() -> str:
    """The model the recipes use: ``$CADENCE_MODEL`` or :data:`DEFAULT_MODEL`."""
    return os.environ.get("CADENCE_MODEL", "").strip() or DEFAULT_MODEL


@functools.cache
def load_model(spec: str | None = None) -> Model:
    """The model named by ``spec`` (default :func:`model_spec`), built once per process.

    Raises:
        SystemExit: the local runtime or weights are missing (the message says how to
            install them), the spec cannot be read, or a hosted model has no key or SDK.
    """
    spec = spec or model_spec()
    prefix, colon, _ = spec.partition(":")
    provider = prefix.strip() if colon else ""
    if provider == "openai" and not os.environ.get("OPENAI_API_KEY", "").strip():
        raise SystemExit(f"CADENCE_MODEL={spec} needs OPENAI_API_KEY in the environment")
    try:
        # 4096 tokens: the code-generation prompt (grammar, examples, registry) is ~2,500.
        model = model_from_spec(spec, n_ctx=4096, n_threads=os.cpu_count() or 2, seed=0)
    except ImportError as exc:
        if provider in ("openai", "anthropic"):
            raise SystemExit(f"CADENCE_MODEL={spec} needs the {provider} SDK: {exc}") from exc
        raise SystemExit(f"the local model runtime is not installed ({exc}); {SETUP_HINT}") from exc
    except ValueError as exc:  # a spec model_from_spec cannot read: say which, not a traceback
        raise SystemExit(
            f"CADENCE_MODEL={spec!r} is not a model the recipes can use: {exc}"
        ) from exc
    except Exception as exc:  # WeightsError: missing or corrupt weights
        if type(exc).__name__ == "WeightsError":
            raise SystemExit(f"{exc}\nThe recipes need local model weights: {SETUP_HINT}") from exc
        raise
    # The Anthropic SDK only says it has no credentials when the first request goes out, as a
    # traceback from inside the run: say it now, in one line.
    client = getattr(model, "client", None)
    credentials = ("api_key", "auth_token", "credentials")
    if provider == "anthropic" and not any(getattr(client, c, None) for c in credentials):
        raise SystemExit(
            f"CADENCE_MODEL={spec} needs ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) "
            "in the environment"
        )
    return model


def say(*parts: object) -> None:
    """Print and flush at once, so a transcript shows progress while the model works."""
    print(*parts, flush=True)
    sys.stdout.flush()


def command_words(doc: str | None) -> list[str]:
    """The words after ``python -m recipes.X``; ``-h``/``--help`` prints the recipe's docstring
    and exits, instead of being taken for a question to the model."""
    words = sys.argv[1:]
    if words[:1] in (["-h"], ["--help"]):
        print((doc or "").strip())
        raise SystemExit(0)
    return words


def no_arguments(doc: str | None, recipe: str) -> None:
    """For recipes that take no words: ``--help`` prints the docstring; anything else is
    refused, instead of being ignored while the recipe runs (or a server starts)."""
    words = command_words(doc)
    if words:
        raise SystemExit(
            f"python -m recipes.{recipe} takes no arguments, got {' '.join(words)!r} "
            f"(see python -m recipes.{recipe} --help)"
        )


def port_from_env(default: int = 8000) -> int:
    """``$PORT`` as a TCP port, or a one-line error naming the bad value (not a traceback)."""
    text = os.environ.get("PORT", "").strip() or str(default)
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise SystemExit(f"PORT must be a TCP port number (1-65535), got {text!r}")
    return port


STOPPING = (
    "stopping: waiting for the model to finish the text it is reading (on a CPU that can take "
    "a minute); press Ctrl-C again to quit at once"
)


def run(main: Coroutine[Any, Any, object]) -> None:
    """Run a recipe's ``main`` as a command: ``asyncio.run`` with a command's manners.

    - A model that fails (a wrong key, a server that is down, every model of a chain failing)
      ends the command with its report, not a traceback from inside the run.
    - Ctrl-C cancels the run (exit status 130, no traceback). A local model cannot stop in the
      middle of reading a prompt and the process waits for its thread: when that wait is not
      short the command says so, and a second Ctrl-C quits at once.
    """
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(main)
        interrupts = 0

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1 or task.done():
                os._exit(130)  # the model's thread cannot be stopped; nothing left to save
            loop.call_soon_threadsafe(task.cancel)

        # Only when Ctrl-C is not ignored (a recipe started in the background keeps ignoring it).
        ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        previous = signal.signal(signal.SIGINT, on_sigint) if ours else None
        try:
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                if not interrupts:
                    raise
            except Exception as exc:
                if _model_error(exc) is None:
                    raise
                raise SystemExit(str(exc)) from exc
            finally:
                if interrupts:
                    notice = threading.Timer(0.5, _say_stopping)
                    notice.start()
                    runner.close()  # waits for the model's thread; a second Ctrl-C quits
                    notice.cancel()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
    if interrupts:
        raise SystemExit(130)


def _say_stopping() -> None:
    print(f"\n{STOPPING}", file=sys.stderr, flush=True)


def _model_error(exc: BaseException) -> ModelError | None:
    """The model error behind ``exc`` (a note's error wraps the model's), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ModelError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
