"""An audit-hook recorder: proves generated text is never executed, imported or opened."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from cadence.validate import COMPOSITION_FILENAME

#: Events that would mean model text got power: code run, modules loaded, files or processes.
SENSITIVE = (
    "exec",
    "compile",
    "import",
    "open",
    "os.system",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "subprocess.Popen",
    "socket.connect",
    "ctypes.dlopen",
    "builtins.input",
    "os.remove",
    "shutil.rmtree",
)


class Audit:
    """Records sensitive audit events while armed (the hook itself stays for the process)."""

    def __init__(self) -> None:
        self.armed = False
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed or not event.startswith(SENSITIVE):
            return
        if event == "compile" and len(args) > 1 and args[1] == COMPOSITION_FILENAME:
            return  # ast.parse of the composition: builds a tree, runs nothing
        self.events.append((event, args[:2]))

    def arm(self) -> None:
        self.events = []
        self.armed = True

    def disarm(self) -> list[tuple[str, tuple[Any, ...]]]:
        self.armed = False
        return list(self.events)


_AUDIT = Audit()
sys.addaudithook(_AUDIT.hook)


@pytest.fixture
def audit() -> Iterator[Audit]:
    """The process-wide recorder, disarmed after the test."""
    yield _AUDIT
    _AUDIT.armed = False
