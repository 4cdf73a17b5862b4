"""A model for recipe processes started by the tests (``CADENCE_MODEL=tests.recipes._cli_model:model``)."""

from __future__ import annotations

from cadence_llm import FunctionModel, ModelRequest, UserMessage


def _echo(request: ModelRequest) -> str:
    asked = [m.content for m in request.messages if isinstance(m, UserMessage)]
    return f"you asked: {asked[-1] if asked else ''}"


model = FunctionModel(_echo, name="echo")
