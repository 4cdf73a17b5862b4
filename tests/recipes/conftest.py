"""Fixtures for the recipe tests: a fake model that answers every recipe's requests.

The fake routes on what the request asks for (a JSON schema's name, a grammar, the prompt's
words) the way a real model would answer it, so the unit tests run each recipe end to end in
milliseconds. The real-model tests live in ``test_local_models.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cadence_llm import FunctionModel, ModelRequest, UserMessage

COMPOSITION = """```python
(
    Cadence("support", score)
    .then("load", load_order)
    .sync("lookup", [track_shipment, fetch_return_policy])
    .then("reply", draft_reply)
)
```"""

TOOL_CALLS = {
    "tool_calls": [
        {"name": "check_stock", "arguments": {"product": "Trail Runner"}},
        {"name": "order_status", "arguments": {"order_id": "A-1002"}},
    ],
    "answer": "",
}


def _last_user(request: ModelRequest) -> str:
    users = [m.content for m in request.messages if isinstance(m, UserMessage)]
    return users[-1] if users else ""


def answer(request: ModelRequest) -> str:
    """What a well-behaved model answers to each kind of recipe request."""
    fmt = request.response_format
    name = fmt.name if fmt is not None else ""
    last = _last_user(request)
    if name == "turn":
        if last.startswith("Tool results"):
            return json.dumps({"tool_calls": [], "answer": "4 in stock; A-1002 has shipped."})
        return json.dumps(TOOL_CALLS)
    if name == "ShopAnswer":
        return json.dumps({"answer": "In stock.", "in_stock": True, "order_status": "shipped"})
    if name == "Classification":
        text = last.split("Text:", 1)[-1].lower()
        label = (
            "billing"
            if "charged" in text or "refund" in text
            else "sales"
            if "discount" in text
            else "technical"
        )
        return json.dumps({"label": label})
    if "Registry:" in last or "grammar" in request.extra:
        return COMPOSITION
    return "Run it again with the same run id [1]."


@pytest.fixture
def fake_model() -> FunctionModel:
    """A model answering every recipe's requests sensibly."""
    return FunctionModel(answer, name="fake")


@pytest.fixture(autouse=True)
def _no_real_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Recipes must use the local fault server, never a real provider, in tests."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    yield
