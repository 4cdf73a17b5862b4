"""ToolBox.run: one turn's tool calls as a .sync group (isolation, merge, errors, limits)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence import (
    Cadence,
    CadenceDefinitionError,
    CadenceHooks,
    NoteError,
    ParallelNoteError,
    Score,
    note,
)
from cadence.testing import testing_mode as no_waiting
from cadence_llm import ToolBox, ToolCall, tool


@dataclass
class Research(Score):
    findings: list[str] = field(default_factory=list)
    status: str = "new"
    counter: int = 0


@tool
async def search_web(score: Research, query: str) -> str:
    """Search the web."""
    await asyncio.sleep(0)
    score.findings.append(f"web:{query}")
    return "2 hits"


@tool
async def search_docs(score: Research, query: str) -> str:
    """Search the docs."""
    score.findings.append(f"docs:{query}")
    await asyncio.sleep(0)
    score.findings.append("docs:more")
    return "1 hit"


@tool
def set_status(score: Research, status: str) -> str:
    """Set the status (a sync tool: runs in a worker thread)."""
    score.status = status
    return status


@tool
async def explode(score: Research) -> None:
    """Always fails, after touching the score."""
    score.counter = 99
    raise RuntimeError("service down")


def call(cid: str, name: str, arguments: str = "{}") -> ToolCall:
    return ToolCall(id=cid, name=name, arguments=arguments)


async def test_appends_merge_in_call_order_and_scalars_apply() -> None:
    """Two tools appending to one list are concatenated in call order; a scalar write applies."""
    box = ToolBox([search_web, search_docs, set_status])
    score = Research()
    out = await box.run(
        [
            call("a", "search_docs", '{"query": "q"}'),
            call("b", "search_web", '{"query": "q"}'),
            call("c", "set_status", '{"status": "searched"}'),
        ],
        score,
    )
    assert [o.message.content for o in out] == ["1 hit", "2 hits", "searched"]
    assert [o.message.tool_call_id for o in out] == ["a", "b", "c"]
    assert score.findings == ["docs:q", "docs:more", "web:q"]
    assert score.status == "searched"


async def test_each_call_sees_the_score_as_before_the_group() -> None:
    """A call never sees another call's changes while the group runs."""
    seen: list[list[str]] = []

    @tool
    async def peek(score: Research, tag: str) -> None:
        score.findings.append(tag)
        await asyncio.sleep(0)
        seen.append(list(score.findings))

    score = Research(findings=["old"])
    await ToolBox([peek]).run(
        [call("1", "peek", '{"tag": "x"}'), call("2", "peek", '{"tag": "y"}')], score
    )
    assert sorted(seen) == [["old", "x"], ["old", "y"]]
    assert score.findings == ["old", "x", "y"]


async def test_failing_tool_becomes_error_result_and_others_stay_intact() -> None:
    """A failing call becomes an error result; the others' results and score changes survive."""
    box = ToolBox([search_web, explode, set_status])
    score = Research()
    out = await box.run(
        [
            call("1", "search_web", '{"query": "x"}'),
            call("2", "explode"),
            call("3", "set_status", '{"status": "ok"}'),
        ],
        score,
    )
    assert [o.ok for o in out] == [True, False, True]
    assert out[1].message.is_error and "RuntimeError: service down" in out[1].message.content
    assert isinstance(out[1].error, RuntimeError)
    assert score.findings == ["web:x"] and score.status == "ok"


async def test_failed_calls_score_changes_are_still_merged() -> None:
    """A tool that failed after writing the score keeps the write (the group itself succeeded)."""
    score = Research()
    await ToolBox([explode]).run([call("1", "explode")], score)
    assert score.counter == 99


async def test_conflicting_scalar_writes_raise_merge_conflict() -> None:
    """Two calls writing different values to one field fail the group with MERGE_CONFLICT."""
    score = Research()
    with pytest.raises(NoteError) as info:
        await ToolBox([set_status]).run(
            [
                call("1", "set_status", '{"status": "a"}'),
                call("2", "set_status", '{"status": "b"}'),
            ],
            score,
        )
    assert info.value.code == "MERGE_CONFLICT"
    assert score.status == "new"


