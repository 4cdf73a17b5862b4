"""model_from_spec: the one text syntax for naming a model (CLI flags, CADENCE_MODEL)."""

from __future__ import annotations

import sys
import types

import pytest

from cadence_llm import (
    AnthropicModel,
    FunctionModel,
    LocalModel,
    OpenAIModel,
    model_from_spec,
)


@pytest.fixture
def models_module(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("spec_models")
    module.fast = FunctionModel(lambda request: "ok", name="fast")  # type: ignore[attr-defined]
    module.make = lambda: FunctionModel(lambda request: "ok", name="made")  # type: ignore[attr-defined]
    module.not_a_model = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "spec_models", module)
    return "spec_models"


def test_bare_and_local_names_are_local_weights() -> None:
    """A weights name with or without local: builds a LocalModel, options passed on."""
    fake_llama = object()
    for spec in ("smollm2", "local:smollm2"):
        model = model_from_spec(spec, llama=fake_llama, n_ctx=4096)
        assert isinstance(model, LocalModel)
        assert (model.model, model.n_ctx) == ("smollm2", 4096)


def test_provider_prefixes_build_the_provider_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    """openai:MODEL and anthropic:MODEL build the SDK adapters, keys from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    openai = model_from_spec("openai:gpt-4o-mini")
    anthropic = model_from_spec("anthropic:claude-sonnet-4-5")
    assert isinstance(openai, OpenAIModel) and openai.model == "gpt-4o-mini"
    assert isinstance(anthropic, AnthropicModel) and anthropic.model == "claude-sonnet-4-5"


def test_module_attr_names_a_model_or_a_factory(models_module: str) -> None:
    """module:attr gives that Model, or calls a function returning one."""
    assert model_from_spec(f"{models_module}:fast").model == "fast"
    assert model_from_spec(f"{models_module}:make").model == "made"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("  ", "empty"),
        ("openai:", "names a provider but no model"),
        ("no_such_module_xyz:thing", "cannot import 'no_such_module_xyz'"),
        ("spec_models:missing", "has no 'missing'"),
        ("spec_models:not_a_model", "is not a cadence_llm Model"),
    ],
)
def test_bad_specs_raise_value_error_naming_the_fix(
    models_module: str, spec: str, message: str
) -> None:
    """Each wrong spec raises ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        model_from_spec(spec)


def test_local_prefix_with_a_gguf_path_passes_the_path_without_the_prefix(tmp_path) -> None:
    """local:path/model.gguf (the documented form) opens that file, not "local:path/...".

    The .gguf test used to run first and handed the whole spec, prefix included, to LocalModel.
    """
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF")
    model = model_from_spec(f"local:{weights}")
    assert isinstance(model, LocalModel)
    assert (model.path, model.model) == (weights, "tiny")


@pytest.mark.parametrize(
    ("spec", "fix"),
    [
        ("gpt-4o-mini", "openai:gpt-4o-mini"),
        ("claude-sonnet-4-5", "anthropic:claude-sonnet-4-5"),
        ("openai/gpt-4o", "openai:gpt-4o"),
        ("anthropic/claude-haiku-4-5", "anthropic:claude-haiku-4-5"),
    ],
)
def test_a_hosted_name_without_its_provider_names_the_spec_to_write(spec: str, fix: str) -> None:
    """A bare hosted name gets the spec that names it, not "no model file at gpt-4o-mini"."""
    with pytest.raises(ValueError, match=f"write {fix}"):
        model_from_spec(spec)
