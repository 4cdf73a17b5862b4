"""Web integration benchmark: a ``@router.cadence`` endpoint against a plain FastAPI endpoint.

Both endpoints build the same score from the path, await the same three notes and answer the
same JSON. Rounds rotate between them under the same load, in one run, and the report is the
ratio of requests per CPU second of the serving process (target: cadence / plain >= 0.9); wall
rates are printed too but swing with other load on a shared machine. The plain endpoint is
measured twice, on two independent apps/servers (``plain`` and ``control``): ``ratio`` is
cadence against their mean, and ``control_ratio`` (plain vs plain) shows the noise floor of the
measurement on this machine. Two loads:

1. ``asgi``: requests driven straight into the ASGI app in-process (no sockets, no client
   library), so the framework and integration overhead is all that is measured;
2. ``http``: uvicorn subprocesses on loopback, ``httpx.AsyncClient`` with 16 concurrent
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


LABELS = {"plain": "plain", "cadence": "cadence", "control": "plain"}
"""Measured endpoints: label -> kind served. ``control`` is a second, independent plain server
(or app): its ratio to ``plain`` shows the noise floor of the measurement on this machine."""


async def _load(call: Any, label: str, requests: int, cpu: Any) -> tuple[float, float]:
    """Requests per wall second and per CPU second for ``requests`` calls.

    ``cpu(label)`` reads the CPU seconds of whoever serves the requests. Per-CPU-second rates
    are what the ratio uses: on a shared machine wall time swings with other processes' load,
    the CPU a request costs the server much less so.
    """
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            status = await call(label, i)
            assert status == 200, status

    c0, t0 = cpu(label), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall, used = time.perf_counter() - t0, cpu(label) - c0
    return requests / wall, requests / max(used, 1e-9)


async def _compare(call: Any, requests: int, rounds: int, cpu: Any) -> dict[str, float]:
    for label in LABELS:  # warm-up
        await _load(call, label, requests // 4, cpu)
    best = {label: [0.0, 0.0] for label in LABELS}
    order = list(LABELS)
    for _ in range(rounds):
        for label in order:
            wall, per_cpu = await _load(call, label, requests, cpu)
            best[label] = [max(best[label][0], wall), max(best[label][1], per_cpu)]
        order.append(order.pop(0))  # rotate so no endpoint always runs first
    report: dict[str, float] = {}
    for label in LABELS:
        report[f"{label}_rps_wall"] = round(best[label][0])
        report[f"{label}_rps_per_cpu"] = round(best[label][1])
    # Two independent plain measurements: compare with their mean, show their spread.
    baseline = (best["plain"][1] + best["control"][1]) / 2
    report["ratio"] = round(best["cadence"][1] / baseline, 3)
    report["control_ratio"] = round(best["control"][1] / best["plain"][1], 3)
    return report


async def bench_asgi(requests: int, rounds: int) -> dict[str, float]:
    apps = {label: build_app(kind) for label, kind in LABELS.items()}

    async def call(label: str, i: int) -> int:
        return await _asgi_call(apps[label], f"/{LABELS[label]}/o{i}")

    return await _compare(call, requests, rounds, lambda label: time.process_time())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


Servers = dict[str, tuple[int, "subprocess.Popen[bytes]"]]


def start_servers() -> Servers:
    """One uvicorn subprocess per label, each on its own free loopback port."""
    servers: Servers = {}
    for label, kind in LABELS.items():
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers[label] = (port, server)
    return servers


async def bench_http(requests: int, rounds: int, servers: Servers) -> dict[str, float]:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    clients = {
        label: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30)
        for label, (port, _) in servers.items()
    }
    try:
        for label, client in clients.items():
            for _ in range(200):
                try:
                    await client.post(f"/{LABELS[label]}/ready")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)

        async def call(label: str, i: int) -> int:
            return (await clients[label].post(f"/{LABELS[label]}/o{i}")).status_code

        return await _compare(
            call, requests, rounds, lambda label: _cpu_seconds(servers[label][1].pid)
        )
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
    servers = start_servers()
    try:
        report["http"] = asyncio.run(bench_http(args.requests // 2, args.rounds, servers))
    finally:
        for _, server in servers.values():
            server.terminate()
            server.wait(10)
    report["target_ratio"] = 0.9
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
