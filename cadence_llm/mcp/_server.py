"""``ToolServer``: cadence tools (and cadences, via ``cadence_tool``) served to MCP clients.

Built on the SDK's low-level ``Server``, so the schema an MCP client sees is exactly the one a
model sees from the same :class:`~cadence_llm.Tool`. A call runs through
:meth:`ToolBox.run <cadence_llm.ToolBox.run>`, as a model's tool call does: the tool's retry,
timeout and fallback apply, and a failure (bad arguments, an unknown tool, the tool raising)
becomes an ``isError`` result with a one-line message, never a traceback.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import mcp_types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from starlette.applications import Starlette

from cadence.exceptions import CadenceDefinitionError

from ..messages import ToolCall
from ..tools import Tool, ToolBox

__all__ = ["ToolServer"]


class ToolServer:
    """Serve tools over MCP (stdio or Streamable HTTP).

    Args:
        name: The server's name, as clients see it.
        tools: Tools, plain functions (wrapped with ``@tool``'s defaults) or a ``ToolBox``.
        version: The server's version string.
        instructions: Text telling clients (and their models) how to use the server.
        score: A factory called once per call for tools that take a ``score`` parameter
            (default: no score).
    """

    def __init__(
        self,
        name: str,
        tools: ToolBox | Iterable[Tool | Callable[..., Any]],
        *,
        version: str = "",
        instructions: str | None = None,
        score: Callable[[], Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise CadenceDefinitionError(f"ToolServer needs a non-empty name, got {name!r}")
        if score is not None and not callable(score):
            raise CadenceDefinitionError(
                f"ToolServer score= must be a factory such as MyScore, got {score!r}"
            )
        self.toolbox = tools if isinstance(tools, ToolBox) else ToolBox(tools)
        if not len(self.toolbox):
            raise CadenceDefinitionError(f"ToolServer {name!r} has no tools to serve")
        self.name = name
        self._score = score
        self._ids = itertools.count(1)
        self.server: Server[Any] = Server(
            name,
            version=version,
            instructions=instructions,
            get_tool_input_schema=self._input_schema,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    def __repr__(self) -> str:
        return f"ToolServer({self.name!r}, tools={[t.name for t in self.toolbox]!r})"

    # -- handlers ----------------------------------------------------------------------------------

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        return self.toolbox[name].parameters if name in self.toolbox else None

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(
            tools=[
                mcp_types.Tool(name=t.name, description=t.description, input_schema=t.parameters)
                for t in self.toolbox
            ]
        )

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        return await self.call(params.name, params.arguments or {})

    async def call(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Run one call as an MCP client's ``tools/call`` would (useful in tests)."""
        call = ToolCall(id=f"mcp_{next(self._ids)}", name=name, arguments=json.dumps(arguments))
        try:
            # The factory too: its failure is an error result, not a JSON-RPC internal error.
            score = None if self._score is None else self._score()
            [outcome] = await self.toolbox.run([call], score, group=f"mcp:{self.name}")
        except Exception as exc:  # the score factory, a fatal tool, conflicting score changes
            text = getattr(exc, "message", None) or str(exc)
            return _text_result(f"Error: {type(exc).__name__}: {text}", error=True)
        if not outcome.ok:
            return _text_result(outcome.message.content, error=True)
        result = _text_result(outcome.message.content, error=False)
        value = outcome.value
        if isinstance(value, dict | list | BaseModel):
            result.structured_content = to_jsonable_python(value, fallback=str)
        return result

    # -- running -----------------------------------------------------------------------------------

    async def run_stdio(self) -> None:
        """Serve one client on this process's stdin/stdout until it disconnects."""
        async with stdio_server() as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())

    def streamable_http_app(self, **options: Any) -> Starlette:
        """An ASGI app serving Streamable HTTP at ``/mcp`` (options as the SDK's)."""
        return self.server.streamable_http_app(**options)

    def run(self, transport: str = "stdio", *, host: str = "127.0.0.1", port: int = 8000) -> None:
        """Serve from a script: ``"stdio"``, or ``"streamable-http"`` on ``host:port`` (uvicorn)."""
        if transport == "stdio":
            anyio.run(self.run_stdio)
            return
        if transport != "streamable-http":
            raise CadenceDefinitionError(
                f"ToolServer.run transport must be 'stdio' or 'streamable-http', got {transport!r}"
            )
        import uvicorn

        uvicorn.run(self.streamable_http_app(host=host), host=host, port=port, log_level="warning")


def _text_result(text: str, *, error: bool) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], is_error=error
    )
