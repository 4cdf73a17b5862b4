"""``MCPClient``: an MCP server's tools as cadence tools, over one session reused across calls.

The session is opened on first use and kept: every call of every tool goes through it, so a
server is started (stdio) or handshaken (HTTP) once, not per call. The ``mcp`` SDK's client is
built on anyio task groups, which must be entered and left in one task; so a small *owner task*
holds the session open, and calls from any task of the loop send their requests through it. A
failure inside the transport ends the owner task, never the caller's task.

Every call runs under the client's timeout and circuit breaker, and the tools it makes take
the client's ``retry`` like any ``@tool``, so a call to a hung, crashing or erroring server
always ends with an :class:`~cadence_llm.mcp.MCPError` the breaker has counted. After a
connection is lost (a crashed stdio server, a dead HTTP server), the next call opens a new one.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError as SDKError
from pydantic import ValidationError

from cadence.exceptions import CadenceDefinitionError, TimeoutError
from cadence.resilience import CircuitBreaker, InMemoryBreakerStore, Retry, Timeout

from ..tools import Tool
from ._errors import (
    MCPConnectionError,
    MCPError,
    MCPRequestError,
    MCPServerError,
    MCPTimeoutError,
    MCPToolError,
)

__all__ = ["MCPClient", "MCPResult"]

logger = logging.getLogger("cadence_llm.mcp")

_PAGE_CAP = 100  # tools/list pages followed at most: a server paging forever cannot hang us
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class MCPResult:
    """What a tool call returned.

    Attributes:
        text: The result as the model reads it: text blocks joined, other blocks described.
        structured: The tool's structured result, when it gave one.
        content: The raw content blocks (``mcp_types`` models).
    """

    text: str
    structured: Any = None
    content: tuple[Any, ...] = ()


def _describe_block(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.EmbeddedResource):
        inner = block.resource
        if isinstance(inner, mcp_types.TextResourceContents):
            return inner.text
        return f"[resource {inner.uri} ({inner.mime_type or 'binary'})]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link {block.uri}]"
    mime = getattr(block, "mime_type", "")
    return f"[{getattr(block, 'type', 'content')} {mime}]".replace(" ]", "]")


def _as_result(result: mcp_types.CallToolResult) -> MCPResult:
    text = "\n".join(_describe_block(b) for b in result.content)
    return MCPResult(text, result.structured_content, tuple(result.content))


class _Session:
    """One live connection: the owner task keeping the SDK client open, and that client."""

    __slots__ = ("broken", "client", "loop", "stop", "task")

    def __init__(
        self,
        client: Client,
        task: asyncio.Task[None],
        stop: asyncio.Event,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.client = client
        self.task = task
        self.stop = stop
        self.loop = loop
        self.broken = False

    def usable(self, loop: asyncio.AbstractEventLoop) -> bool:
        return loop is self.loop and not self.broken and not self.task.done()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(self.task, return_exceptions=True)


class MCPClient:
    """The tools of one MCP server, each call under a timeout, a breaker and (opt-in) retries.

    Build one with :meth:`stdio` (the client starts the server as a subprocess) or :meth:`http`
    (Streamable HTTP). Use it as ``async with client:`` (or call :meth:`aclose`) so the session,
    and a stdio server's process, end with your code.

    Args:
        target: ``StdioServerParameters`` or a Streamable HTTP URL (prefer the constructors).
        name: The server's name in errors, logs and the breaker (default: from the target).
        timeout: Seconds each call may take; past it the call fails with ``MCPTimeoutError``.
        connect_timeout: Seconds to start the server and complete the handshake.
        retry: Attempts per tool call, an int or a :class:`~cadence.resilience.Retry`; only
            errors marked ``retryable`` are retried (default 1: a call that crashed the server
            may have had effects).
        breaker: ``True`` (default) gives the server a circuit breaker private to this
            client; pass a :class:`~cadence.resilience.CircuitBreaker` to share one (e.g.
            through Redis), or ``False`` for none. Only ``unhealthy`` errors count.
        prefix: Prepended to tool names as ``{prefix}_{name}`` (two servers may share names).
        headers: HTTP headers for every request (e.g. ``Authorization``); HTTP only.
    """

    def __init__(
        self,
        target: StdioServerParameters | str,
        *,
        name: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        retry: int | Retry = 1,
        breaker: bool | CircuitBreaker = True,
        prefix: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(target, StdioServerParameters | str) or not target:
            raise CadenceDefinitionError(
                f"MCPClient needs StdioServerParameters or an http(s) URL, got {target!r}; "
                "use MCPClient.stdio(command, args) or MCPClient.http(url)"
            )
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise CadenceDefinitionError(
                f"MCPClient URL must start with http:// or https://, got {target!r}"
            )
        if headers is not None and not isinstance(target, str):
            raise CadenceDefinitionError("MCPClient headers= applies to HTTP servers only")
        for option, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise CadenceDefinitionError(
                    f"MCPClient {option} must be a positive number of seconds, got {value!r}"
                )
        if isinstance(retry, bool) or not isinstance(retry, int | Retry):
            raise CadenceDefinitionError(
                f"MCPClient retry must be an attempt count or a Retry policy, got {retry!r}"
            )
        if prefix is not None and (not prefix or _UNSAFE_NAME.search(prefix)):
            raise CadenceDefinitionError(
                f"MCPClient prefix must be letters, digits, '_' or '-', got {prefix!r}"
            )
        self.target = target
        self.name = name or _default_name(target)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.retry = (
            Retry(retry, delay=0.2, backoff="exponential", max_delay=5.0, on=_retryable)
            if isinstance(retry, int)
            else retry
        )
        self.prefix = prefix
        self.headers = dict(headers or {})
        self.breaker: CircuitBreaker | None
        if breaker is True:
            self.breaker = CircuitBreaker(f"mcp:{self.name}", store=InMemoryBreakerStore())
        elif isinstance(breaker, CircuitBreaker):
            self.breaker = breaker
        elif breaker is False:
            self.breaker = None
        else:
            raise CadenceDefinitionError(
                f"MCPClient breaker must be True, False or a CircuitBreaker, got {breaker!r}"
            )
        self._live: _Session | None = None
        self._opening: asyncio.Task[_Session] | None = None
        self._tools: list[Tool] | None = None
        self.connections = 0  # sessions opened so far (a new one after each lost connection)

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        **options: Any,
    ) -> MCPClient:
        """A server the client starts as a subprocess, speaking MCP on its stdin/stdout.

        Args:
            command: The executable (``"python"``, ``"npx"``, ...).
            args: Its arguments.
            env: Extra environment variables for the server.
            cwd: The server's working directory.
            **options: As for :class:`MCPClient`.
        """
        if isinstance(args, str):
            raise CadenceDefinitionError(
                f"MCPClient.stdio args must be a list of arguments, got the string {args!r}"
            )
        params = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
        )
        return cls(params, **options)

    @classmethod
    def http(cls, url: str, **options: Any) -> MCPClient:
        """A server reached over Streamable HTTP at ``url`` (e.g. ``http://host:8000/mcp``)."""
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"MCPClient({self.name!r})"

    async def __aenter__(self) -> MCPClient:
        await self._session()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the session (and stop a stdio server); the next call would open a new one.

        A connection still being opened is abandoned too (its server stopped): otherwise it
        would finish after the close and keep a server running that nobody closes.
        """
        loop = asyncio.get_running_loop()
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done() and opening.get_loop() is loop:
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
        live, self._live = self._live, None
        if live is not None and live.loop is loop:
            await live.close()

    # -- the session -----------------------------------------------------------------------------

    def _transport(self) -> Any:
        if isinstance(self.target, StdioServerParameters) or not self.headers:
            return self.target
        return _http_transport(self.target, self.headers)

    async def _own(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        """The owner task: open the SDK client, hand it over, hold it until told to stop."""
        try:
            async with Client(self._transport()) as client:
                ready.set_result(client)
                await stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as exc:  # the transport failed: report it, never re-raise here
            if not ready.done():
                ready.set_exception(_unwrap(exc))
            else:
                logger.info("MCP server %r: connection ended (%s)", self.name, _unwrap(exc))

    async def _open(self) -> _Session:
        loop = asyncio.get_running_loop()
        old, self._live = self._live, None
        if old is not None and old.loop is loop:
            await old.close()
        ready: asyncio.Future[Client] = loop.create_future()
        stop = asyncio.Event()
        # A fresh context: the session outlives the note that happened to open it.
        task = loop.create_task(
            self._own(ready, stop), name=f"mcp-session:{self.name}", context=contextvars.Context()
        )
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), self.connect_timeout)
        except builtins.TimeoutError:  # asyncio.wait_for's
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise MCPConnectionError(
                f"MCP server {self.name!r} did not complete the handshake within "
                f"{self.connect_timeout:g}s",
                server=self.name,
            ) from None
        except asyncio.CancelledError:  # aclose(), or the loop shutting down: stop the server
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        except Exception as exc:
            await asyncio.gather(task, return_exceptions=True)
            raise MCPConnectionError(
                f"could not connect to MCP server {self.name!r}: {type(exc).__name__}: {exc}",
                server=self.name,
            ) from exc
        self.connections += 1
        self._live = _Session(client, task, stop, loop)
        return self._live

    async def _session(self) -> _Session:
        loop = asyncio.get_running_loop()
        live = self._live
        if live is not None and live.usable(loop):
            return live
        if (
            live is not None
            and live.loop is not loop
            and not live.loop.is_closed()
            and not live.task.done()
        ):
            raise MCPConnectionError(
                f"MCPClient {self.name!r} has a session open on another event loop; "
                "use one client per event loop",
                server=self.name,
            )
        opening = self._opening
        if opening is None or opening.done() or opening.get_loop() is not loop:
            opening = self._opening = loop.create_task(self._open())
        # Shielded: one caller giving up must not cancel the connection others wait for.
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if opening.cancelled() and current is not None and not current.cancelling():
                raise MCPConnectionError(  # aclose() abandoned the connection this call awaited
                    f"MCPClient {self.name!r} was closed while connecting", server=self.name
                ) from None
            raise

    # -- calls -----------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: Mapping[str, Any] | None = None) -> MCPResult:
        """Call ``tool`` once, under the timeout and the breaker (``retry`` is applied by tools).

        Raises:
            MCPToolError: the tool reported failure.
            MCPError: the call failed (connection, timeout, server or request error).
            CircuitOpenError: the server's breaker is open; no call was made.
        """
        breaker = self.breaker
        admission = None if breaker is None else await breaker.acquire_async()
        try:
            # Connecting (starting a stdio server) is bounded by connect_timeout, not by the
            # call's own timeout: a server slower to start than to answer must not time out.
            await self._session()
            result: MCPResult = await Timeout(self.timeout).call_async(
                self._call, tool, dict(arguments or {}), name=tool
            )
        except TimeoutError:
            error: MCPError = MCPTimeoutError(
                f"MCP server {self.name!r} did not answer {tool!r} within {self.timeout:g}s",
                server=self.name,
                tool=tool,
            )
            if breaker is not None and admission is not None:
                await breaker.release_async(admission, error)
            raise error from None
        except BaseException as exc:
            if breaker is not None and admission is not None:
                unwell = not isinstance(exc, MCPError) or exc.unhealthy
                await breaker.release_async(admission, exc if unwell else None)
            raise
        if breaker is not None and admission is not None:
            await breaker.release_async(admission)
        return result

    async def _call(self, tool: str, arguments: dict[str, Any]) -> MCPResult:
        live = await self._session()
        try:
            result = await live.client.call_tool(tool, arguments)
        except SDKError as exc:
            error = _from_sdk(exc, self.name, tool)
            if isinstance(error, MCPConnectionError):
                live.broken = True  # the next call opens a new session
            raise error from exc
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            live.broken = True
            raise MCPConnectionError(
                f"lost the connection to MCP server {self.name!r} during {tool!r}: {exc!r}",
                server=self.name,
                tool=tool,
            ) from exc
        except (ValidationError, RuntimeError) as exc:
            # The SDK raises RuntimeError for a result it cannot use: structured content that
            # breaks the tool's declared output schema, an input request nobody answers.
            raise _unusable(exc, self.name, tool) from exc
        answer = _as_result(result)
        if result.is_error:
            raise MCPToolError(answer.text or f"tool {tool!r} failed", server=self.name, tool=tool)
        return answer

    # -- tools -----------------------------------------------------------------------------------

    async def list_tools(self) -> list[mcp_types.Tool]:
        """The server's tool definitions, as the SDK gives them (all pages)."""
        live = await self._session()
        found: list[mcp_types.Tool] = []
        cursor: str | None = None

        async def page(cursor: str | None) -> mcp_types.ListToolsResult:
            return await live.client.list_tools(cursor=cursor)

        for _ in range(_PAGE_CAP):
            try:
                listing = await Timeout(self.timeout).call_async(page, cursor, name="tools/list")
            except TimeoutError:
                raise MCPTimeoutError(
                    f"MCP server {self.name!r} did not list its tools within {self.timeout:g}s",
                    server=self.name,
                ) from None
            except SDKError as exc:
                error = _from_sdk(exc, self.name, "")
                if isinstance(error, MCPConnectionError):
                    live.broken = True  # as in _call: the next use opens a new session
                raise error from exc
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                live.broken = True
                raise MCPConnectionError(
                    f"lost the connection to MCP server {self.name!r} while listing its "
                    f"tools: {exc!r}",
                    server=self.name,
                ) from exc
            except (ValidationError, RuntimeError) as exc:  # a listing the SDK cannot read
                raise _unusable(exc, self.name, "") from exc
            found.extend(listing.tools)
            cursor = listing.next_cursor
            if cursor is None:
                break
        return found

    async def tools(self, *, refresh: bool = False) -> list[Tool]:
        """The server's tools as cadence :class:`~cadence_llm.Tool` objects (listed once).

        Each keeps the server's JSON schema for the model, and calls :meth:`call` with the
        client's ``retry`` policy around it; a failed call becomes an error result the model
        reads, like any tool's. Names that are not letters, digits, ``_`` or ``-`` have the
        other characters replaced by ``_``; a name that then clashes with another tool's gets
        ``_2`` (``_3``...), so a ``ToolBox`` takes every tool the server lists.

        A schema's ``"required": null`` (servers written in Go send it for "none") is read as
        no required argument. A tool whose schema still cannot be used is left out with a
        warning naming it, so one bad definition does not cost the server's other tools.
        """
        if self._tools is None or refresh:
            listed = await self.list_tools()
            names = _local_names([t.name for t in listed], self.prefix)
            made: list[Tool] = []
            for remote, local in zip(listed, names, strict=True):
                try:
                    made.append(self._as_tool(remote, local))
                except CadenceDefinitionError as exc:
                    logger.warning(
                        "MCP server %r: tool %r left out, its definition is unusable: %s",
                        self.name,
                        remote.name,
                        exc.message,
                    )
            self._tools = made
        return list(self._tools)

    def _as_tool(self, remote: mcp_types.Tool, local: str) -> Tool:
        async def call(**arguments: Any) -> str:
            return (await self.call(remote.name, arguments)).text

        call.__name__ = local
        schema = remote.input_schema
        if "required" in schema and schema["required"] is None:
            # Providers' APIs refuse "required": null ("None is not of type 'array'").
            schema = {k: v for k, v in schema.items() if k != "required"}
        return Tool(
            call,
            name=local,
            description=remote.description or remote.title or remote.name,
            parameters=schema,
            retry=self.retry if self.retry.max_attempts > 1 else None,
        )


def _local_names(remote: Sequence[str], prefix: str | None) -> list[str]:
    """Each remote tool's cadence name: unsafe characters replaced by ``_``, then made unique.

    ``a.b`` and ``a_b`` both become ``a_b``, and a ``ToolBox`` refuses two tools of one name:
    a name the server gave as it is keeps it, the other gets ``_2`` (``_3``...).
    """
    base = [_UNSAFE_NAME.sub("_", name) for name in remote]
    if prefix:
        base = [f"{prefix}_{name}" for name in base]
    names: list[str | None] = [None] * len(remote)
    taken: set[str] = set()
    # Unchanged names first, so a tool the server named safely never loses its name.
    order = sorted(range(len(remote)), key=lambda i: _UNSAFE_NAME.search(remote[i]) is not None)
    for i in order:
        name, n = base[i], 1
        while name in taken:
            n += 1
            name = f"{base[i]}_{n}"
        if n > 1:
            logger.warning(
                "MCP tool %r is named %r: %r is already another tool's", remote[i], name, base[i]
            )
        taken.add(name)
        names[i] = name
    return [name for name in names if name is not None]


def _unusable(exc: Exception, server: str, tool: str) -> MCPServerError:
    """A result the SDK refused (malformed, or against the tool's output schema) as one of ours.

    One line: jsonschema's and pydantic's messages run over several, with the offending value.
    """
    what = f"a result for {tool!r}" if tool else "a tool listing"
    if isinstance(exc, ValidationError):
        problem = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(result)'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:3]
        )
    else:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return MCPServerError(
        f"MCP server {server!r} sent {what} the client cannot use: {problem}",
        server=server,
        tool=tool,
    )


