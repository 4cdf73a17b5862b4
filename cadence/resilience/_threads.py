"""Running sync functions under a time limit without signals, on a bounded pool of threads.

Python cannot stop a running thread, so a sync function that overruns its timeout keeps
running after the caller has been given ``TimeoutError``. Rather than pretending otherwise (or
using ``SIGALRM``, which works only in the main thread and not on Windows), the thread is
*abandoned*: it is counted, logged, and forgotten when it finally returns.

Calls run on a pool of at most ``set_timeout_workers()`` threads (32 by default) started on
demand and ended after a minute idle, so 1,000 concurrent runs with a timed sync note use 32
threads, not 1,000. A call waits in line for a free worker and that wait counts toward its time
limit; a call whose time runs out while it waits is dropped without ever running. An abandoned
thread leaves the pool (a new worker takes its place), and the number of abandoned threads
alive at once is bounded too: past ``set_abandoned_thread_limit()`` new time-limited sync calls
fail fast with a ``CadenceError`` instead of piling up threads that may never finish. A timed
call made from inside a pool worker (a timed function calling another) gets a thread of its
own, so nested timeouts can never deadlock the pool.
"""

from __future__ import annotations

import asyncio
import collections
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
    "given_up",
    "set_abandoned_thread_limit",
    "set_timeout_workers",
    "timeout_workers",
]

logger = logging.getLogger("cadence.resilience")

_IDLE_SECONDS = 60.0
"""A pool worker with nothing to do for this long ends (the pool shrinks back when idle)."""

_lock = threading.Lock()
_work = threading.Condition(_lock)
_abandoned: dict[int, _Call] = {}
_limit = 64
_queue: collections.deque[_Call] = collections.deque()
_max_workers = 32
_workers = 0  # pool threads alive and not abandoned
_idle = 0  # of which waiting for work and not yet woken
_wakeups = 0  # workers woken by _dispatch that have not yet noticed
_in_worker = threading.local()
_running = threading.local()  # .call: the timed call this thread is running, if any


@dataclass(frozen=True, slots=True)
class AbandonedThread:
    """A worker thread still running a call whose caller already got ``TimeoutError``."""

    name: str
    thread_name: str
    running_for: float


class _Call:
    __slots__ = (
        "abandoned",
        "args",
        "context",
        "done",
        "error",
        "finished",
        "fn",
        "ident",
        "kwargs",
        "name",
        "notify",
        "parent",
        "pooled",
        "result",
        "started",
        "thread_name",
    )

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
    ) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.context = contextvars.copy_context()
        self.name = name
        self.done = threading.Event()
        self.finished = False
        self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.notify: Callable[[], None] | None = None
        self.started: float | None = None  # None while it waits for a worker
        self.ident: int | None = None
        self.pooled = False
        self.thread_name = ""
        # The timed call whose thread started this one (a timed function calling another):
        # when its caller gives up, this call's caller is gone too.
        self.parent: _Call | None = getattr(_running, "call", None)


def abandoned_threads() -> list[AbandonedThread]:
    """The worker threads abandoned by a timeout that are still running, for metrics."""
    now = time.monotonic()
    with _lock:
        calls = list(_abandoned.values())
    return [AbandonedThread(c.name, c.thread_name, now - (c.started or now)) for c in calls]


def set_abandoned_thread_limit(limit: int) -> int:
    """Set how many abandoned worker threads may run at once; returns the previous limit."""
    global _limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"the abandoned thread limit must be an int >= 1, got {limit!r}")
    with _lock:
        previous, _limit = _limit, limit
    return previous


def set_timeout_workers(workers: int) -> int:
    """Set how many threads run timed sync calls at once (default 32); returns the previous.

    Raise it for many concurrent timed sync notes that wait on I/O; calls beyond it wait for a
    free worker, and that wait counts toward their time limit.
    """
    global _max_workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"the number of timeout workers must be an int >= 1, got {workers!r}")
    global _idle, _wakeups
    with _lock:
        previous, _max_workers = _max_workers, workers
        retire = min(_idle, _workers - _max_workers)
        if retire > 0:  # wake idle workers so the surplus ends now, not after an idle minute
            _idle -= retire
            _wakeups += retire
            _work.notify(retire)
        _dispatch()
    return previous


