"""Fallback: defaults, fields of the score, handlers, which errors qualify."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from cadence.exceptions import CadenceDefinitionError
from cadence.resilience import fallback


@dataclass
class Page:
    """A small score."""

    query: str = "q"
    results: list[str] = field(default_factory=list)
    status: str = "pending"


async def test_returns_default_on_failure() -> None:
    """Without a field, the default is returned in place of the error."""

    @fallback(default="unknown")
    async def status() -> str:
        raise ConnectionError("down")

    assert await status() == "unknown"


async def test_sets_field_on_the_score() -> None:
    """With field=, score.<field> = default and the call returns None."""

    @fallback(default="unknown", field="status")
    async def get_status(score: Page) -> None:
        raise ConnectionError("down")

    page = Page()
    assert await get_status(page) is None
    assert page.status == "unknown"


async def test_mutable_default_is_never_shared() -> None:
    """Each score receives its own copy of a list default."""

    @fallback(default=[], field="results")
    async def search(score: Page) -> None:
        raise ConnectionError("down")

    first, second = Page(), Page()
    await search(first)
    await search(second)
    first.results.append("x")
    assert second.results == []


async def test_handler_gets_score_and_error_sync_or_async() -> None:
    """handler(score, error) computes the value; an async handler is awaited."""

    def sync_handler(score: Page, error: BaseException) -> list[str]:
        return [f"{score.query}: {error}"]

    async def async_handler(score: Page, error: BaseException) -> list[str]:
        await asyncio.sleep(0)
        return [f"async {score.query}: {error}"]

    for handler, expected in ((sync_handler, "q: down"), (async_handler, "async q: down")):

        @fallback(field="results", handler=handler)
        async def search(score: Page) -> None:
            raise ConnectionError("down")

        page = Page()
        await search(page)
        assert page.results == [expected]


def test_error_only_handler_still_works() -> None:
    """A 0.7-style handler(error) is called with just the error."""

    @fallback(handler=lambda e: {"error": str(e), "cached": True})
    def fetch() -> dict[str, Any]:
        raise ValueError("bad")

    assert fetch() == {"error": "bad", "cached": True}


def test_on_restricts_which_errors_fall_back() -> None:
    """Errors not listed in on= propagate unchanged."""

    @fallback(default=0, on=ConnectionError)
    def count(kind: str) -> int:
        raise ConnectionError("down") if kind == "net" else KeyError(kind)

    assert count("net") == 0
    with pytest.raises(KeyError):
        count("key")


async def test_cancellation_never_falls_back() -> None:
    """CancelledError passes through a fallback."""

    @fallback(default="x")
    async def cancelled() -> str:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await cancelled()


def test_sync_function_stays_sync() -> None:
    """A decorated sync function stays sync."""

    @fallback(default=1)
    def one() -> int:
        raise RuntimeError

    assert not asyncio.iscoroutinefunction(one)
    assert one() == 1


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"field": "not a name"}, "field must be the name of a score attribute"),
        ({"handler": 3}, "handler must be a callable"),
        ({"on": 42}, "on must be an exception type"),
    ],
)
def test_invalid_options_fail_early(options: dict[str, Any], fragment: str) -> None:
    """Bad fallback options raise CadenceDefinitionError naming the option."""
    with pytest.raises(CadenceDefinitionError, match=fragment):
        fallback(**options)
