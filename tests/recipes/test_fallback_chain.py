"""recipes.fallback_chain: a real loopback server answering 429 then 529, then the local model."""

from __future__ import annotations

import httpx
import pytest

from cadence.testing import FakeClock
from cadence_llm import OverloadedError, RateLimitedError, ScriptedModel
from recipes import fallback_chain
from recipes.fallback_chain import FaultyServer


async def test_every_attempt_is_reported_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    """429 (retried after Retry-After), 529 (falls back), then the local model answers."""
    local = ScriptedModel(["Because the limit resets soon."], name="local")
    attempts: list = []  # type: ignore[type-arg]
    with FakeClock() as clock, FaultyServer() as server:
        remote = fallback_chain.remote_model(server.base_url)
        result = await fallback_chain.build(remote, local, attempts=attempts).run()
    assert [(a.model, a.number) for a in attempts] == [
        ("gpt-4o-mini", 1),
        ("gpt-4o-mini", 2),
        ("local", 1),
    ]
    assert isinstance(attempts[0].error, RateLimitedError)
    assert attempts[0].error.retry_after == 1.0
    assert isinstance(attempts[1].error, OverloadedError)
    assert attempts[2].error is None
    assert clock.sleeps == [1.0]  # the server's Retry-After, not the chain's backoff
    assert len(server.requests) == 2
    assert result.answer == "Because the limit resets soon."
    printed = capsys.readouterr().out
    assert "RateLimitedError" in printed and "OverloadedError" in printed and "-> ok" in printed


async def test_fault_server_speaks_http_on_loopback() -> None:
    """The server answers a plain HTTP client with the scripted statuses and headers."""
    with FaultyServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient() as client:
            first = await client.post(server.base_url + "/chat/completions", json={})
            second = await client.post(server.base_url + "/chat/completions", json={})
    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    assert second.status_code == 529


def test_real_endpoint_is_used_only_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OPENAI_API_KEY set the first model is OpenAIModel, else the fault server."""
    assert (
        type(fallback_chain.remote_model("http://127.0.0.1:9/v1")).__name__ == "OpenAICompatModel"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert type(fallback_chain.remote_model(None)).__name__ == "OpenAIModel"
