"""``.map``: a note per item of a run-time list, bounded concurrency, item order, failure policy."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import (
    Cadence,
    CadenceDefinitionError,
    CadenceError,
    CadenceHooks,
    ItemFailure,
    ParallelNoteError,
    Skip,
    note,
)
from cadence.checkpoint import InMemoryCheckpointStore


@dataclass
class Doc:
    text: str
    words: int = 0


@dataclass
class Batch:
    items: list[Any] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    failed: list[ItemFailure] = field(default_factory=list)
    question: str = ""
    status: str = ""


class InFlight:
    """Counts items in flight and remembers the highest count."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


async def test_thousand_items_never_exceed_the_limit_and_keep_item_order() -> None:
    """1,000 items with concurrency=16: at most 16 in flight, results in item order."""
    gauge = InFlight()
    rng = random.Random(7)
    delays = [rng.random() / 1000 for _ in range(1000)]

    async def double(n: int) -> int:
        gauge.enter()
        await asyncio.sleep(delays[n])  # finish in a scrambled order
        gauge.leave()
        return n * 2

    flow = Cadence("batch", Batch(items=list(range(1000)))).map(
        "double", "items", double, concurrency=16, into="results"
    )
    result = await flow.run()
    assert result.results == [n * 2 for n in range(1000)]
    assert gauge.peak == 16


async def test_without_a_limit_every_item_runs_at_once() -> None:
    """concurrency=None starts every item together."""
    gauge = InFlight()
    release = asyncio.Event()

    async def hold(n: int) -> int:
        gauge.enter()
        if gauge.now == 50:
            release.set()
        await release.wait()
        gauge.leave()
        return n

    flow = Cadence("all", Batch(items=list(range(50)))).map("hold", "items", hold, into="results")
    assert (await flow.run()).results == list(range(50))
    assert gauge.peak == 50


async def test_sync_notes_run_in_threads_with_the_limit() -> None:
    """A sync note runs off the event loop, still at most `concurrency` at once."""
    gauge = InFlight()
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def measure(doc: Doc) -> int:
        gauge.enter()
        threads.add(threading.get_ident())
        words = len(doc.text.split())
        gauge.leave()
        return words

    docs = [Doc(f"w {'x ' * i}") for i in range(40)]
    flow = Cadence("words", Batch(items=docs)).map(
        "count", "items", measure, concurrency=3, into="results"
    )
    result = await flow.run()
    assert result.results == [i + 1 for i in range(40)]
    assert gauge.peak <= 3
    assert loop_thread not in threads


async def test_each_item_runs_on_its_own_copy() -> None:
    """A note changing its item changes neither the parent's list nor other items."""
    docs = [Doc("a b"), Doc("c")]

    def count(doc: Doc) -> None:
        doc.words = len(doc.text.split())  # returns None: the changed item is the result

    flow = Cadence("count", Batch(items=docs)).map("count", "items", count, into="results")
    result = await flow.run(Batch(items=docs))
    assert [d.words for d in result.results] == [2, 1]
    assert [d.words for d in docs] == [0, 0]
    assert result.results[0] is not docs[0]


async def test_items_from_an_async_function_that_builds_item_scores() -> None:
    """items_from may be an async function; it can give each item context from the parent."""

    @dataclass
    class Ask:
        question: str
        doc: str

    async def questions(batch: Batch) -> list[Ask]:
        return [Ask(batch.question, doc) for doc in ("d1", "d2", "d3")]

    def answer(ask: Ask) -> str:
        return f"{ask.question}@{ask.doc}"

    flow = Cadence("ask", Batch(question="why")).map("answer", questions, answer, into="results")
    assert (await flow.run()).results == ["why@d1", "why@d2", "why@d3"]


async def test_fail_fast_cancels_the_rest_and_names_the_item() -> None:
    """The first failure cancels items in flight, starts no more, and names its index."""
    started: list[int] = []
    cancelled: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        if n == 3:
            raise ValueError("bad item")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    flow = Cadence("ff", Batch(items=list(range(100)))).map(
        "work", "items", work, concurrency=4, into="results"
    )
    with pytest.raises(ParallelNoteError) as info:
        await flow.run()
    err = info.value
    assert (err.group_name, err.task_index, err.note_name) == ("work", 3, "work")
    assert isinstance(err.original_error, ValueError)
    assert sorted(started) == [0, 1, 2, 3]
    assert sorted(cancelled) == [0, 1, 2]


async def test_collect_runs_every_item_and_records_failures_in_order() -> None:
    """on_error="collect": every item runs, failed slots are None, failures listed by index."""

    @note(name="parse")
    def parse(text: str) -> int:
        return int(text)

    flow = Cadence("parse", Batch(items=["1", "x", "3", "y"])).map(
        "parse",
        "items",
        parse,
        concurrency=2,
        into="results",
        on_error="collect",
        errors_into="failed",
    )
    result = await flow.run()
    assert result.results == [1, None, 3, None]
    assert [f.index for f in result.failed] == [1, 3]
    assert result.failed[0].error_type == "ValueError"
    assert "invalid literal" in result.failed[0].message


async def test_an_empty_list_gives_empty_results() -> None:
    """No items: the fields become empty lists and the note never runs."""
    calls: list[Any] = []
    flow = Cadence("none", Batch(results=["stale"])).map(
        "f", "items", calls.append, into="results", on_error="collect", errors_into="failed"
    )
    result = await flow.run()
    assert (result.results, result.failed, calls) == ([], [], [])


