"""MCPClient against servers that send results or tool listings the SDK cannot use."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from cadence_llm import ToolBox, ToolCall
from cadence_llm.mcp import MCPClient, MCPServerError

from .conftest import ROOT

pytestmark = pytest.mark.timeout(120)

# Written with the SDK's low-level server, which sends what the handler returns unchecked.
OUTPUT_SCHEMA = """
import anyio
import mcp_types as t
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

COUNT = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
TOOLS = [
    t.Tool(name="count", input_schema={"type": "object"}, output_schema=COUNT),
    t.Tool(name="ping", input_schema={"type": "object"}),
]

async def list_tools(ctx, params):
    return t.ListToolsResult(tools=TOOLS)

async def call_tool(ctx, params):
    if params.name == "count":  # breaks its own output schema: n is not an integer
        return t.CallToolResult(
            content=[t.TextContent(type="text", text="many")], structured_content={"n": "many"}
        )
    return t.CallToolResult(content=[t.TextContent(type="text", text="pong")])

server = Server("schema", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""

# A hand-written JSON-RPC server: the SDK's own server drops None values, so it cannot send
# "required": null the way servers written in Go do. argv[1] picks the listing.
RAW_LISTING = """
import json, sys

LISTINGS = {
    "go": [
        {"name": "ping", "inputSchema": {"type": "object"}},
        {"name": "search", "inputSchema": {
            "type": "object", "properties": {"q": {"type": "string"}}, "required": None}},
        {"name": "", "inputSchema": {"type": "object"}},
    ],
    "malformed": [
        {"name": "ping", "inputSchema": {"type": "object"}},
        {"name": "nullable", "inputSchema": {"type": ["object", "null"]}},
    ],
}

def send(message):
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\\n")
    sys.stdout.flush()

for line in sys.stdin:
    request = json.loads(line)
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        continue
    if method == "initialize":
        send({"id": rid, "result": {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "raw", "version": "0"}}})
    elif method == "tools/list":
        send({"id": rid, "result": {"tools": LISTINGS[sys.argv[1]]}})
    elif method == "tools/call":
        text = request["params"]["name"] + " " + json.dumps(request["params"].get("arguments"))
        send({"id": rid, "result": {"content": [{"type": "text", "text": text}]}})
    else:
        send({"id": rid, "error": {"code": -32601, "message": "Method not found"}})
"""


def script_client(tmp_path: Path, source: str, *args: str) -> MCPClient:
    server = tmp_path / "server.py"
    server.write_text(source)
    return MCPClient.stdio(sys.executable, [str(server), *args], cwd=ROOT, name="odd", timeout=20)


async def test_a_result_breaking_its_output_schema_is_a_server_error(tmp_path: Path) -> None:
    """Structured content against the tool's output schema raises MCPServerError in one line
    (it escaped as the SDK's RuntimeError, several lines long, not an MCPError)."""
    async with script_client(tmp_path, OUTPUT_SCHEMA) as client:
        with pytest.raises(MCPServerError) as caught:
            await client.call("count")
        message = str(caught.value)
        assert "'many' is not of type 'integer'" in message and "\n" not in message
        assert caught.value.tool == "count" and caught.value.server == "odd"
        [outcome] = await ToolBox(await client.tools()).run([ToolCall(id="1", name="count")])
        assert not outcome.ok and "MCPServerError" in outcome.message.content
        assert (await client.call("ping")).text == "pong"  # the session is still good
        assert client.connections == 1


async def test_a_tool_listing_the_sdk_refuses_is_a_server_error(tmp_path: Path) -> None:
    """A listing the SDK cannot parse raises MCPServerError naming the field (it escaped as a
    raw pydantic ValidationError)."""
    async with script_client(tmp_path, RAW_LISTING, "malformed") as client:
        with pytest.raises(MCPServerError, match=r"tool listing .*tools\.1\.inputSchema\.type"):
            await client.tools()


async def test_required_null_means_none_and_an_unusable_tool_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """'"required": null' reads as no required argument, and a tool that cannot be made (no
    name) is left out with a warning; tools() used to refuse the whole server's listing."""
    with caplog.at_level(logging.WARNING, logger="cadence_llm.mcp"):
        async with script_client(tmp_path, RAW_LISTING, "go") as client:
            tools = {t.name: t for t in await client.tools()}
            assert sorted(tools) == ["ping", "search"]
            assert "required" not in tools["search"].parameters
            [outcome] = await ToolBox(list(tools.values())).run(
                [ToolCall(id="1", name="search", arguments='{"q": "mcp"}')]
            )
    assert outcome.ok and outcome.value == 'search {"q": "mcp"}'
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "tool '' left out" in warning and "tool name must be" in warning
