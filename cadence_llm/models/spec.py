"""One way to name a model in text: command-line flags, environment variables, config files.

``model_from_spec`` reads::

    qwen2.5-coder-0.5b            a known local weights name, or a path to a .gguf file
    local:qwen2.5-coder-0.5b      the same, said explicitly
    openai:gpt-4o-mini            OpenAIModel (OPENAI_API_KEY, OPENAI_BASE_URL from the environment)
    anthropic:claude-sonnet-4-5   AnthropicModel (ANTHROPIC_API_KEY from the environment)
    myapp.models:fast             a Model, or a function returning one, importable as module:attr

The ``cadence generate --model`` flag and the recipes' ``CADENCE_MODEL`` both take it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from cadence_llm.models.base import Model

__all__ = ["PROVIDER_PREFIXES", "model_from_spec"]

#: Prefixes naming a provider; any other ``x:y`` is ``module:attr``.
PROVIDER_PREFIXES: tuple[str, ...] = ("local", "openai", "anthropic")


def model_from_spec(spec: str, **local_options: Any) -> Model:
    """The model ``spec`` names (see the module docstring).

    Args:
        spec: The model's name in one of the forms above.
        **local_options: Passed to ``LocalModel`` when the spec names local weights (for
            example ``n_ctx=4096``); ignored for other models.

    Raises:
        ValueError: The spec is empty, names an unknown provider, is a hosted model's name
            without its provider (``gpt-4o-mini``: write ``openai:gpt-4o-mini``), or its
            ``module:attr`` does not import or is not a ``Model``.
    """
    text = spec.strip()
    if not text:
        raise ValueError("a model spec is empty; e.g. qwen2.5-coder-0.5b or openai:gpt-4o-mini")
    prefix, colon, rest = text.partition(":")
    if colon and prefix == "local":  # before the .gguf test: "local:path/model.gguf"
        return _local(rest, local_options)
    if not colon or text.endswith(".gguf") or Path(text).exists():
        _hint_provider(text)
        return _local(text, local_options)
    if prefix == "openai":
        from cadence_llm.models.openai import OpenAIModel

        return OpenAIModel(_named(rest, spec))
    if prefix == "anthropic":
        from cadence_llm.models.anthropic import AnthropicModel

        return AnthropicModel(_named(rest, spec))
    return _imported(prefix, rest, spec)


def _hint_provider(text: str) -> None:
    """Refuse a hosted model's bare name (``gpt-4o-mini``, ``claude-…``, ``openai/gpt-4o``) with
    the spec that names it, instead of looking for local weights by that name."""
    from cadence_llm.models.weights import KNOWN_WEIGHTS

    if text in KNOWN_WEIGHTS or text.endswith(".gguf") or Path(text).exists():
        return
    provider, slash, name = text.partition("/")
    if slash and provider in ("openai", "anthropic"):
        raise ValueError(f"model spec {text!r}: write {provider}:{name}")
    lowered = text.lower()
    for hosted, starts in (("openai", ("gpt-", "chatgpt-")), ("anthropic", ("claude-",))):
        if lowered.startswith(starts):
            raise ValueError(
                f"model spec {text!r} names no local weights; for {hosted.capitalize()}'s "
                f"model write {hosted}:{text}"
            )


def _named(name: str, spec: str) -> str:
    if not name:
        raise ValueError(
            f"model spec {spec!r} names a provider but no model, e.g. local:smollm2 or openai:gpt-4o"
        )
    return name


def _local(name: str, options: dict[str, Any]) -> Model:
    from cadence_llm.models.local import LocalModel

    return LocalModel(_named(name, f"local:{name}"), **options)


def _imported(module_name: str, attr: str, spec: str) -> Model:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"model spec {spec!r}: cannot import {module_name!r} ({exc}); use "
            f"{', '.join(p + ':NAME' for p in PROVIDER_PREFIXES)} or module:attr"
        ) from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"model spec {spec!r}: {module_name!r} has no {attr!r}") from None
    if not isinstance(obj, Model) and callable(obj):
        obj = obj()
    if not isinstance(obj, Model):
        raise ValueError(
            f"model spec {spec!r} is not a cadence_llm Model (needs name, complete, stream)"
        )
    return obj
