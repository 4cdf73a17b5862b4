"""Running sync functions under a time limit without signals: one worker thread per call.

Python cannot stop a running thread, so a sync function that overruns its timeout keeps
running after the caller has been given ``TimeoutError``. Rather than pretending otherwise (or
using ``SIGALRM``, which works only in the main thread and not on Windows), the thread is
*abandoned*: it is counted, logged, and forgotten when it finally returns. The number of
abandoned threads alive at once is bounded; past the bound new time-limited sync calls fail
fast with a ``CadenceError`` instead of piling up threads that may never finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cadence.exceptions import CadenceError, TimeoutError
from cadence.resilience._deadline import start_deadline

__all__ = [
    "AbandonedThread",
    "abandoned_threads",
    "call_in_thread",
    "call_in_thread_async",
    "set_abandoned_thread_limit",
]

logger = logging.getLogger("cadence.resilience")

_lock = threading.Lock()
_abandoned: dict[int, _Call] = {}
_limit = 64


@dataclass(frozen=True, slots=True)
class AbandonedThread:
    """A worker thread still running a call whose caller already got ``TimeoutError``."""

    name: str
    thread_name: str
    running_for: float


class _Call:
    __slots__ = (
        "abandoned",
        "done",
        "error",
        "finished",
        "ident",
        "name",
        "notify",
        "result",
        "started",
        "thread_name",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = threading.Event()
        self.finished = False
        self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.notify: Callable[[], None] | None = None
        self.started = time.monotonic()
        self.ident: int | None = None
        self.thread_name = ""


def abandoned_threads() -> list[AbandonedThread]:
    """The worker threads abandoned by a timeout that are still running, for metrics."""
    now = time.monotonic()
    with _lock:
        calls = list(_abandoned.items())
    return [AbandonedThread(call.name, call.thread_name, now - call.started) for _, call in calls]


def set_abandoned_thread_limit(limit: int) -> int:
    """Set how many abandoned worker threads may run at once; returns the previous limit."""
    global _limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"the abandoned thread limit must be an int >= 1, got {limit!r}")
    with _lock:
        previous, _limit = _limit, limit
    return previous


def _start(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
) -> _Call:
    with _lock:
        if len(_abandoned) >= _limit:
            raise CadenceError(
                f"cannot run {name!r} with a timeout: {len(_abandoned)} worker threads abandoned "
                f"by earlier timeouts are still running (limit {_limit}). The sync function "
                "ignores its timeout and never returns; make it return (set timeouts on its "
                "I/O), use an async function, or raise the limit with "
                "cadence.resilience.set_abandoned_thread_limit()",
                "TOO_MANY_ABANDONED_THREADS",
                {"note_name": name, "abandoned": len(_abandoned), "limit": _limit},
            )
    call = _Call(name)
    context = contextvars.copy_context()

    def run() -> None:
        try:
            call.result = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # handed to the caller, who decides
            call.error = exc
        finally:
            with _lock:
                call.finished = True
                was_abandoned = call.abandoned
                if was_abandoned:
                    _abandoned.pop(threading.get_ident(), None)
            call.done.set()
            if was_abandoned:
                logger.info(
                    "abandoned worker thread for %r finished after %.3fs",
                    name,
                    time.monotonic() - call.started,
                )
            elif call.notify is not None:
                call.notify()

    thread = threading.Thread(target=run, name=f"cadence-timeout-{name}", daemon=True)
    call.thread_name = thread.name
    thread.start()
    call.ident = thread.ident
    return call


def _abandon(call: _Call) -> bool:
    """Mark ``call`` abandoned; ``False`` if it finished meanwhile (then use its result)."""
    with _lock:
        if call.finished:
            return False
        call.abandoned = True
        if call.ident is not None:
            _abandoned[call.ident] = call
        count = len(_abandoned)
    logger.warning(
        "%r overran its time limit; its worker thread keeps running, abandoned "
        "(%d abandoned threads running, limit %d)",
        call.name,
        count,
        _limit,
    )
    return True


def _outcome(call: _Call) -> Any:
    if call.error is not None:
        raise call.error
    return call.result


def _timeout_error(name: str, limit: float, what: str) -> TimeoutError:
    return TimeoutError(
        f"{name!r} exceeded its {what} of {limit:g}s", timeout=limit, note_name=name
    )


def call_in_thread(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    limit: float,
    name: str,
    what: str = "timeout",
) -> Any:
    """Call sync ``fn`` in a worker thread, waiting at most ``limit`` seconds of real time."""
    call = _start(fn, args, kwargs, name)
    if not call.done.wait(limit) and _abandon(call):
        raise _timeout_error(name, limit, what)
    return _outcome(call)


async def call_in_thread_async(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    limit: float,
    name: str,
    what: str = "timeout",
) -> Any:
    """Await sync ``fn`` run in a worker thread, giving up after ``limit`` seconds.

    The wait is measured on the installed clock, and cancelling the awaiting task abandons the
    thread the same way a timeout does (the thread cannot be stopped either way).
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    def notify() -> None:
        # RuntimeError: the loop closed while the thread ran; nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake)

    call = _start(fn, args, kwargs, name)
    call.notify = notify
    if call.done.is_set():
        wake()
    deadline = start_deadline(limit)
    task = deadline.task
    cancelling = task.cancelling()
    try:
        await done
    except asyncio.CancelledError as exc:
        if _abandon(call) or not deadline.expired:
            if deadline.expired and task.uncancel() <= cancelling:
                raise _timeout_error(name, limit, what) from exc
            raise
        # It finished in the instant the deadline passed: honour the result, drop our cancel.
        task.uncancel()
    finally:
        deadline.finish()
    return _outcome(call)
