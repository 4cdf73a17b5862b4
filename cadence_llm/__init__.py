"""cadence_llm: one model protocol over OpenAI, Anthropic, OpenAI-compatible servers and local
GGUF models, with errors that mean the same thing everywhere and fallback chains that fail over
on the right errors.

Install with ``pip install 'cadence-orchestration[llm]'`` plus the provider extras you use
(``openai``, ``anthropic``, ``local``). ``import cadence_llm`` imports no provider SDK.
"""

from __future__ import annotations

from ._cadence_tool import cadence_tool
from .agent import Agent, AgentEvent, AgentResult, TurnLimitError, agent
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
from .notes import Classifier, LLMNote, PromptTemplateError, classify, llm_note
from .structured import StructuredOutputError, generate
from .tools import Tool, ToolArgumentsError, ToolBox, ToolOutcome, UnknownToolError, tool
from .usage import Price, PriceTable, UsageLedger, track_usage

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentResult",
    "AllModelsFailedError",
    "AnswerRejectedError",
    "AnthropicModel",
    "AssistantMessage",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ChainResult",
    "Classifier",
    "ContentFilteredError",
    "ContextWindowExceededError",
    "FailMidStream",
    "FallbackChain",
    "FunctionModel",
    "LLMNote",
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
    "PromptTemplateError",
    "RateLimitedError",
    "ResponseFormat",
    "ScriptedModel",
    "ServerError",
    "StreamDone",
    "StreamEvent",
    "StreamReset",
    "StructuredOutputError",
    "SystemMessage",
    "TextDelta",
    "Tool",
    "ToolArgumentsError",
    "ToolBox",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "ToolMessage",
    "ToolOutcome",
    "TruncatedStreamError",
    "TurnLimitError",
    "UnknownToolError",
    "Usage",
    "UsageLedger",
    "UserMessage",
    "agent",
    "cadence_tool",
    "classify",
    "default_fallback",
    "generate",
    "llm_note",
    "tool",
    "track_usage",
]
