"""Starting ``.sync`` tasks, and waiting for a group to finish or for its first failure.

On Python 3.12+ each task is an *eager* ``asyncio.Task``: its first step runs at once, inside
the task (so ``asyncio.current_task()``, ``asyncio.timeout`` and contextvars behave exactly as
in any task), and a task that finishes without ever waiting costs no trip through the event
loop. Python 3.11 has no eager tasks; there every task is scheduled normally. (An earlier
version emulated eager start on 3.11 by running the first step inline, but that step then saw the
*caller* as the current task, so a timeout inside a task cancelled the whole run.)

``wait_first_failure`` replaces ``asyncio.gather``: one future and one done-callback per task,
resolving when all tasks have finished or as soon as one fails, so the group can cancel the rest.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

__all__ = ["start", "wait_first_failure"]

_NATIVE_EAGER = sys.version_info >= (3, 12)


def start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Start ``coro`` as a task; eagerly (first step now) where the interpreter supports it."""
    if _NATIVE_EAGER:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


async def wait_first_failure(tasks: Sequence[asyncio.Task[Any]]) -> asyncio.Task[Any] | None:
    """Wait until every task is done; return the first task that failed, or ``None``.

    Returns early, with the other tasks still running, as soon as one fails. Cancelling the
    waiter does not cancel the tasks: the caller decides what to do with them.
    """
    pending = [t for t in tasks if not t.done()]
    for t in tasks:
        if t.done() and (t.cancelled() or t.exception() is not None):
            return t
    if not pending:
        return None
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[asyncio.Task[Any] | None] = loop.create_future()
    remaining = len(pending)

    def on_done(task: asyncio.Task[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if waiter.done():
            return
        if task.cancelled() or task.exception() is not None:
            waiter.set_result(task)
        elif remaining == 0:
            waiter.set_result(None)

    for t in pending:
        t.add_done_callback(on_done)
    try:
        return await waiter
    finally:
        for t in pending:
            t.remove_done_callback(on_done)
