"""``@note(retry=, timeout=, fallback=)``: parsing, order of policies, tenacity, stacking."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
import tenacity

from cadence import Cadence, CadenceHooks, Score, note
from cadence._callables import is_async_callable
from cadence.exceptions import CadenceDefinitionError, RetryExhaustedError
from cadence.resilience import circuit_breaker, fallback, retry, timeout
from cadence.testing import FakeClock, testing_mode


@dataclass
class Job(Score):
    """A score counting attempts."""

    attempts: int = 0
    result: Any = None
    context: list[str] = field(default_factory=list)
    thread: str = ""


async def test_timeout_applies_to_each_attempt(clock: FakeClock) -> None:
    """retry=3, timeout=1: two attempts time out, the third succeeds within its own second."""

    @note(retry={"max_attempts": 3, "delay": 0.5, "jitter": False}, timeout=1.0)
    async def call(score: Job) -> None:
        score.attempts += 1
        await clock.sleep(5.0 if score.attempts < 3 else 0.5)
        score.result = "done"

    start = clock.now
    job = Job()
    await call(job)
    assert (job.attempts, job.result) == (3, "done")
    assert clock.now - start == pytest.approx(1.0 + 0.5 + 1.0 + 0.5 + 0.5)


async def test_fallback_is_outermost(clock: FakeClock) -> None:
    """Fallback fires once, after every attempt failed."""

    @note(retry=3, fallback={"default": ["cached"], "field": "context"})
    async def search(score: Job) -> None:
        score.attempts += 1
        raise ConnectionError("search down")

    job = Job()
    await search(job)
    assert job.attempts == 3
    assert job.context == ["cached"]


async def test_fallback_handler_sees_retry_exhaustion(clock: FakeClock) -> None:
    """A fallback handler receives the RetryExhaustedError of the retry inside it."""
    seen: list[BaseException] = []

    def handler(score: Job, error: BaseException) -> str:
        seen.append(error)
        return "degraded"

    @note(retry=2, fallback={"handler": handler, "field": "result"})
    async def call(score: Job) -> None:
        raise ConnectionError("down")

    job = Job()
    await call(job)
    assert job.result == "degraded"
    assert isinstance(seen[0], RetryExhaustedError)
    assert seen[0].attempts == 2


async def test_sync_note_attempts_run_in_worker_threads(clock: FakeClock) -> None:
    """A sync note with policies runs each attempt off the event loop's thread."""

    @note(retry=2, timeout=5.0)
    def blocking(score: Job) -> None:
        score.thread = threading.current_thread().name

    job = Job()
    await blocking(job)
    assert job.thread != threading.current_thread().name


async def test_seed_style_notes_run_in_a_cadence(clock: FakeClock) -> None:
    """The seed's RAG notes (timeout, fallback to a field, retry dict) run in a cadence."""

    @dataclass
    class RAG(Score):
        query: str = "What is Cadence?"
        context: list[str] = field(default_factory=list)
        answer: str = ""

    @note(timeout=5.0)
    async def retrieve(score: RAG) -> None:
        score.context = ["doc"]

    @note(fallback={"default": [], "field": "context"}, timeout=10.0)
    async def web_search(score: RAG) -> None:
        raise ConnectionError("search API down")

    @note(retry={"max_attempts": 3, "backoff": "exponential"}, timeout=30.0)
    async def generate(score: RAG) -> None:
        score.answer = f"{score.query} -> {score.context}"

    result = await (
        Cadence("rag", RAG())
        .sync("retrieve", [retrieve, web_search])
        .then("generate", generate)
        .run()
    )
    assert result.answer == "What is Cadence? -> ['doc']"


async def test_tenacity_async_retrying_as_note_retry(clock: FakeClock) -> None:
    """A tenacity AsyncRetrying works as @note(retry=...), waiting on the cadence clock."""
    policy = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_fixed(7), reraise=False
    )

    @note(retry=policy)
    async def call(score: Job) -> None:
        score.attempts += 1
        if score.attempts < 3:
            raise ConnectionError("flaky")
        score.result = "ok"

    job = Job()
    await call(job)
    assert (job.attempts, job.result) == (3, "ok")
    assert clock.sleeps == [7.0, 7.0]