async def test_equal_scalar_writes_agree() -> None:
    """Two calls writing the same value merge without conflict."""
    score = Research()
    await ToolBox([set_status]).run(
        [call("1", "set_status", '{"status": "a"}'), call("2", "set_status", '{"status": "a"}')],
        score,
    )
    assert score.status == "a"


async def test_fatal_tool_fails_the_group_with_its_index() -> None:
    """A tool marked fatal raises ParallelNoteError naming the group and the call's position."""

    @tool(fatal=True)
    async def must_work(score: Research) -> None:
        raise ValueError("broken")

    with pytest.raises(ParallelNoteError) as info:
        await ToolBox([search_web, must_work]).run(
            [call("1", "search_web", '{"query": "x"}'), call("2", "must_work")],
            Research(),
            group="turn",
        )
    assert info.value.group_name == "turn" and info.value.task_index == 1
    assert isinstance(info.value.original_error, ValueError)


async def test_unknown_tool_and_bad_arguments_become_error_results_without_running() -> None:
    """Unknown names and invalid arguments answer the model with an error; nothing runs."""
    score = Research()
    out = await ToolBox([search_web]).run(
        [call("1", "search_everything"), call("2", "search_web", '{"query": 5}')], score
    )
    assert [o.ok for o in out] == [False, False]
    assert "unknown tool 'search_everything'" in out[0].message.content
    assert "search_web" in out[0].message.content
    assert "query" in out[1].message.content and out[1].message.is_error
    assert score.findings == []


async def test_duplicate_and_missing_call_ids() -> None:
    """Exact repeats run once, reused ids get a suffix, missing ids are generated."""
    score = Research()
    out = await ToolBox([search_web]).run(
        [
            call("x", "search_web", '{"query": "a"}'),
            call("x", "search_web", '{"query": "a"}'),
            call("x", "search_web", '{"query": "b"}'),
            call("", "search_web", '{"query": "c"}'),
        ],
        score,
    )
    assert [o.call.id for o in out] == ["x", "x-2", "call_3"]
    assert score.findings == ["web:a", "web:b", "web:c"]


async def test_results_follow_call_order_not_completion_order() -> None:
    """The first call finishing last still comes back first."""
    release = asyncio.Event()

    @tool
    async def slow() -> str:
        await release.wait()
        return "slow"

    @tool
    async def fast() -> str:
        release.set()
        return "fast"

    out = await ToolBox([slow, fast]).run([call("1", "slow"), call("2", "fast")])
    assert [o.value for o in out] == ["slow", "fast"]


async def test_calls_run_concurrently_up_to_the_limit() -> None:
    """All calls are in flight together by default; concurrency=2 caps them at two."""
    active = 0
    peak = 0

    @tool
    async def work() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        for _ in range(5):
            await asyncio.sleep(0)
        active -= 1

    calls = [call(str(i), "work") for i in range(6)]
    await ToolBox([work]).run(calls)
    assert peak == 6
    peak = 0
    await ToolBox([work], concurrency=2).run(calls)
    assert peak == 2
    peak = 0
    await ToolBox([work]).run(calls, concurrency=3)
    assert peak == 3


async def test_retry_option_retries_a_flaky_tool() -> None:
    """@tool(retry=3) retries the call; the model sees only the final success."""
    attempts = 0

    @tool(retry=3)
    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("blip")
        return "fine"

    with no_waiting(attempts=None):
        out = await ToolBox([flaky]).run([call("1", "flaky")])
    assert out[0].ok and out[0].value == "fine" and attempts == 3


async def test_timeout_option_turns_a_hang_into_an_error_result() -> None:
    """@tool(timeout=...) stops a hanging call; the error goes back to the model."""

    @tool(timeout=0.01)
    async def hangs() -> None:
        await asyncio.Event().wait()

    with no_waiting():
        out = await ToolBox([hangs]).run([call("1", "hangs")])
    assert not out[0].ok and "Timeout" in out[0].message.content


