"""ToolServer: cadence tools and a cadence served to MCP clients over stdio and HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from mcp import Client

from cadence.exceptions import CadenceDefinitionError
from cadence_llm import tool
from cadence_llm.mcp import MCPClient, MCPToolError, ToolServer

from .cadence_app import quote, server
from .conftest import ROOT, start_http, stop

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def shop_url() -> Iterator[str]:
    """The cadence app served over Streamable HTTP by a uvicorn process."""
    url, proc = start_http("tests.mcp_tools.cadence_app")
    yield url
    stop(proc)


async def test_listing_matches_the_tool_definitions() -> None:
    """An MCP client sees each tool with the very schema a model would see."""
    async with Client(server.server) as client:  # the SDK's in-process client
        listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == {"quote", "stock"}
    for t in server.toolbox:
        assert listed[t.name].input_schema == t.parameters
        assert listed[t.name].description == t.description
    assert set(listed["quote"].input_schema["properties"]) == {"item", "quantity"}


async def test_a_cadence_runs_per_call_over_stdio() -> None:
    """Over stdio a call runs the whole cadence on a fresh score and returns the final score."""
    client = MCPClient.stdio(sys.executable, ["-m", "tests.mcp_tools.cadence_app"], cwd=ROOT)
    async with client:
        first = await client.call("quote", {"item": "tea", "quantity": 4})
        second = await client.call("quote", {"item": "cake", "quantity": 1})
        stocked = await client.call("stock", {"item": "tea"})
    assert json.loads(first.text)["total"] == 10.0
    assert first.structured["steps"] == ["look_up", "multiply"]
    assert second.structured["total"] == 4.0 and second.structured["steps"] == [
        "look_up",
        "multiply",
    ]  # a fresh score each call: steps do not pile up
    assert stocked.structured == {"item_count": 12}
    assert quote.score.total == 0.0  # the definition's own score is untouched


async def test_failures_are_error_results_over_http(shop_url: str) -> None:
    """Over HTTP, bad arguments, unknown tools and a failing cadence come back as isError
    results with a one-line message, and the server keeps serving."""
    async with MCPClient.http(shop_url) as client:
        with pytest.raises(MCPToolError, match="quantity"):
            await client.call("quote", {"item": "tea", "quantity": "many"})
        with pytest.raises(MCPToolError, match="unknown tool 'refund'"):
            await client.call("refund", {})
        with pytest.raises(MCPToolError, match="look_up") as caught:
            await client.call("quote", {"item": "coffee", "quantity": 1})
        assert "Traceback" not in caught.value.message
        ok = await client.call("quote", {"item": "tea", "quantity": 2})
        assert ok.structured["total"] == 5.0
        assert client.breaker is not None and client.breaker.snapshot().failures == 0


async def test_tool_policies_apply_to_served_calls() -> None:
    """A served tool's retry runs on the server: a flaky tool answers on its second attempt."""
    attempts: list[int] = []

    @tool(retry={"max_attempts": 2, "delay": 0})
    def flaky() -> str:
        """Fail once, then answer."""
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("blip")
        return "ok"

    result = await ToolServer("flaky", [flaky]).call("flaky", {})
    assert not result.is_error and result.content[0].text == "ok"
    assert len(attempts) == 2


def test_bad_server_definitions_fail_early() -> None:
    """An empty name or no tools is refused when the server is built."""
    with pytest.raises(CadenceDefinitionError, match="no tools"):
        ToolServer("empty", [])
    with pytest.raises(CadenceDefinitionError, match="non-empty name"):
        ToolServer(" ", [quote_tool_fn])
    with pytest.raises(CadenceDefinitionError, match="transport"):
        ToolServer("x", [quote_tool_fn]).run("carrier-pigeon")


def quote_tool_fn(item: str) -> str:
    """Echo an item."""
    return item
