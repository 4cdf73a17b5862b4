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

import functools
import os
import sys

from cadence_llm import Model, model_from_spec

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
SETUP_HINT = "run `scripts/setup_local_models.sh` (or `make demo`, which runs it) to install them"


def model_spec() -> str:
    """The model the recipes use: ``$CADENCE_MODEL`` or :data:`DEFAULT_MODEL`."""
    return os.environ.get("CADENCE_MODEL", "").strip() or DEFAULT_MODEL


@functools.cache
def load_model(spec: str | None = None) -> Model:
    """The model named by ``spec`` (default :func:`model_spec`), built once per process.

    Raises:
        SystemExit: the local runtime or weights are missing; the message says how to install.
    """
    spec = spec or model_spec()
    if spec.startswith("openai:"):
        name = spec.removeprefix("openai:")
        if not os.environ.get("OPENAI_API_KEY"):
            raise SystemExit(f"CADENCE_MODEL=openai:{name} needs OPENAI_API_KEY in the environment")
    try:
        # 4096 tokens: the code-generation prompt (grammar, examples, registry) is ~2,500.
        return model_from_spec(spec, n_ctx=4096, n_threads=os.cpu_count() or 2, seed=0)
    except ImportError as exc:
        raise SystemExit(f"the local model runtime is not installed ({exc}); {SETUP_HINT}") from exc
    except ValueError as exc:  # a spec model_from_spec cannot read: say which, not a traceback
        raise SystemExit(
            f"CADENCE_MODEL={spec!r} is not a model the recipes can use: {exc}"
        ) from exc
    except Exception as exc:  # WeightsError: missing or corrupt weights
        if type(exc).__name__ == "WeightsError":
            raise SystemExit(f"{exc}\nThe recipes need local model weights: {SETUP_HINT}") from exc
        raise


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