async def test_a_cadence_per_item_through_its_run_method() -> None:
    """fn=other.run runs a whole cadence on each item's score; a Cadence itself is refused."""
    per_doc = Cadence("per_doc", Doc("")).then(
        "count", lambda d: setattr(d, "words", len(d.text.split()))
    )
    flow = Cadence("docs", Batch(items=[Doc("a"), Doc("b c d")])).map(
        "each", "items", per_doc.run, concurrency=2, into="results"
    )
    result = await flow.run()
    assert [d.words for d in result.results] == [1, 3]
    with pytest.raises(CadenceDefinitionError, match=r"pass its run method: .*per_doc.run"):
        Cadence("docs", Batch()).map("each", "items", per_doc)


async def test_skip_in_an_item_ends_the_run() -> None:
    """Skip raised by one item ends the run cleanly, like Skip in a .sync task."""

    def item(n: int) -> int:
        if n == 1:
            raise Skip("nothing to do")
        return n

    flow = (
        Cadence("skip", Batch(items=[0, 1, 2]))
        .map("item", "items", item, concurrency=1, into="results")
        .then("after", lambda b: setattr(b, "status", "after"))
    )
    result = await flow.run()
    assert result.status == ""


async def test_hooks_see_the_group_and_every_item_with_its_index() -> None:
    """before/after_group get kind "map"; each item is a note with its index."""
    seen: list[tuple[str, Any]] = []

    class Watch(CadenceHooks):
        async def before_group(
            self, group_name: str, kind: str, task_names: Any, score: Any
        ) -> None:
            seen.append(("group", (group_name, kind, len(task_names))))

        async def before_note(self, note_name: str, score: Any) -> None:
            from cadence.hooks import note_scope

            scope = note_scope()
            if scope is not None and scope.group == "sq":
                seen.append(("item", scope.task_index))

    flow = (
        Cadence("hooked", Batch(items=[1, 2, 3]))
        .map("sq", "items", lambda n: n * n, concurrency=1, into="results")
        .with_hooks(Watch())
    )
    assert (await flow.run()).results == [1, 4, 9]
    assert seen[0] == ("group", ("sq", "map", 3))
    assert [v for k, v in seen if k == "item"] == [0, 1, 2]


async def test_cancelling_the_run_cancels_the_items() -> None:
    """Cancelling a run stops the items in flight."""
    cancelled: list[int] = []
    started = asyncio.Event()

    async def slow(n: int) -> int:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    flow = Cadence("slow", Batch(items=[0, 1, 2])).map("slow", "items", slow, into="results")
    task = asyncio.ensure_future(flow.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == [0, 1, 2]


async def test_results_are_checkpointed_with_the_step() -> None:
    """A checkpointed run saves the map's results (ItemFailure included) after the step."""
    store = InMemoryCheckpointStore()
    flow = (
        Cadence("ck", Batch(items=["1", "x"]))
        .map(
            "parse",
            "items",
            lambda t: int(t),
            into="results",
            on_error="collect",
            errors_into="failed",
        )
        .then("stop", lambda b: (_ for _ in ()).throw(RuntimeError("crash")))
        .with_checkpoint(store, "run-1")
    )
    with pytest.raises(CadenceError):
        await flow.run()
    state = await store.get_last_score_state("ck", "run-1")
    assert state is not None
    assert state["fields"]["results"] == [1, None]


async def test_items_that_are_not_a_list_fail_clearly() -> None:
    """items_from giving a string or a number fails naming the step."""
    flow = Cadence("bad", Batch()).map("m", lambda b: 42, lambda n: n, into="results")
    with pytest.raises(CadenceError) as info:
        await flow.run()
    assert "must give a list of items, got int" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be an int >= 1"),
        ({"concurrency": True}, "concurrency must be an int >= 1"),
        ({"on_error": "ignore"}, "on_error must be 'fail_fast'"),
        ({"on_error": "collect"}, "needs errors_into="),
        ({"errors_into": "failed"}, 'only filled with on_error="collect"'),
        ({"into": "nope"}, "into='nope' is not a field of Batch"),
        ({"into": "results", "on_error": "collect", "errors_into": "results"}, "different fields"),
    ],
)
def test_definition_mistakes_fail_when_the_step_is_added(
    kwargs: dict[str, Any], message: str
) -> None:
    """Bad .map options raise CadenceDefinitionError naming the option."""
    with pytest.raises(CadenceDefinitionError) as info:
        Cadence("d", Batch()).map("m", "items", lambda n: n, **kwargs)
    assert message in str(info.value)


def test_items_from_must_be_a_field_or_a_function() -> None:
    """items_from that is neither a field name nor callable fails; an unknown field too."""
    with pytest.raises(CadenceDefinitionError, match="items_from must be a field name"):
        Cadence("d", Batch()).map("m", 5, lambda n: n)
    with pytest.raises(CadenceDefinitionError, match="items_from='docs' is not a field"):
        Cadence("d", Batch()).map("m", "docs", lambda n: n)
    with pytest.raises(CadenceDefinitionError, match="expected a function"):
        Cadence("d", Batch()).map("m", "items", "not callable")
