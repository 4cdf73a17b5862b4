"""MCPClient against real MCP server processes (stdio and Streamable HTTP)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cadence.exceptions import CadenceDefinitionError, CircuitOpenError
from cadence.resilience import CircuitBreaker, CircuitState, InMemoryBreakerStore
from cadence_llm import ScriptedModel, ToolBox, ToolCall, agent
from cadence_llm.mcp import (
    MCPClient,
    MCPConnectionError,
    MCPServerError,
    MCPTimeoutError,
    MCPToolError,
)
from cadence_llm.messages import ModelResponse, ToolMessage

from .conftest import ROOT

pytestmark = pytest.mark.timeout(120)


def stdio_client(**options: object) -> MCPClient:
    return MCPClient.stdio(
        sys.executable, ["-m", "tests.mcp_tools.server_app"], cwd=ROOT, name="fixture", **options
    )


def breaker_failures(client: MCPClient) -> int:
    assert client.breaker is not None
    return client.breaker.snapshot().failures


async def test_tools_carry_the_server_schema_and_safe_names() -> None:
    """Listed tools keep the server's JSON schema; a dotted name becomes letters and '_'."""
    async with stdio_client() as client:
        tools = {t.name: t for t in await client.tools()}
    assert {"add", "text_upper", "crash", "slow"} <= set(tools)
    add = tools["add"].definition
    assert add.description == "Add two integers."
    assert add.parameters["required"] == ["a", "b"]
    assert add.parameters["properties"]["a"]["type"] == "integer"


async def test_calls_reuse_one_session() -> None:
    """Many calls, from one tools() listing and direct, go through one server process."""
    async with stdio_client() as client:
        tools = {t.name: t for t in await client.tools()}
        pids = {(await client.call("pid")).text for _ in range(5)}
        outcomes = await ToolBox([tools["pid"], tools["add"]]).run(
            [ToolCall(id="1", name="pid"), ToolCall(id="2", name="add", arguments='{"a":2,"b":3}')]
        )
        assert [o.message.content for o in outcomes][1] == "5"
        pids.add(outcomes[0].message.content)
        assert len(pids) == 1
        assert client.connections == 1


async def test_a_tool_failure_is_an_error_result_not_a_breaker_failure() -> None:
    """An isError result raises MCPToolError and counts as a healthy answer for the breaker."""
    async with stdio_client() as client:
        with pytest.raises(MCPToolError) as caught:
            await client.call("fail", {"reason": "no stock"})
        assert caught.value.tool == "fail" and not caught.value.retryable
        assert breaker_failures(client) == 0
        [outcome] = await ToolBox(await client.tools()).run(
            [ToolCall(id="1", name="fail", arguments='{"reason":"x"}')]
        )
        assert not outcome.ok and outcome.message.is_error
        assert "MCPToolError" in outcome.message.content


async def test_missing_arguments_are_refused_before_the_call() -> None:
    """Arguments lacking a required key become an error result naming it; nothing is sent."""
    async with stdio_client() as client:
        [outcome] = await ToolBox(await client.tools()).run(
            [ToolCall(id="1", name="add", arguments='{"a": 1}')]
        )
    assert not outcome.ok
    assert "missing required argument(s) 'b'" in outcome.message.content


async def test_server_crash_mid_call_is_normalized_counted_and_reconnected() -> None:
    """A stdio server dying mid-call raises MCPConnectionError, the breaker counts it, and the
    next call starts a new server."""
    async with stdio_client() as client:
        first = (await client.call("pid")).text
        with pytest.raises(MCPConnectionError) as caught:
            await client.call("crash")
        assert caught.value.retryable and caught.value.unhealthy
        assert breaker_failures(client) == 1
        second = (await client.call("pid")).text
        assert second != first
        assert client.connections == 2
        assert breaker_failures(client) == 0


async def test_a_hung_call_times_out_and_counts() -> None:
    """A call running past the client's timeout raises MCPTimeoutError, counted by the breaker."""
    async with stdio_client(timeout=0.5) as client:
        with pytest.raises(MCPTimeoutError):
            await client.call("slow", {"seconds": 30})
        assert breaker_failures(client) == 1
        assert (await client.call("add", {"a": 1, "b": 1})).text == "2"  # session still usable


async def test_breaker_opens_after_repeated_crashes() -> None:
    """With the threshold reached the circuit opens and calls fail fast without a server."""
    breaker = CircuitBreaker(
        "mcp-fixture", failure_threshold=2, recovery_timeout=60, store=InMemoryBreakerStore()
    )
    async with stdio_client(breaker=breaker) as client:
        for _ in range(2):
            with pytest.raises(MCPConnectionError):
                await client.call("crash")
        connections = client.connections
        with pytest.raises(CircuitOpenError):
            await client.call("pid")
        assert breaker.state is CircuitState.OPEN
        assert client.connections == connections  # refused before any reconnect


