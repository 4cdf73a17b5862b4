"""Hedging under a budget: a hedge the budget refuses is not made, and the try already running
(and paid for) still answers; a refused model is tried again, alone, only if that try fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from cadence import Budget, BudgetExceededError
from cadence.budget import BudgetAccount, enter_accounts, exit_accounts
from cadence.testing import FakeClock
from cadence_llm import (
    Attempt,
    FallbackChain,
    FunctionModel,
    ModelRequest,
    ScriptedModel,
    ServerError,
)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    with FakeClock() as fake:
        yield fake


def in_force(budget: Budget) -> tuple[BudgetAccount, object]:
    account = BudgetAccount(budget, owner="desk")
    return account, enter_accounts(account)


class Refusals(logging.Handler):
    """Keeps every attempt (as ``on_attempt``) and what the chain logs about refused hedges."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.attempts: list[Attempt] = []
        self.messages: list[str] = []
        self.logged = asyncio.Event()

    def __call__(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.logged.set()

    def summary(self) -> list[tuple[str, str]]:
        return [(a.model, type(a.error).__name__ if a.error else "ok") for a in self.attempts]


@pytest.fixture
def refusals() -> Iterator[Refusals]:
    handler = Refusals()
    logger = logging.getLogger("cadence_llm")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def primary(refusals: Refusals, *, fail: bool = False) -> FunctionModel:
    """A slow first model that answers (or fails) only after the chain dealt with the refused
    hedge, so its try is still running then."""

    async def slow(request: ModelRequest) -> str:
        await refusals.logged.wait()
        if fail:
            raise ServerError("503", provider="test", model="slow")
        return "primary"

    return FunctionModel(slow, name="slow")


async def test_a_hedge_the_budget_refuses_is_not_made_and_the_primary_answers(
    clock: FakeClock, refusals: Refusals
) -> None:
    """With room for one request, the hedge is refused and recorded, and the running first
    model's answer is returned, not lost to the refusal."""
    fast = ScriptedModel(["hedge"], name="fast")
    chain = FallbackChain([primary(refusals), fast], hedge_after=0.01, on_attempt=refusals)
    account, token = in_force(Budget(requests=1))
    try:
        result = await chain.run("hi")
    finally:
        exit_accounts(token)  # type: ignore[arg-type]
    assert result.response.text == "primary" and result.model == "slow"
    assert fast.calls == 0
    assert refusals.summary() == [("fast", "BudgetExceededError"), ("slow", "ok")]
    assert [a.hedged for a in result.attempts] == [True, False]
    assert account.spent.requests == 1 and account.reserved.requests == 0
    assert len(refusals.messages) == 1
    assert "did not start its hedge at 'fast'" in refusals.messages[0]


async def test_no_further_hedges_start_once_the_budget_refused_one(
    clock: FakeClock, refusals: Refusals
) -> None:
    """After a refusal the chain starts no more hedges for the call, however long the first
    model takes."""
    second = ScriptedModel(["two"], name="second")
    third = ScriptedModel(["three"], name="third")
    chain = FallbackChain([primary(refusals), second, third], hedge_after=0.01, on_attempt=refusals)
    _, token = in_force(Budget(requests=1))
    try:
        result = await chain.run("hi")
    finally:
        exit_accounts(token)  # type: ignore[arg-type]
    assert result.response.text == "primary"
    assert second.calls == 0 and third.calls == 0
    assert refusals.summary() == [("second", "BudgetExceededError"), ("slow", "ok")]


async def test_a_refused_hedge_is_tried_alone_when_the_first_model_fails(
    clock: FakeClock, refusals: Refusals
) -> None:
    """A hedge refused for the output the first try holds is made once that try failed and
    gave its reservation back."""
    fast = ScriptedModel(["backup"], name="fast")
    chain = FallbackChain(
        [primary(refusals, fail=True), fast], retry=1, hedge_after=0.01, on_attempt=refusals
    )
    account, token = in_force(Budget(output_tokens=100))
    try:
        result = await chain.run(ModelRequest.of("hi", max_tokens=60))
    finally:
        exit_accounts(token)  # type: ignore[arg-type]
    assert result.response.text == "backup" and result.model == "fast"
    assert refusals.summary() == [
        ("fast", "BudgetExceededError"),
        ("slow", "ServerError"),
        ("fast", "ok"),
    ]
    assert account.spent.requests == 2 and account.reserved.output_tokens == 0


async def test_a_refused_hedge_needed_alone_stops_the_chain_with_the_budget_error(
    clock: FakeClock, refusals: Refusals
) -> None:
    """When the first model fails and the budget still has no room for the next one, the
    refusal of that now required request stops the chain, as without hedging."""
    fast = ScriptedModel(["backup"], name="fast")
    chain = FallbackChain(
        [primary(refusals, fail=True), fast], retry=1, hedge_after=0.01, on_attempt=refusals
    )
    account, token = in_force(Budget(requests=1))
    try:
        with pytest.raises(BudgetExceededError):
            await chain.complete("hi")
    finally:
        exit_accounts(token)  # type: ignore[arg-type]
    assert fast.calls == 0
    assert refusals.summary() == [
        ("fast", "BudgetExceededError"),
        ("slow", "ServerError"),
        ("fast", "BudgetExceededError"),
    ]
    assert account.spent.requests == 1 and account.reserved.requests == 0
