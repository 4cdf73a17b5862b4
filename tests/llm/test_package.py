"""Package shape: sorted exports, no provider SDK on import, clear errors for missing extras."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cadence_llm
import cadence_llm.models


@pytest.mark.parametrize("module", [cadence_llm, cadence_llm.models])
def test_all_is_sorted_and_complete(module):
    """__all__ is sorted and every name in it exists."""
    assert list(module.__all__) == sorted(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), name


def test_import_loads_no_provider_sdk():
    """import cadence_llm imports no provider SDK, no llama_cpp, no httpx and no OpenTelemetry."""
    code = (
        "import sys, cadence_llm, cadence_llm.models\n"
        "bad = [m for m in ('openai', 'anthropic', 'llama_cpp', 'httpx', 'httpx2', 'opentelemetry') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_sdk_names_the_extra(monkeypatch):
    """Building an adapter without its SDK raises ImportError naming the pip extra."""
    from cadence_llm import AnthropicModel, OpenAIModel

    monkeypatch.setitem(sys.modules, "openai", None)
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ImportError, match=r"cadence-orchestration\[openai\]"):
        OpenAIModel("gpt-4o-mini")
    with pytest.raises(ImportError, match=r"cadence-orchestration\[anthropic\]"):
        AnthropicModel("claude-sonnet-5-5")


def test_empty_model_name_is_refused():
    """An adapter without a model name fails at construction with a hint."""
    from cadence_llm import OpenAICompatModel

    with pytest.raises(ValueError, match="model name"):
        OpenAICompatModel("", base_url="http://127.0.0.1:1/v1")


def test_httpx_alias_keeps_fastapi_testclient_working():
    """Under the suite's httpx→httpx2 alias, FastAPI's TestClient still serves requests."""
    import httpx
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "ok"}

    with TestClient(app) as client:
        assert client.get("/ping").json() == {"pong": "ok"}
    assert httpx.__name__ == "httpx2"  # the alias is active: respx sees the SDKs' requests