async def test_tenacity_exhaustion_and_hooks(clock: FakeClock) -> None:
    """Tenacity exhaustion raises RetryExhaustedError; run hooks see each retry."""
    seen: list[tuple[str, int, int]] = []

    class Hooks(CadenceHooks):
        async def on_retry(
            self, note_name: str, score: Any, attempt: int, max_attempts: int, error: BaseException
        ) -> None:
            seen.append((note_name, attempt, max_attempts))

    @note(retry=tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(3)))
    async def call(score: Job) -> None:
        score.attempts += 1
        raise ConnectionError("down")

    with pytest.raises(Exception) as info:
        await Cadence("t", Job()).with_hooks(Hooks()).then("call", call).run()
    chain = [info.value, info.value.__cause__, getattr(info.value, "original_error", None)]
    exhausted = [e for e in chain if isinstance(e, RetryExhaustedError)]
    assert exhausted and exhausted[0].attempts == 3
    assert seen == [("call", 1, 3), ("call", 2, 3)]


async def test_tenacity_never_retries_cancellation(clock: FakeClock) -> None:
    """Even a tenacity policy told to retry BaseException does not retry CancelledError."""
    policy = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(5),
        retry=tenacity.retry_if_exception_type(BaseException),
    )
    calls: list[int] = []

    @note(retry=policy)
    async def call(score: Job) -> None:
        calls.append(1)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await call(Job())
    assert calls == [1]


async def test_tenacity_sync_retrying_is_accepted(clock: FakeClock) -> None:
    """A sync tenacity Retrying is converted, so its waits never block the event loop."""

    @note(retry=tenacity.Retrying(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_fixed(3)))
    async def call(score: Job) -> None:
        score.attempts += 1
        if score.attempts == 1:
            raise ConnectionError("once")

    job = Job()
    await call(job)
    assert job.attempts == 2
    assert clock.sleeps == [3.0]


async def test_testing_mode_caps_note_attempts() -> None:
    """Inside testing_mode() a retry=5 note makes one attempt and never sleeps for real."""

    @note(retry={"max_attempts": 5, "delay": 30.0})
    async def call(score: Job) -> None:
        score.attempts += 1
        raise ConnectionError("down")

    job = Job()
    with testing_mode() as clock, pytest.raises(RetryExhaustedError):
        await call(job)
    assert job.attempts == 1
    assert clock.sleeps == []


async def test_standalone_decorators_stack_on_notes(store: Any, clock: FakeClock) -> None:
    """@circuit_breaker/@retry/@timeout/@fallback above @note keep its name and async-ness."""

    @circuit_breaker(failure_threshold=5, recovery_timeout=30.0, store=store)
    @retry(2, delay=0)
    @timeout(5.0)
    @fallback(default="fallback", field="result")
    @note(name="fragile")
    async def fragile(score: Job) -> None:
        raise ConnectionError("down")

    assert fragile.note_name == "fragile"
    assert is_async_callable(fragile)
    assert fragile._cadence_is_async is True
    assert fragile.breaker.name == "fragile"
    job = Job()
    await fragile(job)
    assert job.result == "fallback"

    @retry(2, delay=0)
    @note
    def sync_step(score: Job) -> None:
        score.attempts += 1

    assert sync_step.note_name == "sync_step"
    assert not is_async_callable(sync_step)
    result = await Cadence("s", Job()).then("sync_step", sync_step).run()
    assert result.attempts == 1


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"retry": 0}, ["'flaky'", "max_attempts must be an int >= 1", "retry=3"]),
        ({"retry": True}, ["retry must be a number of attempts"]),
        ({"retry": "3"}, ["retry must be a number of attempts", "got str"]),
        ({"retry": {"attempts": 3}}, ["unknown retry option", "did you mean 'max_attempts'"]),
        ({"retry": {"backoff": "random"}}, ["backoff must be one of"]),
        ({"timeout": -1}, ["'flaky'", "timeout must be a positive number"]),
        ({"timeout": "5s"}, ["timeout must be a positive number", "timeout=5.0"]),
        ({"fallback": "unknown"}, ["fallback must be a dict", '"field"']),
        ({"fallback": {"defualt": 1}}, ["unknown fallback option", "did you mean 'default'"]),
        ({"fallback": {"field": 3}}, ["fallback field must be the name"]),
    ],
)
def test_invalid_note_options_say_how_to_fix(options: dict[str, Any], fragments: list[str]) -> None:
    """Invalid @note options raise CadenceDefinitionError naming the note, option and fix."""
    with pytest.raises(CadenceDefinitionError) as info:

        @note(**options)
        async def flaky(score: Job) -> None: ...

    for fragment in fragments:
        assert fragment in str(info.value)