async def test_fallback_option_supplies_a_default_result_or_field() -> None:
    """@tool(fallback=...) gives a default result, or writes a score field."""

    @tool(fallback={"default": "no data"})
    async def lookup() -> str:
        raise LookupError("missing")

    @tool(fallback={"default": "degraded", "field": "status"})
    async def check(score: Research) -> str:
        raise LookupError("missing")

    score = Research()
    out = await ToolBox([lookup, check]).run([call("1", "lookup"), call("2", "check")], score)
    assert out[0].ok and out[0].message.content == "no data"
    assert score.status == "degraded"


async def test_results_render_as_json_for_structured_values() -> None:
    """Dicts, lists and None render as JSON; strings pass through."""

    @tool
    def info() -> dict[str, Any]:
        return {"n": 1, "tags": ("a",)}

    @tool
    def nothing() -> None:
        return None

    out = await ToolBox([info, nothing]).run([call("1", "info"), call("2", "nothing")])
    assert out[0].message.content == '{"n": 1, "tags": ["a"]}'
    assert out[1].message.content == "null"


class Recorder(CadenceHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def before_group(
        self, group_name: str, kind: str, task_names: list[str], score: Any
    ) -> None:
        self.calls.append(("group", group_name, kind, *task_names))

    async def after_note(
        self, note_name: str, score: Any, duration: float, error: BaseException | None = None
    ) -> None:
        self.calls.append(("done", note_name))


async def test_hooks_of_the_enclosing_run_see_the_group_and_each_call() -> None:
    """Inside a note of a run with hooks, the calls report as a sync group with one task each."""
    hooks = Recorder()
    box = ToolBox([search_web, set_status])

    async def use_tools(score: Research) -> None:
        await box.run(
            [call("1", "search_web", '{"query": "a"}'), call("2", "set_status", '{"status": "s"}')],
            score,
            group="lookups",
        )

    result = await Cadence("c", Research()).with_hooks(hooks).then("use", use_tools).run()
    assert ("group", "lookups", "sync", "search_web", "set_status") in hooks.calls
    assert ("done", "search_web") in hooks.calls and ("done", "set_status") in hooks.calls
    assert hooks.calls[-1] == ("done", "use")
    assert result.findings == ["web:a"] and result.status == "s"


def test_toolbox_rejects_duplicate_names_and_bad_limits() -> None:
    """Two tools with one name, or a concurrency below 1, fail when the box is built."""
    with pytest.raises(CadenceDefinitionError, match="already has a tool"):
        ToolBox([search_web, search_web])
    with pytest.raises(CadenceDefinitionError, match="concurrency"):
        ToolBox([search_web], concurrency=0)


def test_toolbox_wraps_plain_functions_and_lists_definitions() -> None:
    """Plain functions are wrapped as tools; definitions keep the box's order."""

    def ping(host: str) -> str:
        """Ping a host."""
        return host

    box = ToolBox([ping, search_web])
    assert [d.name for d in box.definitions] == ["ping", "search_web"]
    assert "ping" in box and len(box) == 2 and box["ping"].description == "Ping a host."


async def test_tool_over_a_note_keeps_the_notes_name_and_policies() -> None:
    """@tool stacked on @note(retry=...) keeps the note's name and retries the call."""
    attempts = 0

    @tool
    @note(name="lookup_price", retry=2)
    async def price(item: str) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("blip")
        return 3

    assert price.name == "lookup_price" and "item" in price.parameters["properties"]
    with no_waiting(attempts=None):
        out = await ToolBox([price]).run([call("1", "lookup_price", '{"item": "tea"}')])
    assert out[0].ok and out[0].value == 3 and attempts == 2


async def test_a_retried_attempt_starts_from_the_score_as_it_was() -> None:
    """@tool(retry=...) does not keep a failed attempt's writes under the successful one's."""
    attempts: list[int] = []

    @tool(retry=3)
    def flaky_append(score: Research) -> str:
        """Fails twice after writing."""
        attempts.append(1)
        score.findings.append(f"attempt {len(attempts)}")
        score.counter += 1
        if len(attempts) < 3:
            raise ConnectionError("flaky")
        return "ok"

    score = Research()
    out = await ToolBox([flaky_append]).run([call("1", "flaky_append")], score)
    assert out[0].ok and len(attempts) == 3
    assert score.findings == ["attempt 3"] and score.counter == 1
