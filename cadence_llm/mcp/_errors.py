"""What can go wrong calling an MCP server's tool, normalized whatever the transport::

    CadenceError
    └── MCPError                .server .tool .retryable .unhealthy
        ├── MCPConnectionError  the server could not be started or reached, or the connection
        │                       was lost mid-call (it crashed); also builtins.ConnectionError
        ├── MCPTimeoutError     no answer within the timeout; also builtins.TimeoutError
        ├── MCPServerError      the server failed the request (HTTP 5xx, JSON-RPC internal
        │                       error, a malformed result)
        ├── MCPRequestError     the server refused the request (unknown method, bad params)
        └── MCPToolError        the tool ran and reported failure (an ``isError`` result)

``unhealthy`` says whether the error shows the *server* is unwell: only those count as failures
in the server's circuit breaker. A tool reporting failure, or a refused request, shows a server
that answered. ``retryable`` says whether trying again can help; tool calls are retried only
when the client was given ``retry=`` (a call that crashed the server may have run).
"""

from __future__ import annotations

import builtins
from typing import ClassVar

from cadence.exceptions import CadenceError

__all__ = [
    "MCPConnectionError",
    "MCPError",
    "MCPRequestError",
    "MCPServerError",
    "MCPTimeoutError",
    "MCPToolError",
]


class MCPError(CadenceError):
    """A call to an MCP server failed; subclasses say how.

    Args:
        message: What happened.
        server: The server's name (as given to the client).
        tool: The tool being called, when there was one.
    """

    default_code = "MCP"
    retryable: ClassVar[bool] = False
    unhealthy: ClassVar[bool] = False

    def __init__(self, message: str, *, server: str = "", tool: str = "") -> None:
        super().__init__(message, None, {"server": server, "tool": tool})
        self.server = server
        self.tool = tool


class MCPConnectionError(MCPError, builtins.ConnectionError):
    """The server could not be started or reached, or the connection dropped mid-call."""

    default_code = "MCP_CONNECTION"
    retryable = True
    unhealthy = True


class MCPTimeoutError(MCPError, builtins.TimeoutError):
    """The server did not answer within the client's timeout."""

    default_code = "MCP_TIMEOUT"
    retryable = True
    unhealthy = True


class MCPServerError(MCPError):
    """The server failed the request: an HTTP 5xx, an internal error, a malformed result."""

    default_code = "MCP_SERVER"
    retryable = True
    unhealthy = True


class MCPRequestError(MCPError):
    """The server refused the request (unknown method, invalid parameters)."""

    default_code = "MCP_REQUEST"


class MCPToolError(MCPError):
    """The tool ran and reported failure; its message is the tool's own text."""

    default_code = "MCP_TOOL"