async def test_policy_objects_are_accepted_inline(clock: FakeClock) -> None:
    """Retry, Timeout and Fallback objects work as @note options, like their dict forms."""
    from cadence.resilience import Retry, Timeout

    @note(
        retry=Retry(2, delay=3.0, jitter=False),
        timeout=Timeout(1.0),
        fallback=fallback(default="gave up", field="result"),
    )
    async def call(score: Job) -> None:
        score.attempts += 1
        await clock.sleep(10.0)

    job = Job()
    await call(job)
    assert (job.attempts, job.result) == (2, "gave up")
    assert clock.sleeps == [10.0, 3.0, 10.0]


async def test_cancelling_a_run_stops_a_retrying_note() -> None:
    """Cancelling a cadence run while its note waits to retry starts no further attempt."""
    with FakeClock(auto_advance=False) as clock:

        @note(retry={"max_attempts": 10, "delay": 5.0})
        async def flaky(score: Job) -> None:
            score.attempts += 1
            raise ConnectionError("down")

        job = Job()
        run = asyncio.create_task(Cadence("cancelled", job).then("flaky", flaky).run())
        for _ in range(5):
            await asyncio.sleep(0)
        assert job.attempts == 1
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        clock.advance(100.0)
        for _ in range(5):
            await asyncio.sleep(0)
        assert job.attempts == 1


# --- a sync attempt given up on never writes the score ---------------------------------------


@dataclass
class _Lookup(Score):
    status: str = "pending"
    attempt: int = -1
    log: list[str] = field(default_factory=list)


def test_a_timed_out_sync_note_cannot_overwrite_the_fallback_after_the_run() -> None:
    """The abandoned thread finishes later; what it writes does not reach the run's score."""
    release, finished = threading.Event(), threading.Event()

    @note(timeout=0.05, fallback={"default": "timed out", "field": "status"})
    def slow_lookup(score: _Lookup) -> None:
        release.wait(10)
        score.status = "late write"
        score.log.append("late")
        finished.set()

    result = Cadence("c", _Lookup()).then("lookup", slow_lookup).run_sync()
    assert result.status == "timed out"
    release.set()
    assert finished.wait(10)
    assert (result.status, result.log) == ("timed out", [])


def test_a_retried_sync_attempt_given_up_on_cannot_overwrite_the_winner() -> None:
    """Attempt 1 hangs and is abandoned, attempt 2 wins; attempt 1 finishing later changes
    nothing, and its writes before it was given up on are not kept either."""
    release, finished = threading.Event(), threading.Event()
    calls: list[int] = []

    @note(retry={"max_attempts": 3, "delay": 0}, timeout=0.05)
    def flaky(score: _Lookup) -> None:
        n = len(calls)
        calls.append(n)
        score.log.append(f"attempt{n}")
        if n == 0:
            release.wait(10)
            score.attempt = 0
            finished.set()
            return
        score.attempt = n

    result = Cadence("c", _Lookup()).then("flaky", flaky).run_sync()
    assert (result.attempt, result.log) == (1, ["attempt1"])
    release.set()
    assert finished.wait(10)
    assert (result.attempt, result.log) == (1, ["attempt1"])


def test_a_timed_sync_note_that_fails_in_time_keeps_its_writes_as_before() -> None:
    """An attempt that ends in time (raising) is not given up on: what it wrote stands, and a
    returned score is still the note's result."""

    @note(timeout=5, fallback={"default": "fell back", "field": "status"})
    def fails(score: _Lookup) -> None:
        score.log.append("tried")
        raise RuntimeError("down")

    @note(timeout=5)
    def returns(score: _Lookup) -> _Lookup:
        return _Lookup(status="replaced")

    failed = Cadence("c", _Lookup()).then("fails", fails).run_sync()
    assert (failed.status, failed.log) == ("fell back", ["tried"])
    assert Cadence("c", _Lookup()).then("returns", returns).run_sync().status == "replaced"


def test_a_timed_sync_note_in_a_group_works_on_its_task_view() -> None:
    """Inside a .sync group the score is already a view: the note's writes still merge."""

    @note(timeout=5)
    def tag(score: _Lookup) -> None:
        score.log.append("tagged")
        score.status = "tagged"

    result = (
        Cadence("c", _Lookup(log=["start"]))
        .sync("g", [tag, lambda s: s.log.append("other")])
        .run_sync()
    )
    assert result.status == "tagged"
    assert result.log == ["start", "tagged", "other"]
