"""Runner edges: what a note or an error handler returns, `.map` on frozen scores,
`run_sync` inside a running loop, and `Err.unwrap` on a non-exception."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

import pydantic
import pytest

from cadence import Cadence, CadenceHooks, ImmutableScore, NoteError, err

_request: contextvars.ContextVar[str] = contextvars.ContextVar("core2_request", default="unset")


@dataclass(frozen=True)
class Digest(ImmutableScore):
    urls: tuple[str, ...] = ("a", "b")
    pages: tuple[str, ...] | list[str] = ()
    error: str = ""


class _Digest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)
    urls: list[str] = ["a", "b"]
    pages: list[str] = []


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "with_hooks"])
def test_a_dict_score_note_returning_one_of_its_values_keeps_the_score(observed: bool) -> None:
    """`lambda s: s.setdefault("cfg", {})` returns a dict the score holds: the score is kept
    (it was replaced by that inner dict, dropping every other key)."""
    cadence = (
        Cadence("c", {})
        .then("init", lambda s: s.setdefault("cfg", {}))
        .then("read", lambda s: s.get("cfg"))
        .then("mark", lambda s: s.__setitem__("done", True))
    )
    if observed:
        cadence.with_hooks(CadenceHooks())
    assert cadence.run_sync({"order": 7}) == {"order": 7, "cfg": {}, "done": True}


def test_a_dict_score_note_returning_a_new_dict_still_replaces_the_score() -> None:
    """A note returning a new dict (not one of the score's values) replaces it, as before."""
    result = Cadence("c", {}).then("next", lambda s: {**s, "n": s["n"] + 1}).run_sync({"n": 1})
    assert result == {"n": 2}


def test_map_into_a_frozen_dataclass_leaves_the_given_score_unchanged() -> None:
    """`.map(into=)` on an ImmutableScore returns a new score; the one passed to run() is not
    changed in place (it may be shared, a module constant)."""
    start = Digest()
    result = Cadence("m", Digest()).map("fetch", "urls", str.upper, into="pages").run_sync(start)
    assert result.pages == ["A", "B"]
    assert start == Digest() and result is not start


def test_map_into_a_frozen_pydantic_model_works() -> None:
    """`.map(into=)` on a frozen pydantic score writes a new instance (it failed with
    pydantic's 'Instance is frozen')."""
    start = _Digest()
    result = Cadence("m", _Digest()).map("fetch", "urls", str.upper, into="pages").run_sync(start)
    assert result.pages == ["A", "B"] and start.pages == []


@pytest.mark.parametrize("stop", [True, False], ids=["stop", "go_on"])
@pytest.mark.parametrize("observed", [False, True], ids=["plain", "with_hooks"])
def test_an_error_handler_may_return_a_new_immutable_score(stop: bool, observed: bool) -> None:
    """`.on_error(handler)` returning a new instance of the score's class is the score the run
    ends (or goes on) with, as for a note; an ImmutableScore could not record the error."""

    def fail(score: Digest) -> None:
        raise ValueError("feed down")

    cadence = (
        Cadence("c", Digest())
        .then("fetch", fail)
        .then("after", lambda s: s.replace(urls=("after",)))
        .on_error(lambda s, e: s.replace(error=type(e.original_error).__name__), stop=stop)
    )
    if observed:
        cadence.with_hooks(CadenceHooks())
    result = cadence.run_sync(Digest())
    assert result.error == "ValueError"
    assert result.urls == (("a", "b") if stop else ("after",))


async def test_run_sync_inside_a_running_loop_keeps_the_callers_context() -> None:
    """run_sync called inside a running loop runs in the caller's context variables (the
    enclosing run's budget, current_note(), request state); they were lost in the thread."""
    _request.set("req-1")
    seen: list[str] = []
    Cadence("c", {}).then("read", lambda s: seen.append(_request.get())).run_sync({})
    assert seen == ["req-1"]


def test_unwrapping_an_err_holding_a_message_names_it() -> None:
    """`err("not found").unwrap()` raises ValueError naming the value, not a bare TypeError."""
    failure: Any = err("not found")  # type: ignore[type-var]
    with pytest.raises(ValueError, match=r"Err\('not found'\).*err\(ValueError"):
        failure.unwrap()


def _broken_merge(parent: dict[str, Any], child: dict[str, Any]) -> None:
    raise ValueError("merge broke")


def _broken_condition(score: dict[str, Any]) -> bool:
    raise KeyError("cfg")


def test_a_failing_child_merge_is_named_in_the_error() -> None:
    """A child step's failing merge is named as the merge (it read as the step itself)."""
    child = Cadence("inner", {}).then("x", lambda s: None)
    flow = Cadence("outer", {}).child("sub", child, _broken_merge)
    with pytest.raises(
        NoteError, match=r"the merge '_broken_merge' of step 'sub' failed"
    ) as caught:
        flow.run_sync({})
    assert caught.value.note_name == "sub"
    assert isinstance(caught.value.original_error, ValueError)


def test_a_failing_child_score_factory_is_named_in_the_error() -> None:
    """The same for the child's score= factory."""
    child = Cadence("inner", {}).then("x", lambda s: None)
    flow = Cadence("outer", {}).child("sub", child, lambda p, c: None, score=lambda p: p["gone"])
    with pytest.raises(NoteError, match=r"score= factory of step 'sub' failed: KeyError"):
        flow.run_sync({})


def test_a_failing_split_condition_is_named_in_the_error() -> None:
    """A split whose condition raises names the condition and the step."""
    flow = Cadence("c", {}).split("route", _broken_condition, [lambda s: None])
    with pytest.raises(
        NoteError, match=r"the condition '_broken_condition' of step 'route' failed: KeyError"
    ):
        flow.run_sync({})
