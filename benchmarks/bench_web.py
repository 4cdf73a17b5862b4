"""Web integration benchmark: a ``@router.cadence`` endpoint against a plain FastAPI endpoint.

Both endpoints build the same score from the path, await the same three notes and answer the
same JSON. Rounds alternate between them under the same load, in one run, and the report is
the ratio of requests per second (target: cadence / plain >= 0.9). Two loads:

1. ``asgi``: requests driven straight into the ASGI app in-process (no sockets, no client
   library), so the framework and integration overhead is all that is measured;
2. ``http``: uvicorn in a subprocess on loopback, ``httpx.AsyncClient`` with 64 concurrent
   requests, as a deployment sees it.

Run: ``python benchmarks/bench_web.py [--requests N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi import APIRouter, FastAPI  # noqa: E402

from cadence import Cadence, Score  # noqa: E402
from cadence.integrations.fastapi import CadenceRouter  # noqa: E402

CONCURRENCY = 16


@dataclass
class OrderScore(Score):
    order_id: str
    total: float = 0.0
    status: str = "pending"


async def fetch(score: OrderScore) -> None:
    await asyncio.sleep(0)
    score.total = 3.5


async def tax(score: OrderScore) -> None:
    await asyncio.sleep(0)
    score.total *= 1.2


async def pay(score: OrderScore) -> None:
    await asyncio.sleep(0)
    score.status = "paid"


def build_app(kind: str) -> FastAPI:
    """An app serving ``/{kind}/{order_id}`` from an included router, as a real app would.

    Each kind gets its own app so neither pays for failing to match the other's route.
    """
    app = FastAPI()
    if kind == "cadence":
        checkout = (
            Cadence("checkout", OrderScore(order_id="T"))
            .then("fetch", fetch)
            .then("tax", tax)
            .then("pay", pay)
        )
        router = CadenceRouter()

        @router.cadence("/cadence/{order_id}", checkout)
        async def create(order_id: str) -> OrderScore:
            return OrderScore(order_id=order_id)

        app.include_router(router)
        return app

    plain_router = APIRouter()

    @plain_router.post("/plain/{order_id}")
    async def plain(order_id: str) -> Any:
        score = OrderScore(order_id=order_id)
        await fetch(score)
        await tax(score)
        await pay(score)
        return score

    app.include_router(plain_router)
    return app


async def _asgi_call(app: Any, path: str) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def _load(call: Any, kind: str, requests: int, cpu: Any) -> tuple[float, float]:
    """Requests per wall second and per CPU second for ``requests`` calls.

    ``cpu()`` reads the CPU seconds of whoever serves the requests. Per-CPU-second rates are
    what the ratio uses: on a shared machine wall time swings with other processes' load, the
    CPU a request costs the server does not.
    """
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            status = await call(f"/{kind}/o{i}")
            assert status == 200, status

    c0, t0 = cpu(kind), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall, used = time.perf_counter() - t0, cpu(kind) - c0
    return requests / wall, requests / max(used, 1e-9)


async def _compare(call: Any, requests: int, rounds: int, cpu: Any) -> dict[str, float]:
    for kind in ("plain", "cadence"):  # warm-up
        await _load(call, kind, requests // 4, cpu)
    best = {"plain": [0.0, 0.0], "cadence": [0.0, 0.0]}
    for r in range(rounds):
        order = ("plain", "cadence") if r % 2 == 0 else ("cadence", "plain")
        for kind in order:
            wall, per_cpu = await _load(call, kind, requests, cpu)
            best[kind] = [max(best[kind][0], wall), max(best[kind][1], per_cpu)]
    return {
        "plain_rps_wall": round(best["plain"][0]),
        "cadence_rps_wall": round(best["cadence"][0]),
        "plain_rps_per_cpu": round(best["plain"][1]),
        "cadence_rps_per_cpu": round(best["cadence"][1]),
        "ratio": round(best["cadence"][1] / best["plain"][1], 3),
    }


async def bench_asgi(requests: int, rounds: int) -> dict[str, float]:
    apps = {kind: build_app(kind) for kind in ("plain", "cadence")}

    async def call(path: str) -> int:
        return await _asgi_call(apps[path.split("/")[1]], path)

    return await _compare(call, requests, rounds, lambda kind: time.process_time())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_servers() -> tuple[dict[str, int], list[subprocess.Popen[bytes]]]:
    """One uvicorn subprocess per endpoint kind, each on its own free loopback port."""
    ports = {kind: _free_port() for kind in ("plain", "cadence")}
    servers = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for kind, port in ports.items()
    ]
    return ports, servers


async def bench_http(
    requests: int, rounds: int, ports: dict[str, int], pids: dict[str, int]
) -> dict[str, float]:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    clients = {
        kind: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30)
        for kind, port in ports.items()
    }
    try:
        for kind, client in clients.items():
            for _ in range(200):
                try:
                    await client.post(f"/{kind}/ready")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)

        async def call(path: str) -> int:
            return (await clients[path.split("/")[1]].post(path)).status_code

        return await _compare(call, requests, rounds, lambda kind: _cpu_seconds(pids[kind]))
    finally:
        for client in clients.values():
            await client.aclose()


def serve(kind: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(kind), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", choices=["plain", "cadence"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    report: dict[str, Any] = {"asgi": asyncio.run(bench_asgi(args.requests, args.rounds))}
    ports, servers = start_servers()
    try:
        pids = dict(zip(ports, (s.pid for s in servers), strict=True))
        report["http"] = asyncio.run(bench_http(args.requests // 2, args.rounds, ports, pids))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    report["target_ratio"] = 0.9
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