def timeout_workers() -> tuple[int, int]:
    """``(alive, busy)`` pool threads running timed sync calls, for metrics and tests."""
    with _lock:
        return _workers, _workers - _idle


def given_up() -> bool:
    """Whether the caller of the timed call running on this thread stopped waiting for it.

    True in a thread abandoned by a timeout (or by cancelling the task awaiting it), also when
    it was the caller of an enclosing timed call that gave up. Python cannot stop the thread,
    but cadence's own loops ask this before starting more work: a retry in an abandoned
    thread makes no further attempt (no second charge nobody waits for).
    """
    call: _Call | None = getattr(_running, "call", None)
    while call is not None:
        if call.abandoned:
            return True
        call = call.parent
    return False


def _run(call: _Call) -> None:
    """Run ``call`` on the current thread and hand its outcome to the caller."""
    thread = threading.current_thread()
    pool_name = thread.name
    thread.name = call.thread_name = f"cadence-timeout-{call.name}"
    _running.call = call
    try:
        call.result = call.context.run(call.fn, *call.args, **call.kwargs)
    except BaseException as exc:  # handed to the caller, who decides
        call.error = exc
    finally:
        _running.call = None
        thread.name = pool_name
        call.fn = call.args = call.kwargs = None  # type: ignore[assignment]
        with _lock:
            call.finished = True
            was_abandoned = call.abandoned
            if was_abandoned:
                _abandoned.pop(threading.get_ident(), None)
        call.done.set()
        if was_abandoned:
            logger.info(
                "abandoned worker thread for %r finished after %.3fs",
                call.name,
                time.monotonic() - (call.started or 0.0),
            )
        elif call.notify is not None:
            call.notify()


def _worker() -> None:
    """A pool thread: run queued calls until idle for a minute, or until abandoned."""
    global _workers, _idle, _wakeups
    _in_worker.active = True
    while True:
        with _lock:
            while True:
                if _workers > _max_workers:  # the pool was made smaller
                    _workers -= 1
                    return
                if _queue:
                    break
                _idle += 1
                woke = _work.wait(_IDLE_SECONDS)
                if _wakeups:  # _dispatch counted a waiter out of _idle: that was us
                    _wakeups -= 1
                else:
                    _idle -= 1
                if not woke and not _queue:  # idle for a minute: end
                    _workers -= 1
                    return
            call = _queue.popleft()
            call.started = time.monotonic()
            call.ident = threading.get_ident()
            call.pooled = True
        _run(call)
        if call.abandoned:
            return  # this thread already left the pool; a new worker took its place


def _dispatch() -> None:
    """Wake idle workers for waiting calls and start new ones up to the limit (under ``_lock``)."""
    global _workers, _idle, _wakeups
    waiting = len(_queue)
    wake = min(waiting, _idle)
    if wake > 0:
        _idle -= wake  # counted out here, so the next dispatch does not count them again
        _wakeups += wake
        _work.notify(wake)
    for _ in range(min(waiting - wake, _max_workers - _workers)):
        _workers += 1
        threading.Thread(target=_worker, name="cadence-timeout-worker", daemon=True).start()


def _start(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
) -> _Call:
    call = _Call(fn, args, kwargs, name)
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
        if not getattr(_in_worker, "active", False):
            _queue.append(call)
            _dispatch()
            return call
        # A timed call from inside a pool worker: its own thread, or nested timeouts could
        # wait forever for workers that are all waiting for them.
        call.started = time.monotonic()
    thread = threading.Thread(target=_run, args=(call,), daemon=True)
    thread.start()
    call.ident = thread.ident
    return call


def _abandon(call: _Call) -> bool:
    """Give up on ``call``; ``False`` if it finished meanwhile (then use its result).

    A call still waiting for a worker is dropped and never runs; a running one is abandoned and
    its thread leaves the pool.
    """
    global _workers
    with _lock:
        if call.finished:
            return False
        if call.started is None:
            _queue.remove(call)
            call.finished = True
            return True
        call.abandoned = True
        if call.ident is not None:
            _abandoned[call.ident] = call
        if call.pooled:  # its thread leaves the pool; another worker may take its place
            _workers -= 1
            _dispatch()
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
