"""The FastAPI integration behind a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import resource
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from cadence import Cadence
from cadence.integrations.fastapi import CadenceRouter
from tests.integrations._models import OrderScore, checkout


@contextmanager
def serve(app: FastAPI, *, grace: float | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", lifespan="on", backlog=2048, timeout_graceful_shutdown=grace
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


class Line(BaseModel):
    """A request body."""

    quantity: int
    price: float


@pytest.fixture
def open_files_for_a_thousand_connections() -> Iterator[None]:
    """Raise the soft open-file limit for 1,000 client + 1,000 server sockets in one process.

    Desktop distributions give ordinary users a soft limit of 1,024 (with a far higher hard
    limit); raising the soft limit up to the hard one needs no privileges.
    """
    needed = 2_200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed or soft == resource.RLIM_INFINITY:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"this test needs {needed} open files; the hard limit is {hard} (raise it)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.usefixtures("open_files_for_a_thousand_connections")
async def test_thousand_concurrent_requests_all_match() -> None:
    """1,000 concurrent requests through uvicorn: no errors, each response matches its request."""

    async def price(score: OrderScore) -> None:
        await asyncio.sleep(0.001)
        score.total = score.total * 2
        score.status = f"priced:{score.order_id}"

    cad = Cadence("live", OrderScore(order_id="T")).then("price", price)
    router = CadenceRouter()

    @router.cadence("/orders/{order_id}", cad)
    async def create(order_id: str, line: Line, tag: str = "") -> OrderScore:
        return OrderScore(order_id=f"{order_id}-{tag}", total=line.quantity * line.price)

    app = FastAPI()
    app.include_router(router)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

            async def one(i: int) -> tuple[int, httpx.Response]:
                body = {"quantity": i, "price": 0.5}
                return i, await client.post(f"/orders/o{i}?tag=t{i}", json=body)

            results = await asyncio.gather(*(one(i) for i in range(1000)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    for item in results:
        assert not isinstance(item, BaseException)
        i, response = item
        assert response.status_code == 200
        body = response.json()
        assert body["order_id"] == f"o{i}-t{i}"
        assert body["total"] == i * 1.0
        assert body["status"] == f"priced:o{i}-t{i}"
    assert cad.score == OrderScore(order_id="T")


@pytest.mark.timeout(60)
async def test_client_disconnect_cancels_the_streamed_run() -> None:
    """Hanging up mid-stream cancels the run on the server and leaves no task behind."""
    started = threading.Event()
    cancelled = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def hang(score: OrderScore) -> None:
        loops.append(asyncio.get_running_loop())
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    cad = checkout().then("hang", hang)
    router = CadenceRouter(ping_interval=None)

    @router.cadence("/orders/{order_id}", cad, stream=True)
    async def create(order_id: str) -> OrderScore:
        return OrderScore(order_id=order_id)

    app = FastAPI()
    app.include_router(router)
    with serve(app) as base:
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            client.stream("POST", "/orders/d1") as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line == 'data: {"note":"hang","group":null}':
                    break
        assert started.is_set()
        assert await asyncio.to_thread(cancelled.wait, 10), "the run was not cancelled"

        async def leftovers() -> list[str]:
            await asyncio.sleep(0.05)
            return [
                t.get_name()
                for t in asyncio.all_tasks()
                if t.get_name().startswith("cadence-") and not t.done()
            ]

        names = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(leftovers(), loops[0]))
        assert names == []
        assert router.streams == set()


@pytest.mark.timeout(60)
def test_server_shutdown_cancels_open_streams() -> None:
    """Stopping the server (after its graceful-shutdown timeout) cancels a streamed run."""
    cancelled = threading.Event()
    started = threading.Event()

    async def hang(score: Any) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    router = CadenceRouter(ping_interval=0.05)

    @router.cadence("/h", Cadence("hang", OrderScore(order_id="h")).then("hang", hang), stream=True)
    async def create() -> OrderScore:
        return OrderScore(order_id="h")

    app = FastAPI()
    app.include_router(router)
    box: list[BaseException] = []

    def client(base: str) -> None:
        try:
            with httpx.stream("POST", f"{base}/h", timeout=30) as r:
                for _ in r.iter_lines():
                    pass
        except httpx.HTTPError as exc:  # the server went away mid-stream
            box.append(exc)

    with serve(app, grace=0.2) as base:
        thread = threading.Thread(target=client, args=(base,), daemon=True)
        thread.start()
        assert started.wait(10)
    assert cancelled.wait(10)
    thread.join(10)
