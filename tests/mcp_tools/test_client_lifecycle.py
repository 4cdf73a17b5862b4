"""MCPClient connecting and closing, and tool names, against real MCP server processes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from mcp import Client

from cadence_llm import ToolBox, ToolCall, tool
from cadence_llm.mcp import MCPClient, MCPConnectionError, ToolServer

from .conftest import ROOT

pytestmark = pytest.mark.timeout(120)

SLOW_START = """
import os, sys, time
from pathlib import Path
Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(float(sys.argv[2]))  # a server slow to start (an npx download, a cold import)
from mcp.server.mcpserver import MCPServer
app = MCPServer("slow-start")

@app.tool()
def ping() -> str:
    \"\"\"Answer at once.\"\"\"
    return "pong"

app.run()
"""

CLASHING_NAMES = """
from mcp.server.mcpserver import MCPServer
app = MCPServer("clash")

@app.tool(name="a.b")
def dotted() -> str:
    \"\"\"Dotted.\"\"\"
    return "dotted"

@app.tool(name="a_b")
def underscored() -> str:
    \"\"\"Underscored.\"\"\"
    return "underscored"

app.run()
"""


def slow_start(tmp_path: Path, seconds: float, **options: object) -> tuple[MCPClient, Path]:
    server, pid_file = tmp_path / "slow_start.py", tmp_path / "server.pid"
    server.write_text(SLOW_START)
    client = MCPClient.stdio(
        sys.executable, [str(server), str(pid_file), str(seconds)], cwd=ROOT, **options
    )
    return client, pid_file


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_connecting_is_bounded_by_connect_timeout_not_the_call_timeout(
    tmp_path: Path,
) -> None:
    """A server slower to start than the call timeout still answers the first call (it used
    to fail with MCPTimeoutError, counted by the breaker, although connect_timeout allowed it)."""
    client, _ = slow_start(tmp_path, 2.0, timeout=0.5, connect_timeout=60)
    try:
        assert (await client.call("ping")).text == "pong"
    finally:
        await client.aclose()
    assert client.breaker is not None and client.breaker.snapshot().failures == 0


async def test_aclose_while_connecting_stops_the_server(tmp_path: Path) -> None:
    """aclose() during the handshake stops the server and fails the waiting call; the
    connection used to complete after the close and keep the server running."""
    client, pid_file = slow_start(tmp_path, 3.0, connect_timeout=60)
    call = asyncio.create_task(client.call("ping"))
    for _ in range(2400):  # until the server process has started; its handshake has not
        if pid_file.exists():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    await client.aclose()
    with pytest.raises(MCPConnectionError, match="closed while connecting"):
        await call
    assert not running(pid)
    assert client.connections == 0
    tasks = {t.get_name() for t in asyncio.all_tasks()}
    assert not any(name.startswith("mcp-session") for name in tasks)


async def test_tool_names_that_clash_once_made_safe_get_a_suffix(tmp_path: Path) -> None:
    """'a.b' and 'a_b' both become 'a_b': the safely named tool keeps it, the other is
    'a_b_2', and a ToolBox takes both (it used to refuse the listing as duplicates)."""
    server = tmp_path / "clash.py"
    server.write_text(CLASHING_NAMES)
    async with MCPClient.stdio(sys.executable, [str(server)], cwd=ROOT) as client:
        tools = await client.tools()
        assert sorted(t.name for t in tools) == ["a_b", "a_b_2"]
        outcomes = await ToolBox(tools).run(
            [ToolCall(id="1", name="a_b"), ToolCall(id="2", name="a_b_2")]
        )
    assert [o.value for o in outcomes] == ["underscored", "dotted"]


def test_prefixed_names_are_made_unique_too() -> None:
    """With a prefix the clash is resolved the same way, whatever the listing order."""
    from cadence_llm.mcp._client import _local_names

    assert _local_names(["a.b", "a_b", "c"], "srv") == ["srv_a_b_2", "srv_a_b", "srv_c"]
    assert _local_names(["x y", "x.y", "x_y"], None) == ["x_y_2", "x_y_3", "x_y"]


async def test_a_failing_score_factory_is_an_error_result() -> None:
    """ToolServer(score=...) raising becomes an isError result, not a JSON-RPC internal
    error (which a client counts as a server failure) with a traceback in the server's log."""

    def broken_score() -> object:
        raise RuntimeError("no database connection")

    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    server = ToolServer("broken", [echo], score=broken_score)
    async with Client(server.server) as client:
        result = await client.call_tool("echo", {"text": "hi"})
    assert result.is_error
    assert result.content[0].text == "Error: RuntimeError: no database connection"
    assert os.linesep not in result.content[0].text
