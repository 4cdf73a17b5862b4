"""cadence_llm: one model protocol over OpenAI, Anthropic, OpenAI-compatible servers and local
GGUF models, with errors that mean the same thing everywhere and fallback chains that fail over
on the right errors.

Install with ``pip install 'cadence-orchestration[llm]'`` plus the provider extras you use
(``openai``, ``anthropic``, ``local``). ``import cadence_llm`` imports no provider SDK.
"""

from __future__ import annotations

from .chain import ChainResult, FallbackChain, default_fallback
from .errors import (
    AllModelsFailedError,
    AnswerRejectedError,
    Attempt,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextWindowExceededError,
    MalformedResponseError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelTimeoutError,
    OverloadedError,
    RateLimitedError,
    ServerError,
    TruncatedStreamError,
)
from .messages import (
    AssistantMessage,
    Message,
    ModelRequest,
    ModelResponse,
    ResponseFormat,
    StreamDone,
    StreamEvent,
    StreamReset,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    ToolMessage,
    Usage,
    UserMessage,
)
from .models import (
    AnthropicModel,
    FailMidStream,
    FunctionModel,
    LocalModel,
    Model,
    OpenAICompatModel,
    OpenAIModel,
    ScriptedModel,
)
from .usage import Price, PriceTable, UsageLedger, track_usage

__all__ = [
    "AllModelsFailedError",
    "AnswerRejectedError",
    "AnthropicModel",
    "AssistantMessage",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ChainResult",
    "ContentFilteredError",
    "ContextWindowExceededError",
    "FailMidStream",
    "FallbackChain",
    "FunctionModel",
    "LocalModel",
    "MalformedResponseError",
    "Message",
    "Model",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelRequest",
    "ModelResponse",
    "ModelTimeoutError",
    "OpenAICompatModel",
    "OpenAIModel",
    "OverloadedError",
    "Price",
    "PriceTable",
    "RateLimitedError",
    "ResponseFormat",
    "ScriptedModel",
    "ServerError",
    "StreamDone",
    "StreamEvent",
    "StreamReset",
    "SystemMessage",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "ToolMessage",
    "TruncatedStreamError",
    "Usage",
    "UsageLedger",
    "UserMessage",
    "default_fallback",
    "track_usage",
]
