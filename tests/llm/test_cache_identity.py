"""A response cache keys on every model setting that changes the answer, and on no other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import respx

from cadence_llm import (
    AnthropicModel,
    LocalModel,
    ModelRequest,
    OpenAICompatModel,
    OpenAIModel,
    OpenAIResponsesModel,
)
from cadence_llm.cache import CachedModel, InMemoryResponseCache, cache_key

from .conftest import FakeLlama, openai_completion

REQUEST = ModelRequest.of("Is water wet?")
YES_NO = 'root ::= "yes" | "no"'


def gguf(directory: Path) -> Path:
    """A file that passes the GGUF check (weights are only read on the first call)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(12))
    return path


def local(**settings: Any) -> LocalModel:
    return LocalModel("tiny", llama=FakeLlama(), **settings)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({}, {"grammar": YES_NO}),
        ({"grammar": 'root ::= "a"'}, {"grammar": 'root ::= "b"'}),
        ({"seed": 1}, {"seed": 2}),
        ({"chat_format": "chatml"}, {"chat_format": "llama-2"}),
    ],
    ids=["grammar", "grammar-text", "seed", "chat_format"],
)
def test_local_model_settings_are_in_the_key(a, b):
    """Two LocalModels differing only in grammar, seed or chat format have different keys."""
    assert cache_key(local(**a), REQUEST) != cache_key(local(**b), REQUEST)
    assert cache_key(local(**a), REQUEST) == cache_key(local(**a), REQUEST)


def test_a_built_llama_grammar_keys_by_its_source():
    """A LlamaGrammar object is identified by its GBNF text, not by its address."""
    from llama_cpp import LlamaGrammar

    one = local(grammar=LlamaGrammar.from_string(YES_NO, verbose=False))
    two = local(grammar=LlamaGrammar.from_string(YES_NO, verbose=False))
    other = local(grammar=LlamaGrammar.from_string('root ::= "maybe"', verbose=False))
    assert (
        cache_key(one, REQUEST)
        == cache_key(two, REQUEST)
        == cache_key(local(grammar=YES_NO), REQUEST)
    )
    assert cache_key(one, REQUEST) != cache_key(other, REQUEST)


def test_two_weights_files_with_one_name_have_different_keys(tmp_path):
    """Two GGUF files named alike in different folders are two models; one file is one model."""
    first, second = gguf(tmp_path / "a"), gguf(tmp_path / "b")
    assert LocalModel(first).name == LocalModel(second).name == "model"
    assert cache_key(LocalModel(first), REQUEST) != cache_key(LocalModel(second), REQUEST)
    assert cache_key(LocalModel(first), REQUEST) == cache_key(LocalModel(str(first)), REQUEST)
    passed_in = LocalModel("model", llama=FakeLlama(model_path=str(second)))
    assert cache_key(passed_in, REQUEST) == cache_key(LocalModel(second), REQUEST)


async def test_a_grammar_constrained_model_does_not_get_a_free_models_answer():
    """Through one shared cache, the grammar-constrained model answers for itself."""
    shared = InMemoryResponseCache()
    free = CachedModel(LocalModel("tiny", llama=FakeLlama("maybe")), shared)
    constrained = CachedModel(LocalModel("tiny", llama=FakeLlama("yes"), grammar=YES_NO), shared)
    assert (await free.complete(REQUEST)).text == "maybe"
    assert (await constrained.complete(REQUEST)).text == "yes"
    assert (await constrained.complete(REQUEST)).text == "yes" and constrained.hits == 1


def compat(**settings: Any) -> OpenAICompatModel:
    return OpenAICompatModel("llama3", **{"base_url": "http://127.0.0.1:8000/v1", **settings})


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({}, {"base_url": "http://127.0.0.1:11434/v1"}),
        ({"schema_style": "json_object"}, {"schema_style": "json_schema"}),
    ],
    ids=["base_url", "schema_style"],
)
def test_compat_model_server_and_schema_style_are_in_the_key(a, b):
    """Two OpenAICompatModels differing only in server or schema style have different keys."""
    assert cache_key(compat(**a), REQUEST) != cache_key(compat(**b), REQUEST)
    assert cache_key(compat(**a), REQUEST) == cache_key(compat(**a), REQUEST)


@respx.mock
async def test_two_servers_with_one_model_name_answer_for_themselves():
    """Through one shared cache, each server's answer is kept apart."""
    respx.post("http://127.0.0.1:8000/v1/chat/completions").respond(
        200, json=openai_completion("from vllm")
    )
    respx.post("http://127.0.0.1:11434/v1/chat/completions").respond(
        200, json=openai_completion("from ollama")
    )
    shared = InMemoryResponseCache()
    vllm = CachedModel(compat(), shared)
    ollama = CachedModel(compat(base_url="http://127.0.0.1:11434/v1"), shared)
    assert (await vllm.complete(REQUEST)).text == "from vllm"
    assert (await ollama.complete(REQUEST)).text == "from ollama"


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: OpenAIModel("gpt-4o-mini", api_key="sk-test", **kw),
        lambda **kw: OpenAIResponsesModel("gpt-5-mini", api_key="sk-test", **kw),
        lambda **kw: AnthropicModel("claude-sonnet-5-5", api_key="sk-ant-test", **kw),
    ],
    ids=["openai", "openai-responses", "anthropic"],
)
def test_sdk_client_base_url_is_in_the_key(make):
    """An SDK adapter pointed at another endpoint has another key; the same endpoint the same."""
    default, proxy = make(), make(base_url="http://127.0.0.1:4000/v1")
    assert cache_key(default, REQUEST) != cache_key(proxy, REQUEST)
    assert cache_key(proxy, REQUEST) == cache_key(
        make(base_url="http://127.0.0.1:4000/v1"), REQUEST
    )


def test_passed_clients_key_by_their_base_url():
    """A client passed in is identified by where it sends, not by which object it is."""
    from openai import AsyncOpenAI

    def model(url: str | None) -> OpenAIModel:
        return OpenAIModel("gpt-4o-mini", client=AsyncOpenAI(api_key="sk-test", base_url=url))

    assert cache_key(model(None), REQUEST) == cache_key(model(None), REQUEST)
    assert cache_key(model(None), REQUEST) != cache_key(model("http://127.0.0.1:1/v1"), REQUEST)


def test_openai_schema_style_is_in_the_key():
    """OpenAIModel sending schemas as json_object (not strict json_schema) has another key."""
    strict = OpenAIModel("gpt-4o-mini", api_key="sk-test")
    loose = OpenAIModel("gpt-4o-mini", api_key="sk-test", schema_style="json_object")
    assert cache_key(strict, REQUEST) != cache_key(loose, REQUEST)
