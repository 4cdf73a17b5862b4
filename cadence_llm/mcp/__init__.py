"""MCP (Model Context Protocol): use a server's tools as cadence tools, and serve cadence tools.

- :class:`MCPClient` connects to an MCP server over stdio or Streamable HTTP and turns its
  tools into :class:`~cadence_llm.Tool` objects an agent or a ``ToolBox`` runs like any other,
  with one session per server, a per-call timeout, a circuit breaker and opt-in retries.
- :class:`ToolServer` serves cadence tools (and cadences, through
  :func:`~cadence_llm.cadence_tool`) to any MCP client.

Needs the official SDK: ``pip install 'cadence-orchestration[mcp]'``. See ``docs/mcp.md``.
"""

from __future__ import annotations

from .._optional import require

require("mcp", "mcp")

from ._client import MCPClient, MCPResult  # noqa: E402
from ._errors import (  # noqa: E402
    MCPConnectionError,
    MCPError,
    MCPRequestError,
    MCPServerError,
    MCPTimeoutError,
    MCPToolError,
)
from ._server import ToolServer  # noqa: E402

__all__ = [
    "MCPClient",
    "MCPConnectionError",
    "MCPError",
    "MCPRequestError",
    "MCPResult",
    "MCPServerError",
    "MCPTimeoutError",
    "MCPToolError",
    "ToolServer",
]
