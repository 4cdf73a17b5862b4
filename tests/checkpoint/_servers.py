"""Start throwaway redis-server and PostgreSQL instances for tests and benchmarks.

Both fail loudly when the Debian packages are missing (``apt-get install redis-server
postgresql``): a durability suite that silently skips its real stores proves nothing.
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise RuntimeError(
            f"{name} not found: install the Debian packages (apt-get install redis-server postgresql)"
        )
    return found


def start_redis() -> tuple[str, Callable[[], None]]:
    """Start redis-server on a free port; returns its URL and a stop function."""
    port = free_port()
    proc = subprocess.Popen(
        [
            _binary("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port, 10, proc)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    return f"redis://127.0.0.1:{port}/0", stop


def start_postgres() -> tuple[str, Callable[[], None]]:
    """initdb + pg_ctl into a temp dir on a free port; returns a DSN and a stop function."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="cadence-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        os.chmod(root, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run(pg_ctl, "-D", str(data), "-l", str(root / "log"), "-o", opts, "-w", "start")

    def stop() -> None:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop
