"""Model adapters, one module per API shape, and fakes for tests.

Importing this package imports no provider SDK: each adapter imports its SDK when it builds a
client, and a missing SDK raises an ImportError naming the extra to install.
"""

from __future__ import annotations

from .anthropic import AnthropicModel
from .base import Model, ModelAdapter, ResponseBuilder
from .local import LocalModel
from .openai import OpenAIModel
from .openai_compat import OpenAICompatModel
from .openai_responses import OpenAIResponsesModel
from .scripted import FailMidStream, FunctionModel, ScriptedModel
from .spec import model_from_spec

__all__ = [
    "AnthropicModel",
    "FailMidStream",
    "FunctionModel",
    "LocalModel",
    "Model",
    "ModelAdapter",
    "OpenAICompatModel",
    "OpenAIModel",
    "OpenAIResponsesModel",
    "ResponseBuilder",
    "ScriptedModel",
    "model_from_spec",
]