async def test_retry_reconnects_after_a_crash(tmp_path: Path) -> None:
    """With retry=2 a call whose server crashed is retried on a fresh session and succeeds."""
    marker = tmp_path / "crashed"
    client = MCPClient.stdio(
        sys.executable,
        ["-m", "tests.mcp_tools.server_app"],
        cwd=ROOT,
        env={"CRASH_MARKER": str(marker)},
        retry=2,
    )
    async with client:
        tools = {t.name: t for t in await client.tools()}
        [outcome] = await ToolBox([tools["crash_once"]]).run([ToolCall(id="1", name="crash_once")])
    assert outcome.ok and outcome.value == "recovered"
    assert marker.exists() and client.connections == 2


CRASH_WHILE_LISTING = """
import os, sys
from pathlib import Path
from cadence_llm import tool
from cadence_llm.mcp import ToolServer

@tool
def echo(text: str) -> str:
    \"\"\"Echo.\"\"\"
    return text

MARKER = Path(sys.argv[1])

class CrashOnce(ToolServer):
    async def _list_tools(self, ctx, params):
        if not MARKER.exists():  # the first process dies listing its tools
            MARKER.write_text("crashed")
            os._exit(4)
        return await super()._list_tools(ctx, params)

CrashOnce("t", [echo]).run()
"""


async def test_a_crash_while_listing_tools_reconnects_on_the_next_call(tmp_path: Path) -> None:
    """The server dies answering tools(): the next tools() and call() open a new session (the
    client kept the dead one, so every later call failed with "connection closed")."""
    server, marker = tmp_path / "server.py", tmp_path / "crashed"
    server.write_text(CRASH_WHILE_LISTING)
    client = MCPClient.stdio(sys.executable, [str(server), str(marker)], cwd=ROOT, timeout=20)
    async with client:
        with pytest.raises(MCPConnectionError):
            await client.tools()
        assert [t.name for t in await client.tools()] == ["echo"]
        result = await client.call("echo", {"text": "hi"})
    assert result.text == "hi"
    assert marker.exists() and client.connections == 2


async def test_an_agent_uses_mcp_tools() -> None:
    """An agent's tool call reaches the MCP server and the result goes back to the model."""
    model = ScriptedModel(
        [
            ModelResponse(tool_calls=(ToolCall(id="c1", name="add", arguments='{"a":20,"b":22}'),)),
            "The sum is 42.",
        ]
    )
    async with stdio_client() as client:
        result = await agent(model, await client.tools()).run(prompt="add 20 and 22")
    assert result.answer == "The sum is 42."
    tool_turn = result.messages[2]
    assert isinstance(tool_turn, ToolMessage) and tool_turn.content == "42"


async def test_http_calls_and_a_503_is_a_normalized_server_error(
    http_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Over Streamable HTTP calls work; an HTTP 503 raises MCPServerError, counted, no hang."""
    url, _ = http_server
    async with MCPClient.http(url, timeout=10) as client:
        assert (await client.call("add", {"a": 2, "b": 2})).text == "4"
        with pytest.raises(MCPServerError):
            await client.call("overloaded")
        assert breaker_failures(client) == 1
        assert (await client.call("add", {"a": 1, "b": 2})).text == "3"
        assert client.connections == 1


async def test_http_server_crash_mid_call_never_hangs(
    http_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """An HTTP server dying mid-call raises MCPConnectionError; later calls fail fast too."""
    url, proc = http_server
    async with MCPClient.http(url, timeout=20, connect_timeout=5) as client:
        with pytest.raises(MCPConnectionError):
            await client.call("crash")
        assert proc.wait(10) == 3
        with pytest.raises(MCPConnectionError):
            await client.call("pid")
        assert breaker_failures(client) == 2


async def test_http_headers_reach_the_server(
    http_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """headers= are sent with every request (the server still answers through them)."""
    url, _ = http_server
    async with MCPClient.http(url, headers={"Authorization": "Bearer t"}) as client:
        assert (await client.call("add", {"a": 1, "b": 1})).text == "2"


async def test_unreachable_server_is_a_connection_error() -> None:
    """Nothing listening at the URL: MCPConnectionError naming the server, not a hang."""
    from tests.checkpoint._servers import free_port

    client = MCPClient.http(f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=5)
    with pytest.raises(MCPConnectionError, match="could not connect"):
        await client.call("pid")
    await client.aclose()


def test_bad_definitions_fail_early() -> None:
    """Wrong targets and options raise CadenceDefinitionError when the client is built."""
    with pytest.raises(CadenceDefinitionError, match="http:// or https://"):
        MCPClient("ftp://example/mcp")
    with pytest.raises(CadenceDefinitionError, match="list of arguments"):
        MCPClient.stdio("python", "server.py")  # type: ignore[arg-type]
    with pytest.raises(CadenceDefinitionError, match="timeout"):
        MCPClient.http("http://127.0.0.1:1/mcp", timeout=0)
    with pytest.raises(CadenceDefinitionError, match="HTTP servers only"):
        MCPClient.stdio("python", ["s.py"], headers={"a": "b"})
