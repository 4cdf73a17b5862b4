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


def _forms() -> str:
    """The spec forms, as error messages list them."""
    from cadence_llm.models.weights import KNOWN_WEIGHTS

    return (
        f"a local weights name ({', '.join(sorted(KNOWN_WEIGHTS))}), a path to a .gguf file, "
        "local:NAME_OR_PATH, openai:MODEL, anthropic:MODEL or module:attr"
    )


def model_from_spec(spec: str, **local_options: Any) -> Model:
    """The model ``spec`` names (see the module docstring).

    Args:
        spec: The model's name in one of the forms above.
        **local_options: Passed to ``LocalModel`` when the spec names local weights (for
            example ``n_ctx=4096``); ignored for other models.

    Raises:
        ValueError: The spec is empty, names an unknown provider, is a hosted model's name
            without its provider (``gpt-4o-mini``: write ``openai:gpt-4o-mini``), or its
            ``module:attr`` does not import or is not a ``Model``. Each message lists the forms.
        WeightsError: The spec names local weights that are not known, not installed or not a
            GGUF file.
    """
    text = spec.strip()
    if not text:
        raise ValueError(f"a model spec is empty; write {_forms()}")
    prefix, colon, rest = (part.strip() for part in text.partition(":"))
    if colon and prefix == "local":  # before the .gguf test: "local:path/model.gguf"
        return _local(_named(rest, spec), local_options)
    if not colon or text.endswith(".gguf") or Path(text).exists():
        _hint_provider(text)
        return _local(text, local_options)
    if prefix == "openai":
        from cadence_llm.models.openai import OpenAIModel

        return OpenAIModel(_named(rest, spec))
    if prefix == "anthropic":
        from cadence_llm.models.anthropic import AnthropicModel

        return AnthropicModel(_named(rest, spec))
    if not prefix:
        raise ValueError(f"model spec {spec!r} has nothing before its ':'; write {_forms()}")
    if prefix.lower() in ("http", "https") and rest.startswith("//"):
        raise ValueError(
            f"model spec {spec!r} is a URL, not a model; for an OpenAI-compatible server write "
            "openai:MODEL and set OPENAI_BASE_URL to the URL (or build OpenAICompatModel)"
        )
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
    from cadence_llm.models.weights import KNOWN_WEIGHTS, WeightsError

    try:
        return LocalModel(name, **options)
    except WeightsError as exc:
        if name in KNOWN_WEIGHTS or any(c in name for c in "/\\") or name.endswith(".gguf"):
            raise
        # A bare name that is no known weights may be meant as another kind of spec.
        raise WeightsError(f"{exc.message}; a model spec can also be {_forms()}") from None


def _imported(module_name: str, attr: str, spec: str) -> Model:
    if module_name.startswith("."):
        raise ValueError(
            f"model spec {spec!r}: module:attr needs an absolute module name; write {_forms()}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        if module_name.lower() in PROVIDER_PREFIXES:  # "OpenAI:gpt-4o"
            hint = f"; provider names are lower-case: {module_name.lower()}:{attr}"
        raise ValueError(
            f"model spec {spec!r}: cannot import {module_name!r} ({exc}){hint}; write {_forms()}"
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