def _retryable(error: BaseException) -> bool:
    return isinstance(error, MCPError) and error.retryable


def _default_name(target: StdioServerParameters | str) -> str:
    if isinstance(target, str):
        return target
    return " ".join([Path(target.command).name, *target.args][:3])


def _unwrap(exc: BaseException) -> BaseException:
    """The first real error inside the exception groups anyio task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


_SERVER_CODES = {mcp_types.INTERNAL_ERROR, mcp_types.PARSE_ERROR}


def _from_sdk(exc: SDKError, server: str, tool: str) -> MCPError:
    """The SDK's JSON-RPC error as one of ours."""
    text = f"MCP server {server!r}" + (f" failed {tool!r}" if tool else " failed")
    if exc.code == mcp_types.CONNECTION_CLOSED:
        return MCPConnectionError(f"{text}: the connection closed", server=server, tool=tool)
    if exc.code == mcp_types.REQUEST_TIMEOUT:
        return MCPTimeoutError(f"{text}: {exc.message}", server=server, tool=tool)
    if exc.code in _SERVER_CODES or -32099 <= exc.code <= -32000:
        return MCPServerError(f"{text}: {exc.message}", server=server, tool=tool)
    return MCPRequestError(f"{text}: {exc.message} (code {exc.code})", server=server, tool=tool)


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams
