"""0.7.2's core names, used as its documentation uses them, keep working."""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass, field

import pytest

import cadence
from cadence import (
    Cadence,
    CircuitOpenError,
    MergeStrategy,
    NoteError,
    ParallelNoteError,
    RetryExhaustedError,
    Score,
    Skip,
    TimeoutError,
    note,
)
from cadence.resilience import get_circuit

ALL_072 = [  # cadence.__all__ of cadence-orchestration 0.7.2
    "Cadence", "Score", "ImmutableScore", "note", "Note", "Atomic", "AtomicList", "AtomicDict",
    "MergeConflict", "MergeStrategy", "merge_snapshots", "Result", "Ok", "Err", "ok", "err",
    "CadenceError", "NoteError", "ParallelNoteError", "Skip", "TimeoutError",
    "RetryExhaustedError", "CircuitOpenError", "retry", "timeout", "fallback", "circuit_breaker",
    "CircuitBreaker", "CircuitState", "console_reporter", "json_reporter", "CadenceHooks",
    "HooksManager", "LoggingHooks", "TimingHooks", "MetricsHooks", "TracingHooks", "DebugHooks",
    "CadenceEvent", "EventEmitter", "NOTE_STARTED", "NOTE_COMPLETED", "NOTE_FAILED",
    "CADENCE_STARTED", "CADENCE_COMPLETED", "CADENCE_FAILED", "CheckpointStore",
    "InMemoryCheckpointStore", "CheckpointHooks", "serialize_score", "restore_score",
    "to_mermaid", "to_dot", "render_svg", "save_diagram", "print_cadence",
]  # fmt: skip
DEPRECATED = {"CheckpointHooks", "serialize_score", "restore_score", "render_svg", "print_cadence"}


@dataclass
class Order(Score):
    order_id: str = "ORD-1"
    items: list[str] | None = None
    status: str = "pending"
    log: list[str] = field(default_factory=list)


def test_every_072_top_level_name_is_importable() -> None:
    """Each name 0.7.2 exported from cadence is there; the supported ones are in __all__."""
    missing = [name for name in ALL_072 if not hasattr(cadence, name)]
    assert missing == []
    assert sorted(set(ALL_072) - DEPRECATED - set(cadence.__all__)) == []


def test_sequence_runs_tasks_in_order_as_one_step_and_warns() -> None:
    """.sequence(name, tasks) runs its tasks in order as one step, with a warning naming .then."""

    async def first(score: Order) -> None:
        score.log.append("first")

    async def second(score: Order) -> None:
        score.log.append("second")

    with pytest.warns(DeprecationWarning, match=r"\.then\(name, task\)"):
        flow = Cadence("seq", Order()).sequence("both", [first, second])
    assert [s.name for s in flow.steps] == ["both"]
    assert flow.run_sync().log == ["first", "second"]


def test_lists_started_from_none_by_several_tasks_are_concatenated() -> None:
    """The `items: list = None` idiom: two tasks starting the list both keep their items."""

    async def add_a(score: Order) -> None:
        if score.items is None:
            score.items = []
        score.items.append("a")

    async def add_b(score: Order) -> None:
        if score.items is None:
            score.items = []
        score.items.append("b")

    result = Cadence("c", Order()).sync("both", [add_a, add_b]).run_sync()
    assert result.items == ["a", "b"]
    strict = Cadence("s", Order()).sync(
        "both", [add_a, add_b], merge_strategy=MergeStrategy.fail_on_conflict
    )
    with pytest.raises(NoteError, match="MERGE_CONFLICT"):
        strict.run_sync()


def test_with_hooks_accepts_an_empty_list() -> None:
    """with_hooks([]) attaches nothing, as in 0.7.2 (hooks often come from configuration)."""
    flow = Cadence("c", Order()).with_hooks([]).then("s", lambda s: None)
    assert len(flow.hooks) == 0
    assert flow.run_sync().status == "pending"


def test_with_checkpoint_twice_says_twice() -> None:
    """A second with_checkpoint() fails, and the message says it was called twice."""
    store = cadence.InMemoryCheckpointStore()
    with pytest.raises(cadence.CadenceError, match=r"with_checkpoint.*twice"):
        Cadence("c", Order()).with_checkpoint(store, "a").with_checkpoint(store, "b")


def test_note_resilience_shows_the_inline_options() -> None:
    """Note.resilience is the normalised dict of @note(retry=, timeout=, fallback=)."""

    @note(retry=3, timeout=15, fallback={"default": None, "field": "status"})
    async def call(score: Order) -> None: ...

    @note
    async def plain(score: Order) -> None: ...

    assert call.resilience == {
        "retry": {"max_attempts": 3},
        "timeout": {"seconds": 15.0},
        "fallback": {"default": None, "field": "status"},
    }
    assert plain.resilience == {}


def test_timeout_dict_form_works_and_warns() -> None:
    """@note(timeout={"seconds": s}) is a timeout of s seconds, with a warning naming timeout=s."""
    with pytest.warns(DeprecationWarning, match=r"timeout=s"):

        @note(timeout={"seconds": 0.05})
        async def slow(score: Order) -> None:
            await asyncio.sleep(5)

    with pytest.raises(TimeoutError):
        Cadence("c", Order()).then("slow", slow).run_sync()


def test_cadence_errors_of_a_note_are_still_caught_by_their_072_class() -> None:
    """A note's timeout / exhausted retries are a NoteError and also the 0.7.2 class."""

    @note(retry={"max_attempts": 2, "delay": 0, "jitter": False})
    async def flaky(score: Order) -> None:
        raise ConnectionError("down")

    with pytest.raises(RetryExhaustedError) as caught:
        Cadence("c", Order()).then("call", flaky).run_sync()
    err = caught.value
    assert isinstance(err, NoteError) and err.note_name == "call"
    assert err.code == "RETRY_EXHAUSTED" and err.attempts == 2
    assert isinstance(err.last_error, ConnectionError)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err) and copy.note_name == "call"

    @note(timeout=0.01)
    async def hang(score: Order) -> None:
        await asyncio.sleep(5)

    with pytest.raises(TimeoutError) as timed_out:
        Cadence("g", Order()).sync("group", [hang]).run_sync()
    assert isinstance(timed_out.value, ParallelNoteError)
    assert timed_out.value.timeout == 0.01 and timed_out.value.group_name == "group"


def test_072_error_codes() -> None:
    """NoteError, ParallelNoteError and Skip carry 0.7.2's codes, Skip its reason in details."""
    assert NoteError("x", "n").code == "NOTE_ERROR"
    assert ParallelNoteError("x", "n", "g", 0).code == "PARALLEL_NOTE_ERROR"
    skip = Skip("duplicate")
    assert (skip.code, skip.reason, skip.details) == ("SKIP", "duplicate", {"reason": "duplicate"})
    circuit = NoteError("x", "n", CircuitOpenError("open", breaker="b", retry_after=2.0))
    assert isinstance(circuit, CircuitOpenError) and circuit.retry_after == 2.0


def test_072_error_constructors_work_and_warn() -> None:
    """0.7.2's positional constructors and task_name= still build the same errors, with a warning."""
    with pytest.warns(DeprecationWarning, match=r"timeout=\.\.\."):
        timeout = TimeoutError("fetch", 5.0)
    assert (timeout.note_name, timeout.timeout) == ("fetch", 5.0)
    assert str(timeout) == "[TIMEOUT] Note 'fetch' timed out after 5.0s"
    with pytest.warns(DeprecationWarning, match=r"attempts=\.\.\."):
        exhausted = RetryExhaustedError("fetch", 3, ValueError("boom"))
    assert exhausted.attempts == 3 and isinstance(exhausted.last_error, ValueError)
    with pytest.warns(DeprecationWarning, match=r"note_name=\.\.\."):
        parallel = ParallelNoteError("failed", group_name="g", task_index=1, task_name="t")
    assert (parallel.note_name, parallel.group_name, parallel.task_index) == ("t", "g", 1)


def test_072_error_keyword_constructors_work_and_warn() -> None:
    """0.7.2's keyword names (timeout_seconds=, note_name=, name=) build the same errors, warning."""
    with pytest.warns(DeprecationWarning, match=r"timeout=\.\.\."):
        timeout = TimeoutError(note_name="fetch", timeout_seconds=2.0)
    assert str(timeout) == "[TIMEOUT] Note 'fetch' timed out after 2.0s"
    assert (timeout.note_name, timeout.timeout) == ("fetch", 2.0)
    with pytest.warns(DeprecationWarning, match=r"attempts=\.\.\."):
        exhausted = RetryExhaustedError(note_name="fetch", attempts=3, last_error=ValueError("x"))
    assert str(exhausted) == "[RETRY_EXHAUSTED] Note 'fetch' failed after 3 attempts: x"
    assert exhausted.details == {"note_name": "fetch", "attempts": 3}
    with pytest.warns(DeprecationWarning, match=r"breaker=\.\.\."):
        circuit = CircuitOpenError(name="payments", retry_after=1.0)
    assert (circuit.name, circuit.retry_after) == ("payments", 1.0)
    with pytest.raises(TypeError, match="needs a message"):
        TimeoutError()


def test_a_timeout_inside_a_child_cadence_is_still_a_timeout_error() -> None:
    """except TimeoutError around run() catches a timeout two levels down (child, then group)."""

    @note(timeout=0.01)
    async def hang(score: Order) -> None:
        await asyncio.sleep(5)

    inner = Cadence("inner", Order()).sync("fan", [hang])
    with pytest.raises(TimeoutError) as caught:
        Cadence("outer", Order()).child("sub", inner, lambda parent, child: None).run_sync()
    assert isinstance(caught.value, NoteError) and caught.value.timeout == 0.01


def test_get_circuit_returns_the_same_breaker_for_a_name() -> None:
    """get_circuit(name) hands back the one breaker registered under that name."""
    first = get_circuit("compat-circuit")
    assert get_circuit("compat-circuit") is first
    assert first.name == "compat-circuit"


def test_old_module_paths_work_and_warn() -> None:
    """cadence.score and cadence.cadence still resolve, each use naming the new import."""
    from cadence import merge_snapshots

    with pytest.warns(DeprecationWarning, match=r"cadence\.merge_snapshots"):
        from cadence.score import merge_snapshots as old
    assert old is merge_snapshots
    with pytest.warns(DeprecationWarning, match=r"cadence\.MergeConflict"):
        from cadence.score import MergeConflictError
    assert MergeConflictError is cadence.MergeConflict
    with pytest.warns(DeprecationWarning, match=r"cadence\.Cadence"):
        from cadence.cadence import Cadence as OldCadence
    assert OldCadence is Cadence


def test_type_aliases_module() -> None:
    """cadence.types offers 0.7.2's aliases for annotating notes, conditions and reporters."""
    from cadence.types import Condition, ErrorHandler, Merge, ScoreT, Task, TimeReporter

    def check(score: Order) -> bool:
        return score.status == "pending"

    condition: Condition[Order] = check
    task: Task[Order] = lambda s: None  # noqa: E731
    assert condition(Order()) and task(Order()) is None
    assert ScoreT.__name__ == "ScoreT"
    assert all(alias is not None for alias in (ErrorHandler, Merge, TimeReporter))


def test_skip_in_a_step_ends_the_run_cleanly() -> None:
    """raise Skip(reason) ends the run without an error, keeping the step's changes (as in 0.7.2)."""

    async def dedupe(score: Order) -> None:
        score.status = "duplicate"
        raise Skip("duplicate order")

    async def charge(score: Order) -> None:
        score.status = "charged"

    result = Cadence("c", Order()).then("dedupe", dedupe).then("charge", charge).run_sync()
    assert result.status == "duplicate"


def test_split_parallel_runs_a_branch_concurrently_with_merge() -> None:
    """split(..., parallel=True) runs the chosen branch's tasks as a .sync group."""
    started: list[str] = []
    both_running = asyncio.Event()

    async def first(score: Order) -> None:
        started.append("first")
        await asyncio.wait_for(both_running.wait(), 1.0)  # returns only if second runs too
        score.log.append("first")

    async def second(score: Order) -> None:
        started.append("second")
        both_running.set()
        score.status = "second"

    flow = Cadence("c", Order()).split("route", lambda s: True, [first, second], parallel=True)
    result = flow.run_sync()
    assert sorted(started) == ["first", "second"]
    assert (result.log, result.status) == (["first"], "second")


def test_timeout_message_is_the_error_message() -> None:
    """@timeout(seconds, message=...) raises TimeoutError with that message."""

    @cadence.timeout(0.01, message="Payment gateway timeout")
    async def pay() -> None:
        await asyncio.sleep(5)

    with pytest.raises(TimeoutError, match="Payment gateway timeout") as caught:
        asyncio.run(pay())
    assert caught.value.timeout == 0.01


def test_breaker_options_are_positional_as_in_072() -> None:
    """CircuitBreaker, circuit_breaker and get_circuit take 0.7.2's positional options."""
    breaker = cadence.CircuitBreaker("compat-positional", 2, 10.0, 1)
    assert (breaker.failure_threshold, breaker.recovery_timeout) == (2, 10.0)
    guarded = cadence.circuit_breaker(3, 5.0)(lambda: "ok")
    assert guarded() == "ok" and guarded.breaker.failure_threshold == 3
    assert get_circuit("compat-positional-2", 4).failure_threshold == 4


def test_circuit_open_error_072_form() -> None:
    """CircuitOpenError(name, retry_after) still builds the error (with a warning), and .name works."""
    with pytest.warns(DeprecationWarning, match=r"breaker=\.\.\."):
        error = CircuitOpenError("payments", 2.5)
    assert (error.name, error.breaker, error.retry_after) == ("payments", "payments", 2.5)
    assert str(error) == "[CIRCUIT_OPEN] Circuit 'payments' is open. Retry after 2.5s"


def test_immutable_score_with_field_keyword() -> None:
    """ImmutableScore.with_field(field=, value=) uses 0.7.2's parameter name."""

    @dataclass(frozen=True)
    class Config(cadence.ImmutableScore):
        api_key: str
        timeout: int = 30

    config = Config(api_key="k")
    assert config.with_field(field="timeout", value=60).timeout == 60
    assert config.replace(timeout=5).timeout == 5


def test_note_takes_the_function_by_keyword_as_0_7_2_did() -> None:
    """note(fn=f) and note(fn=f, name=...) build the same Note as note(f)."""

    def charge(score: object) -> None:
        pass

    assert cadence.note(fn=charge).name == "charge"
    assert cadence.note(fn=charge, name="pay").name == "pay"
